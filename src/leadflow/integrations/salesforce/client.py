"""Salesforce REST upsert by External ID (contracts/README.md §5.3):
``PATCH {instance}/services/data/vXX.X/sobjects/{SObject}/{ExternalIdField}/{value}`` with an OAuth bearer token.

No match creates (201), one match updates (200 with ``created: false``; 204 without a body in old API versions
[M], then the record id is read back with a GET by the same external id), several matches answer 300 and write
nothing (a duplicate a human must merge, never retried). Errors come as a JSON array of ``{"message",
"errorCode"}``. 429/5xx are retried honouring ``Retry-After``; ``REQUEST_LIMIT_EXCEEDED`` (403, the daily API
allowance [M]) is left to the bus to retry later. The upsert is idempotent by construction, so repeating it (a
crash before our ref was stored, a retry) never makes a second record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

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

DEFAULT_API_VERSION = "62.0"
DEFAULT_LOGIN_URL = "https://login.salesforce.com"
TOKEN_PATH = "/services/oauth2/token"
DEFAULT_EXTERNAL_ID_FIELD = "Leadflow_Id__c"
# Our field -> the SObject's field. ``Leadflow_*__c`` are custom fields the tenant creates (text, plus the External
# ID one); LeadSource is a picklist in most orgs, so the source goes to a text field by default.
DEFAULT_FIELD_MAPPING: dict[str, str] = {
    "first_name": "FirstName",
    "last_name": "LastName",
    "email": "Email",
    "phone": "MobilePhone",
    "lead_id": "Leadflow_Lead_Id__c",
    "lead_status": "Leadflow_Lead_Status__c",
    "stage": "Leadflow_Stage__c",
    "owner_email": "Leadflow_Owner_Email__c",
    "source": "Leadflow_Source__c",
    "channel": "Leadflow_Channel__c",
}
# Retryable later (by the bus), not now: the org's allowance comes back with time.
LATER = frozenset({"REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW"})
AUTH_STATUSES = frozenset({401})


class SalesforceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instance_url: str = Field(
        pattern=r"^https?://[^\s/?#]+$", description="The org's instance URL, e.g. https://acme.my.salesforce.com"
    )
    access_token: SecretStr = Field(min_length=8, description="OAuth access token (api scope)")
    # Optional: with a refresh token (scope refresh_token) the connection renews an expired access token itself.
    refresh_token: SecretStr | None = Field(default=None, min_length=8, description="OAuth refresh token")
    client_id: str | None = Field(default=None, min_length=1, max_length=255, description="Connected app consumer key")
    client_secret: SecretStr | None = Field(default=None, min_length=1, description="Connected app consumer secret")
    login_url: str = Field(
        default=DEFAULT_LOGIN_URL,
        pattern=r"^https?://[^\s/?#]+$",
        description="Where tokens are renewed: https://login.salesforce.com, https://test.salesforce.com, My Domain",
    )
    api_version: str = Field(default=DEFAULT_API_VERSION, pattern=r"^[0-9]{2,3}\.[0-9]$")
    sobject: str = Field(default="Lead", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,79}$", description="Lead or Contact, …")
    external_id_field: str = Field(
        default=DEFAULT_EXTERNAL_ID_FIELD,
        pattern=r"^[A-Za-z][A-Za-z0-9_]{0,76}__c$",
        description="Custom field marked External ID (and Unique) that holds leadflow's person id",
    )
    company: str = Field(
        default="Pessoa Física", min_length=1, max_length=255, description="Company of a Lead when none is mapped"
    )
    field_mapping: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_FIELD_MAPPING))

    @model_validator(mode="after")
    def _refresh_needs_the_app(self) -> SalesforceSettings:
        if self.refresh_token is not None and not self.client_id:
            raise ValueError("a refresh_token needs the connected app's client_id")
        return self

    def renewal(self) -> TokenRenewal | None:
        """How to renew the access token, when the connection was given a refresh token."""
        if self.refresh_token is None or not self.client_id:
            return None
        secret = self.client_secret.get_secret_value() if self.client_secret else None
        return TokenRenewal(self.login_url, self.client_id, secret, self.refresh_token.get_secret_value())


@dataclass(frozen=True, slots=True)
class TokenRenewal:
    """The OAuth 2.0 refresh token flow: ``POST {login_url}/services/oauth2/token`` (form-encoded
    ``grant_type=refresh_token``, ``client_id``, ``client_secret``, ``refresh_token``) answers a new
    ``access_token``; an ``invalid_grant`` means the refresh token was revoked or expired (reconnect)."""

    login_url: str
    client_id: str
    client_secret: str | None
    refresh_token: str


@dataclass(frozen=True, slots=True)
class Upserted:
    record_id: str
    created: bool


class SalesforceError(ProviderError):
    """Salesforce refused the call. ``retryable`` errors (429, 5xx, timeouts, the daily limit) may succeed later;
    ``auth_failed`` means the token no longer opens the org (reconnect)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        retryable: bool = False,
        error_code: str | None = None,
    ) -> None:
        super().__init__(message, status=status, retry_after=retry_after)
        self.retryable = retryable
        self.error_code = error_code

    @property
    def auth_failed(self) -> bool:
        return self.status in AUTH_STATUSES


