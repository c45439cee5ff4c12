"""RD Station CRM contacts API v1 (contracts/README.md §5.4: endpoints [M], payloads [M], so parsing is tolerant).

Assumptions, from the contract as written and where it is silent:

* Auth is the ``token`` query parameter on ``{base}/api/v1/`` (the contract's "v1 REST with ``?token=``").
* A contact body follows the contract's contact shape ``{"name", "emails": [{"email"}], "phones": [{"phone"}]}``
  wrapped in ``{"contact": …}``; custom fields travel as ``contact_custom_fields: [{"custom_field_id", "value"}]``
  [M, not in the contract]. The contact's id comes back as ``_id`` (or ``id``).
* ``GET /api/v1/contacts?q=<term>`` searches contacts, custom field values included [M]. The client never trusts
  the search alone: only a contact whose id custom field holds exactly our id counts, so a looser search can at
  worst miss a match (one duplicate after a crash), never update someone else's contact.

No native upsert, so the caller searches, then creates or updates, under a per-person lock. Search and update are
idempotent and retried on 429/5xx honouring ``Retry-After``; a create is sent once: a 5xx may still have created
the contact, so the retry goes through the search again (the bus's retry of the whole push), which finds it.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from leadflow.integrations.base import ProviderError
from leadflow.kit.http import (
    RetryPolicy,
    Sleep,
    SsrfPolicy,
    guarded_client,
    is_retryable_status,
    parse_retry_after,
    send_with_retries,
)

DEFAULT_BASE_URL = "https://crm.rdstation.com"
CONTACTS = "/api/v1/contacts"
CUSTOM_FIELDS = "/api/v1/custom_fields"
SEARCH_LIMIT = 200
AUTH_STATUSES = frozenset({401})


class RdStationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(default=DEFAULT_BASE_URL, pattern=r"^https?://[^\s/?#]+$", description="RD Station CRM")
    api_token: SecretStr = Field(min_length=8, description="The account's API token (Perfil → Integrações)")
    id_field_id: str = Field(
        pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Id of the contact custom field that holds leadflow's id"
    )
    # Our field -> the id of a contact custom field (name, e-mail and phone always go to RD's own fields).
    field_mapping: dict[str, str] = Field(default_factory=dict)


class RdStationError(ProviderError):
    """RD Station refused the call. ``retryable`` errors (429, 5xx, timeouts) may succeed later; ``auth_failed``
    means the token no longer opens the account (reconnect)."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None, retryable: bool = False
    ) -> None:
        super().__init__(message, status=status, retry_after=retry_after)
        self.retryable = retryable

    @property
    def auth_failed(self) -> bool:
        return self.status in AUTH_STATUSES


class RdStationClient:
    def __init__(
        self,
        base_url: str,
        api_token: str,
        *,
        policy: SsrfPolicy,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Sleep = asyncio.sleep,
        timeout: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = api_token
        self.policy = policy
        self.retry = retry
        self.sleep = sleep
        self.timeout = timeout

    async def check(self, id_field_id: str) -> None:
        """The token opens the account and the contact custom field ``id_field_id`` exists (``GET
        /api/v1/custom_fields`` [M]); raises :class:`RdStationError` saying what to fix otherwise."""
        data = await self._call("GET", CUSTOM_FIELDS, params={"for": "contact"})
        listed = data.get("custom_fields") if isinstance(data, dict) else data
        ids = {_contact_id(f) for f in listed or [] if isinstance(f, dict)} if isinstance(listed, list) else set()
        if id_field_id not in ids:
            raise RdStationError(f"RD Station has no contact custom field {id_field_id}: create it and copy its id")

    async def find_contact(self, id_field_id: str, value: str) -> str | None:
        """The id of the one contact whose custom field ``id_field_id`` is exactly ``value``, if any."""
        data = await self._call("GET", CONTACTS, params={"q": value, "limit": str(SEARCH_LIMIT)})
        found = contacts_holding(data, id_field_id, value)
        if len(found) > 1:
            raise RdStationError(f"{len(found)} RD Station contacts carry this leadflow id: merge them in RD Station")
        return found[0] if found else None

    async def create_contact(self, body: dict[str, Any]) -> str:
        data = await self._call("POST", CONTACTS, json={"contact": body}, retry=replace(self.retry, attempts=1))
        return self._id_of(data)

    async def update_contact(self, contact_id: str, body: dict[str, Any]) -> str | None:
        """The id, or None when RD Station no longer has that contact (404)."""
        try:
            data = await self._call("PUT", f"{CONTACTS}/{contact_id}", json={"contact": body})
        except RdStationError as error:
            if error.status == 404:
                return None
            raise
        return self._id_of(data)

    @staticmethod
    def _id_of(data: Any) -> str:
        contact_id = _contact_id(data) if isinstance(data, dict) else None
        if not contact_id:
            # The write may have landed: the retry searches by our id first and finds it.
            raise RdStationError("RD Station answered without a contact id", retryable=True)
        return contact_id

    async def _call(self, method: str, path: str, *, retry: RetryPolicy | None = None, **kwargs: Any) -> Any:
        params = {**kwargs.pop("params", {}), "token": self._token}
        async with guarded_client(
            self.policy, base_url=self.base_url, headers={"Accept": "application/json"}, timeout=self.timeout
        ) as client:
            try:
                response = await send_with_retries(
                    client, method, path, policy=retry or self.retry, sleep=self.sleep, params=params, **kwargs
                )
            except httpx.TimeoutException as exc:
                raise RdStationError("RD Station did not answer in time", retryable=True) from exc
            except httpx.TransportError as exc:
                raise RdStationError(f"RD Station unreachable: {type(exc).__name__}", retryable=True) from exc
        payload = _json(response)
        if response.status_code >= 400:
            raise RdStationError(
                _message(payload) or f"RD Station answered HTTP {response.status_code}",
                status=response.status_code,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                retryable=is_retryable_status(response.status_code),
            )
        return payload


def contacts_holding(data: Any, id_field_id: str, value: str) -> list[str]:
    """The ids of the contacts in a search answer whose custom field ``id_field_id`` is exactly ``value``.

    Raises a retryable :class:`RdStationError` for an answer without a contact list: that is not "nobody", and
    creating on it could duplicate the contact."""
    contacts = data.get("contacts") if isinstance(data, dict) else None
    if not isinstance(contacts, list):
        raise RdStationError("RD Station answered a search without a contact list", retryable=True)
    found = [
        _contact_id(contact)
        for contact in contacts
        if isinstance(contact, dict) and _custom_value(contact, id_field_id) == value
    ]
    return [contact_id for contact_id in found if contact_id]


def _contact_id(contact: dict[str, Any]) -> str | None:
    value = contact.get("_id") or contact.get("id")
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) and value else None


def _custom_value(contact: dict[str, Any], field_id: str) -> str | None:
    customs = contact.get("contact_custom_fields")
    for custom in customs if isinstance(customs, list) else []:
        if isinstance(custom, dict) and str(custom.get("custom_field_id")) == field_id:
            value = custom.get("value")
            return str(value) if value is not None else None
    return None


def _message(payload: Any) -> str:
    """RD's error bodies vary [M]: ``{"errors": …}``, ``{"error": …}`` or ``{"message": …}``."""
    if not isinstance(payload, dict):
        return ""
    for key in ("errors", "error", "message"):
        if payload.get(key):
            return f"RD Station: {str(payload[key])[:300]}"
    return ""


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
