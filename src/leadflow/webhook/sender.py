"""One delivery attempt: POST the signed body through the SSRF-guarded client and describe what happened.

No database here: the caller records the outcome. The response body is read only up to ``EXCERPT_BYTES`` (a
partner answering megabytes cannot fill our log), and a 3xx is a failure like any non-2xx (redirects are never
followed).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from leadflow.kit.http import BlockedDestination, Resolver, SsrfPolicy, guarded_client, parse_retry_after, resolve
from leadflow.webhook.signing import headers_for

EXCERPT_BYTES = 1024
USER_AGENT = "leadflow-webhooks/1.0"


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    duration_ms: int
    status_code: int | None = None
    response_excerpt: str | None = None
    error_kind: str | None = None  # timeout | connect | blocked | protocol | http
    error: str | None = None
    retry_after: float | None = None  # seconds the partner asked us to wait (429/503 Retry-After)

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def post_signed(
    url: str,
    body: bytes,
    *,
    message_id: str,
    secrets: Sequence[str],
    timestamp: int,
    policy: SsrfPolicy,
    timeout_seconds: float,
    resolver: Resolver = resolve,
) -> AttemptOutcome:
    headers = headers_for(secrets, message_id, timestamp, body)
    started = time.perf_counter()

    def elapsed() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        async with (
            guarded_client(policy, timeout=timeout_seconds, user_agent=USER_AGENT, resolver=resolver) as client,
            client.stream("POST", url, content=body, headers=headers) as response,
        ):
            excerpt = await _excerpt(response)
    except BlockedDestination as exc:
        return AttemptOutcome(elapsed(), error_kind="blocked", error=f"refused by the SSRF guard: {exc.reason}")
    except httpx.TimeoutException:
        return AttemptOutcome(elapsed(), error_kind="timeout", error=f"no answer within {timeout_seconds:g} s")
    except httpx.ConnectError as exc:
        return AttemptOutcome(elapsed(), error_kind="connect", error=f"connection failed: {exc}"[:500])
    except httpx.HTTPError as exc:
        return AttemptOutcome(elapsed(), error_kind="protocol", error=f"{type(exc).__name__}: {exc}"[:500])
    status = response.status_code
    failed = not 200 <= status < 300
    return AttemptOutcome(
        elapsed(),
        status_code=status,
        response_excerpt=excerpt,
        error_kind="http" if failed else None,
        error=f"answered HTTP {status}" if failed else None,
        retry_after=parse_retry_after(response.headers.get("retry-after")) if failed else None,
    )


async def _excerpt(response: httpx.Response) -> str:
    read = bytearray()
    async for chunk in response.aiter_bytes():
        read.extend(chunk)
        if len(read) >= EXCERPT_BYTES:
            break
    return bytes(read[:EXCERPT_BYTES]).decode("utf-8", errors="replace")
