"""A small client of Meta's Graph API (WhatsApp Cloud API, Lead Ads, Instagram) on ``kit.http``'s guarded client
(the base URL is a tenant's setting): bearer token, configurable base URL and version, timeouts, no redirects,
no private or loopback addresses unless ``LEADFLOW_WEBHOOKS_ALLOW_LOOPBACK`` (tests).

Reads (GET) retry 429/5xx honouring ``Retry-After``. A send (POST) is not idempotent — a 5xx may hide a message
that went out — so it is retried only on 429, which Meta answers before doing anything. Waits longer than
``max_wait`` are not slept in place: the call fails with the provider's ``retry_after`` so the bus retries the
whole step later (a handler must not hold its transaction for minutes).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from leadflow.config import get_settings
from leadflow.integrations.base import ProviderError
from leadflow.kit.http import (
    BlockedDestination,
    RetryPolicy,
    SsrfPolicy,
    guarded_client,
    parse_retry_after,
    send_with_retries,
)

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v21.0"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
MAX_WAIT = 5.0
READS = RetryPolicy(attempts=3, base_delay=0.2, max_delay=2.0, max_retry_after=MAX_WAIT)
SEND_ATTEMPTS = 3


def retry_after_seconds(response: httpx.Response) -> float | None:
    return parse_retry_after(response.headers.get("retry-after"))


class GraphClient:
    def __init__(
        self,
        *,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        version: str = DEFAULT_VERSION,
        policy: SsrfPolicy | None = None,
    ) -> None:
        self._token = token
        self._root = f"{base_url.rstrip('/')}/{version.strip('/')}"
        # The base URL is a tenant's setting and media URLs come from the answers: both pass the SSRF guard.
        self._policy = policy or SsrfPolicy(allow_loopback=get_settings().webhooks_allow_loopback)

    async def get_json(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        response = await self._get(f"{self._root}/{path.lstrip('/')}", params=params)
        return _json_object(response)

    async def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self._root}/{path.lstrip('/')}"
        async with self._client() as client:
            for attempt in range(SEND_ATTEMPTS):
                response = await self._call(client.post(url, json=body))
                wait = retry_after_seconds(response)
                if response.status_code != 429 or attempt == SEND_ATTEMPTS - 1 or (wait or 0) > MAX_WAIT:
                    break
                await asyncio.sleep(wait if wait is not None else 0.5 * 2**attempt)
        if not response.is_success:
            raise _error(response)
        return _json_object(response)

    async def get_bytes(self, url: str, *, limit: int) -> tuple[bytes, str | None]:
        """A media file (its URL comes from the Graph API and needs the same token)."""
        response = await self._get(url)
        if len(response.content) > limit:
            raise ProviderError(f"the media file exceeds {limit} bytes")
        return response.content, response.headers.get("content-type")

    def _client(self) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self._token}"}
        return guarded_client(self._policy, headers=headers, timeout=TIMEOUT)

    async def _get(self, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        async with self._client() as client:
            response = await self._call(send_with_retries(client, "GET", url, policy=READS, params=params))
        if not response.is_success:
            raise _error(response)
        return response

    @staticmethod
    async def _call(request: Any) -> httpx.Response:
        try:
            response: httpx.Response = await request
        except BlockedDestination as exc:
            raise ProviderError(f"the Graph API address is not allowed: {exc.reason}") from exc
        except httpx.HTTPError as exc:
            raise ProviderError(f"Graph API unreachable: {type(exc).__name__}") from exc
        return response


def _error(response: httpx.Response) -> ProviderError:
    message = f"Graph API answered {response.status_code}"
    try:
        detail = response.json().get("error", {}).get("message")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, str):
        message += f": {detail[:200]}"
    return ProviderError(message, status=response.status_code, retry_after=retry_after_seconds(response))


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError) as exc:
        raise ProviderError("Graph API answered a body that is not JSON", status=response.status_code) from exc
    if not isinstance(body, dict):
        raise ProviderError("Graph API answered JSON that is not an object", status=response.status_code)
    return body
