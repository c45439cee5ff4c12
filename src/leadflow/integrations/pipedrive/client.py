"""Pipedrive persons API v2 (contracts/README.md §5.2, [3P]/[M]: parsing is tolerant): exact search on a custom
field, create, update. Auth by the ``x-api-token`` header; 429/5xx retried honouring ``Retry-After``."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from leadflow.integrations.base import ProviderError
from leadflow.kit.http import (
    RetryPolicy,
    Sleep,
    is_retryable_status,
    parse_retry_after,
    send_with_retries,
    vendor_client,
)


class PipedriveSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_token: SecretStr = Field(min_length=8)
    id_field_key: str = Field(
        pattern=r"^[0-9a-f]{40}$", description="Key of the person custom field that holds leadflow's id"
    )
    # Our field -> the key of a person custom field (name, e-mail and phone always go to Pipedrive's own fields).
    field_mapping: dict[str, str] = Field(default_factory=dict)


class PipedriveError(ProviderError):
    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None, retryable: bool = False
    ) -> None:
        super().__init__(message, status=status, retry_after=retry_after)
        self.retryable = retryable


class PipedriveClient:
    def __init__(
        self,
        base_url: str,
        api_token: str,
        *,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Sleep = asyncio.sleep,
        timeout: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = api_token
        self.retry = retry
        self.sleep = sleep
        self.timeout = timeout

    async def check(self, id_field_key: str) -> None:
        """The token opens the company and the person custom field ``id_field_key`` exists (``GET
        /v1/personFields``); raises :class:`PipedriveError` saying what to fix otherwise."""
        fields = await self._call("GET", "/v1/personFields", params={"limit": "500"})
        keys = {str(f.get("key")) for f in fields or [] if isinstance(f, dict)} if isinstance(fields, list) else set()
        if id_field_key not in keys:
            raise PipedriveError(f"Pipedrive has no person field with key {id_field_key}: create it and copy its key")

    async def find_person(self, field_key: str, value: str) -> str | None:
        """The id of the person whose custom field ``field_key`` is exactly ``value``, if any."""
        params = {"term": value, "fields": "custom_fields", "exact_match": "true", "limit": "2"}
        data = await self._call("GET", "/api/v2/persons/search", params=params)
        items = (data or {}).get("items") or [] if isinstance(data, dict) else []
        for entry in items:
            item = entry.get("item") if isinstance(entry, dict) else None
            if isinstance(item, dict) and item.get("id") is not None:
                return str(item["id"])
        return None

    async def create_person(self, body: dict[str, Any]) -> str:
        data = await self._call("POST", "/api/v2/persons", json=body)
        return self._id_of(data)

    async def update_person(self, person_id: str, body: dict[str, Any]) -> str | None:
        """The id, or None when Pipedrive no longer has that person (404)."""
        try:
            data = await self._call("PATCH", f"/api/v2/persons/{person_id}", json=body)
        except PipedriveError as error:
            if error.status == 404:
                return None
            raise
        return self._id_of(data)

    @staticmethod
    def _id_of(data: Any) -> str:
        if not isinstance(data, dict) or data.get("id") is None:
            raise PipedriveError("Pipedrive answered without a person id")
        return str(data["id"])

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"x-api-token": self._token, "Accept": "application/json"}
        async with vendor_client(self.base_url, headers=headers, timeout=self.timeout) as client:
            try:
                response = await send_with_retries(client, method, path, policy=self.retry, sleep=self.sleep, **kwargs)
            except httpx.TimeoutException as exc:
                raise PipedriveError("Pipedrive did not answer in time", retryable=True) from exc
            except httpx.TransportError as exc:
                raise PipedriveError(f"Pipedrive unreachable: {type(exc).__name__}", retryable=True) from exc
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        if response.status_code >= 400 or payload.get("success") is False:
            message = str(payload.get("error") or f"Pipedrive answered HTTP {response.status_code}")
            raise PipedriveError(
                message,
                status=response.status_code,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                retryable=is_retryable_status(response.status_code),
            )
        return payload.get("data")
