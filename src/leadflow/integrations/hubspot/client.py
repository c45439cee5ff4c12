"""HubSpot's batch upsert of contacts (``POST /crm/v3/objects/contacts/batch/upsert``), per the contract in
``contracts/README.md`` §5.1: ``{"inputs": [{"idProperty", "id", "properties", "objectWriteTraceId"}]}``, at most
100 inputs a call, bearer token auth (private app), 429/5xx retried honouring ``Retry-After``, a 207 with
``errors`` for a partial failure. Parsing is tolerant where the contract is marked [M].
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from leadflow.integrations.base import ProviderError
from leadflow.kit.http import (
    RetryPolicy,
    Sleep,
    is_retryable_status,
    parse_retry_after,
    send_with_retries,
    vendor_client,
)

UPSERT_PATH = "/crm/v3/objects/contacts/batch/upsert"
PROPERTY_PATH = "/crm/v3/properties/contacts/{name}"  # read one contact property (the connection check)
MAX_BATCH = 100
DEFAULT_ID_PROPERTY = "leadflow_id"


@dataclass(frozen=True, slots=True)
class ContactUpsert:
    id: str  # our id, the value of the unique id property
    properties: dict[str, str]
    trace_id: str  # objectWriteTraceId: echoed in results and errors


@dataclass(frozen=True, slots=True)
class UpsertResult:
    created: dict[str, tuple[str, bool]] = field(default_factory=dict)  # our id -> (HubSpot id, new?)
    failed: dict[str, str] = field(default_factory=dict)  # our id -> the error HubSpot gave


class HubSpotError(ProviderError):
    """HubSpot refused the call. ``retryable`` errors (429, 5xx, timeouts) may succeed later."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None, retryable: bool = False
    ) -> None:
        super().__init__(message, status=status, retry_after=retry_after)
        self.retryable = retryable


class HubSpotClient:
    def __init__(
        self,
        base_url: str,
        access_token: str,
        *,
        id_property: str = DEFAULT_ID_PROPERTY,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Sleep = asyncio.sleep,
        timeout: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = access_token
        self.id_property = id_property
        self.retry = retry
        self.sleep = sleep
        self.timeout = timeout

    async def check(self) -> None:
        """The token opens the portal and the id property exists with unique values (the upsert keys on it);
        raises :class:`HubSpotError` saying what to fix otherwise."""
        response = await self._send("GET", PROPERTY_PATH.format(name=self.id_property))
        payload = _json(response)
        if response.status_code == 404:
            raise HubSpotError(
                f"the contact property {self.id_property} does not exist in HubSpot: create it with unique values",
                status=404,
            )
        if response.status_code != 200:
            raise self._refusal(response, payload)
        if payload.get("hasUniqueValue") is False:
            raise HubSpotError(f"the contact property {self.id_property} must have unique values in HubSpot")

    async def upsert_contacts(self, contacts: Sequence[ContactUpsert]) -> UpsertResult:
        """Create or update each contact by our id; raises :class:`HubSpotError` when the whole call failed."""
        if len(contacts) > MAX_BATCH:
            raise ValueError(f"HubSpot takes at most {MAX_BATCH} contacts a call")
        if not contacts:
            return UpsertResult()
        body = {
            "inputs": [
                {
                    "idProperty": self.id_property,
                    "id": c.id,
                    "properties": c.properties,
                    "objectWriteTraceId": c.trace_id,
                }
                for c in contacts
            ]
        }
        return self._read(await self._send("POST", UPSERT_PATH, json=body), contacts)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        async with vendor_client(self.base_url, headers=headers, timeout=self.timeout) as client:
            try:
                return await send_with_retries(client, method, path, policy=self.retry, sleep=self.sleep, **kwargs)
            except httpx.TimeoutException as exc:
                raise HubSpotError("HubSpot did not answer in time", retryable=True) from exc
            except httpx.TransportError as exc:
                raise HubSpotError(f"HubSpot unreachable: {type(exc).__name__}", retryable=True) from exc

    @staticmethod
    def _refusal(response: httpx.Response, payload: dict[str, Any]) -> HubSpotError:
        status = response.status_code
        message = str(payload.get("message") or f"HubSpot answered HTTP {status}")
        category = payload.get("category")
        return HubSpotError(
            f"{category}: {message}" if category else message,
            status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            retryable=is_retryable_status(status),
        )

    def _read(self, response: httpx.Response, contacts: Sequence[ContactUpsert]) -> UpsertResult:
        payload = _json(response)
        if response.status_code not in (200, 201, 207):
            raise self._refusal(response, payload)
        by_trace = {c.trace_id: c.id for c in contacts}
        our_ids = {c.id for c in contacts}
        created: dict[str, tuple[str, bool]] = {}
        for position, result in enumerate(payload.get("results") or []):
            ours = self._our_id(result, by_trace, our_ids, contacts, position)
            if ours is not None and result.get("id") is not None:
                created[ours] = (str(result["id"]), bool(result.get("new", False)))
        failed = self._errors(payload.get("errors") or [], by_trace)
        for contact in contacts:
            if contact.id not in created and contact.id not in failed:
                failed[contact.id] = "HubSpot returned no result for this contact"
        return UpsertResult(created=created, failed=failed)

    def _our_id(
        self,
        result: dict[str, Any],
        by_trace: dict[str, str],
        our_ids: set[str],
        contacts: Sequence[ContactUpsert],
        position: int,
    ) -> str | None:
        # The trace id is echoed [M]; else the unique property comes back among the properties; else the order.
        if result.get("objectWriteTraceId") in by_trace:
            return by_trace[result["objectWriteTraceId"]]
        value = (result.get("properties") or {}).get(self.id_property)
        if value in our_ids:
            return str(value)
        return contacts[position].id if position < len(contacts) else None

    @staticmethod
    def _errors(errors: list[dict[str, Any]], by_trace: dict[str, str]) -> dict[str, str]:
        failed: dict[str, str] = {}
        for error in errors:
            message = f"{error.get('category', 'ERROR')}: {error.get('message', '')}".strip()
            context = error.get("context") or {}
            traces = context.get("objectWriteTraceId") or (
                [error["objectWriteTraceId"]] if "objectWriteTraceId" in error else []
            )
            for trace in traces:
                if trace in by_trace:
                    failed[by_trace[trace]] = message
        return failed


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