class SalesforceClient:
    def __init__(
        self,
        instance_url: str,
        access_token: str,
        *,
        policy: SsrfPolicy,
        api_version: str = DEFAULT_API_VERSION,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Sleep = asyncio.sleep,
        timeout: float = 15.0,
        renewal: TokenRenewal | None = None,
        on_renewed: Callable[[str], None] | None = None,
    ) -> None:
        self.instance_url = instance_url.rstrip("/")
        self._token = access_token
        self.policy = policy
        self.api_version = api_version
        self.renewal = renewal
        self.on_renewed = on_renewed  # told the new access token, to store it (sealed) for the next calls
        self.retry = retry
        self.sleep = sleep
        self.timeout = timeout

    def path(self, sobject: str, id_field: str, value: str) -> str:
        return f"/services/data/v{self.api_version}/sobjects/{sobject}/{id_field}/{quote(value, safe='')}"

    async def check(self, sobject: str, id_field: str) -> None:
        """The token opens the org, the object exists and ``id_field`` is one of its External ID fields (``GET
        …/sobjects/{sobject}/describe``); raises :class:`SalesforceError` saying what to fix otherwise."""
        payload = _json(await self._call("GET", f"/services/data/v{self.api_version}/sobjects/{sobject}/describe"))
        fields = payload.get("fields") if isinstance(payload, dict) else None
        field = next((f for f in fields or [] if isinstance(f, dict) and f.get("name") == id_field), None)
        if field is None:
            raise SalesforceError(f"{sobject} has no field {id_field} in Salesforce: create it as an External ID")
        if not field.get("externalId"):
            raise SalesforceError(f"{sobject}.{id_field} is not marked External ID in Salesforce")

    async def upsert(self, sobject: str, id_field: str, value: str, fields: dict[str, Any]) -> Upserted:
        """Create or update the one record whose ``id_field`` is ``value``."""
        path = self.path(sobject, id_field, value)
        response = await self._call("PATCH", path, json=fields)
        if response.status_code == 204:
            return Upserted(await self._record_id(path), created=False)
        payload = _json(response)
        if not isinstance(payload, dict) or not payload.get("id"):
            # The write may have landed: the retry upserts the same record again, harmlessly.
            raise SalesforceError(
                "Salesforce answered without a record id", status=response.status_code, retryable=True
            )
        return Upserted(str(payload["id"]), created=response.status_code == 201 or payload.get("created") is True)

    async def _record_id(self, path: str) -> str:
        payload = _json(await self._call("GET", path, params={"fields": "Id"}))
        if not isinstance(payload, dict) or not payload.get("Id"):
            raise SalesforceError("Salesforce answered without a record id", retryable=True)
        return str(payload["Id"])

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self._send(method, path, **kwargs)
        if response.status_code in AUTH_STATUSES and self.renewal is not None:
            await self._renew(self.renewal)
            self.renewal = None  # once per client: a token refused right after renewal is not renewed again
            response = await self._send(method, path, **kwargs)
        if response.status_code == 300:
            raise SalesforceError(
                "several Salesforce records have this external id: merge them in Salesforce",
                status=300,
                error_code="MULTIPLE_CHOICES",
            )
        if response.status_code >= 400:
            raise _error(response)
        return response

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        async with guarded_client(
            self.policy, base_url=self.instance_url, headers=headers, timeout=self.timeout
        ) as client:
            try:
                return await send_with_retries(client, method, path, policy=self.retry, sleep=self.sleep, **kwargs)
            except httpx.TimeoutException as exc:
                raise SalesforceError("Salesforce did not answer in time", retryable=True) from exc
            except httpx.TransportError as exc:
                raise SalesforceError(f"Salesforce unreachable: {type(exc).__name__}", retryable=True) from exc

    async def _renew(self, renewal: TokenRenewal) -> None:
        """Trade the refresh token for a new access token (the access token expired or was revoked)."""
        form = {"grant_type": "refresh_token", "client_id": renewal.client_id, "refresh_token": renewal.refresh_token}
        if renewal.client_secret:
            form["client_secret"] = renewal.client_secret
        async with guarded_client(
            self.policy, base_url=renewal.login_url, headers={"Accept": "application/json"}, timeout=self.timeout
        ) as client:
            try:
                response = await client.post(TOKEN_PATH, data=form)
            except httpx.TimeoutException as exc:
                raise SalesforceError("Salesforce did not renew the token in time", retryable=True) from exc
            except httpx.TransportError as exc:
                raise SalesforceError(f"Salesforce login unreachable: {type(exc).__name__}", retryable=True) from exc
        payload = _json(response)
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if response.status_code != 200 or not token:
            raise _renewal_refused(response, payload)
        self._token = str(token)
        if self.on_renewed is not None:
            self.on_renewed(self._token)


def _error(response: httpx.Response) -> SalesforceError:
    status = response.status_code
    code, message = error_of(_json(response))
    return SalesforceError(
        f"{code}: {message}" if code else message or f"Salesforce answered HTTP {status}",
        status=status,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
        retryable=is_retryable_status(status) or code in LATER,
        error_code=code,
    )


def _renewal_refused(response: httpx.Response, payload: Any) -> SalesforceError:
    """OAuth errors are ``{"error", "error_description"}``; a refused refresh token (400 ``invalid_grant``) or app
    (``invalid_client_id``, ``invalid_client``) needs a reconnect, so it counts as an authentication failure."""
    status = response.status_code
    error = payload.get("error") if isinstance(payload, dict) else None
    described = payload.get("error_description", "") if isinstance(payload, dict) else ""
    if is_retryable_status(status):
        return SalesforceError(
            f"Salesforce could not renew the token now (HTTP {status})",
            status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            retryable=True,
        )
    reason = f"{error}: {described}" if error else f"HTTP {status}"
    return SalesforceError(f"Salesforce refused to renew the token ({reason}): reconnect", status=401, error_code=error)


def error_of(payload: Any) -> tuple[str | None, str]:
    """Salesforce errors are a JSON array of ``{"message", "errorCode", "fields"}``; tolerate one object too."""
    first = payload[0] if isinstance(payload, list) and payload else payload
    if not isinstance(first, dict):
        return None, ""
    code = first.get("errorCode")
    return (str(code) if code else None), str(first.get("message") or "")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
