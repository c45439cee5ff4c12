"""The one outgoing HTTP client: timeouts always, no redirects, a User-Agent, an SSRF guard, a retry helper.

Two kinds of destination:

* **Vendor APIs** (HubSpot, Chatwoot, Meta Graph, …) whose base URL comes from settings or a connection:
  ``vendor_client(base_url)``.
* **User-supplied URLs** (partner webhooks, a self-hosted Chatwoot a tenant typed in): ``guarded_client(policy)``.
  Every connection resolves the host name, checks **every** address it resolves to against the policy, and then
  connects to one of those checked addresses (never resolving again), so DNS rebinding between a check and the
  connect cannot sneak a private address through. TLS still verifies the certificate against the host name.

Both clients ignore proxy environment variables (a proxy would connect on our behalf, out of the guard's sight)
and never follow redirects (a 3xx is answered to the caller like any other status).
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import random
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

DEFAULT_USER_AGENT = "leadflow/0.1 (+https://leadflow.dev)"
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=15.0, write=15.0, pool=5.0)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IANA special-purpose ranges, written out because `ipaddress.is_global` misses several of them on Python 3.11
# (192.0.0.0/24 — Oracle Cloud's metadata lives at 192.0.0.192 —, ::/96, 6to4 and NAT64 all count as "global").
_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network", 0.0.0.0 reaches the local host on Linux
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT (also Alibaba Cloud's metadata at 100.100.100.200)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata at 169.254.169.254 (AWS, GCP, Azure, DigitalOcean)
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, includes 255.255.255.255
    )
)
_BLOCKED_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/128",
        "::1/128",
        "::/96",  # deprecated IPv4-compatible addresses
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments, Teredo included
        "2001:db8::/32",
        "fc00::/7",  # unique local (AWS's IPv6 metadata endpoint fd00:ec2::254 is here)
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",  # multicast
    )
)
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")
_LOOPBACK_V6 = ipaddress.IPv6Address("::1")


class BlockedDestination(httpx.TransportError):
    """The host resolved to an address the SSRF policy refuses; nothing was sent."""

    def __init__(self, host: str, address: str | None = None, reason: str = "") -> None:
        self.host = host
        self.address = address
        self.reason = reason
        where = f"{host} ({address})" if address and address != host else host
        super().__init__(f"destination {where} is not allowed: {reason}")


@dataclass(frozen=True)
class SsrfPolicy:
    """Which addresses user-supplied URLs may reach: public unicast only, loopback optionally (tests only)."""

    allow_loopback: bool = False

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` is refused, or None when it may be reached."""
        if self.allow_loopback and _is_loopback(address):
            return None
        for embedded in _embedded_ipv4(address):
            reason = self.refusal(embedded)
            if reason:
                return f"embeds {embedded}: {reason}"
        if isinstance(address, ipaddress.IPv4Address):
            blocked: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network] = _BLOCKED_V4
        else:
            blocked = _BLOCKED_V6
        for network in blocked:
            if address in network:
                return f"in the non-public range {network}"
        if address.is_multicast or not address.is_global:
            return "not a public unicast address"
        return None

    def check(self, host: str, address: IPAddress) -> None:
        reason = self.refusal(address)
        if reason:
            raise BlockedDestination(host, str(address), reason)


def _is_loopback(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv4Address):
        return address in _LOOPBACK_V4
    return address == _LOOPBACK_V6


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64), each checked on its own."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if any(address in net for net in _NAT64):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def parse_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


async def resolve(host: str, port: int, timeout: float | None = None) -> list[IPAddress]:  # noqa: ASYNC109
    """Every address ``host`` resolves to for a TCP connection, in resolver order, without duplicates."""
    literal = parse_ip(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError as exc:
        raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
    except (socket.gaierror, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        parsed = parse_ip(str(sockaddr[0]))
        if parsed is not None and parsed not in addresses:
            addresses.append(parsed)
    return addresses


Resolver = Callable[[str, int, float | None], Awaitable[list[IPAddress]]]


async def resolve_checked(
    host: str,
    port: int,
    policy: SsrfPolicy,
    *,
    timeout: float | None = None,  # noqa: ASYNC109 - passed on to the resolver, which bounds its own wait
    resolver: Resolver = resolve,
) -> list[IPAddress]:
    """Resolve and refuse the host if ANY of its addresses is refused (a mixed answer is a rebinding smell)."""
    addresses = await resolver(host, port, timeout)
    if not addresses:
        raise BlockedDestination(host, None, "resolves to no address")
    for address in addresses:
        policy.check(host, address)
    return addresses


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks, then connects to the checked IP: the check and the connect see the same address."""

    def __init__(
        self, policy: SsrfPolicy, *, resolver: Resolver = resolve, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.policy = policy
        self.resolver = resolver
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's network backend interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve_checked(host, port, self.policy, timeout=timeout, resolver=self.resolver)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's network backend interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedDestination(path, None, "unix sockets are not reachable through the guarded client")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def guarded_transport(
    policy: SsrfPolicy, *, resolver: Resolver = resolve, verify: bool = True
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connections all go through ``GuardedNetworkBackend``."""
    transport = httpx.AsyncHTTPTransport(verify=verify, trust_env=False, retries=0)
    # httpx does not take a network backend, so the pool it built is replaced by the same pool with ours.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
        max_connections=httpx.Limits().max_connections,
        max_keepalive_connections=httpx.Limits().max_keepalive_connections,
        keepalive_expiry=5.0,
        retries=0,
        network_backend=GuardedNetworkBackend(policy, resolver=resolver),
    )
    return transport


def _client(
    *,
    base_url: str,
    headers: Mapping[str, str] | None,
    timeout: httpx.Timeout | float,
    user_agent: str,
    transport: httpx.AsyncBaseTransport | None,
) -> httpx.AsyncClient:
    if timeout is None:  # pragma: no cover - guarded by the type, kept for callers without mypy
        raise ValueError("outgoing HTTP always has a timeout")
    merged = {"User-Agent": user_agent, **(headers or {})}
    return httpx.AsyncClient(
        base_url=base_url,
        headers=merged,
        timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        transport=transport,
    )


def vendor_client(
    base_url: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    user_agent: str = DEFAULT_USER_AGENT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """A client for a vendor API whose base URL an operator configured (settings or a provider default)."""
    return _client(base_url=base_url, headers=headers, timeout=timeout, user_agent=user_agent, transport=transport)


def guarded_client(
    policy: SsrfPolicy,
    *,
    base_url: str = "",
    headers: Mapping[str, str] | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    user_agent: str = DEFAULT_USER_AGENT,
    resolver: Resolver = resolve,
) -> httpx.AsyncClient:
    """A client for URLs a user supplied: every connection passes the SSRF policy at connect time."""
    transport = guarded_transport(policy, resolver=resolver)
    return _client(base_url=base_url, headers=headers, timeout=timeout, user_agent=user_agent, transport=transport)


class UnsafeUrl(ValueError):
    """A user-supplied URL that may not be used; ``reason`` is safe to show to the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def check_url(url: str, policy: SsrfPolicy, *, resolver: Resolver = resolve) -> None:
    """Refuse a user-supplied URL before it is stored: http(s), no credentials, a host that resolves to
    allowed addresses only. The same check runs again at every connect (DNS may change in between)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("the URL must start with http:// or https://")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("the URL may not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl("the URL has an invalid port") from exc
    host = parts.hostname
    if not host:
        raise UnsafeUrl("the URL has no host")
    try:
        await resolve_checked(host, port, policy, timeout=5.0, resolver=resolver)
    except BlockedDestination as exc:
        raise UnsafeUrl(f"the host is not allowed ({exc.reason})") from exc
    except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
        raise UnsafeUrl("the host name does not resolve") from exc


# --- retries ---------------------------------------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; None when absent or garbled."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def is_retryable_status(status: int) -> bool:
    return status in (408, 429) or 500 <= status <= 599


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; ``Retry-After`` is honoured up to ``max_retry_after`` seconds.

    A ``Retry-After`` longer than that cap ends the retries and hands the response back: the caller (a bus
    message, a delivery row) reschedules itself instead of holding a worker asleep.
    """

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        ceiling = min(self.max_delay, self.base_delay * (2**retry_number))
        return rng.uniform(0, ceiling)


Sleep = Callable[[float], Awaitable[None]]


async def send_with_retries(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    policy: RetryPolicy = RetryPolicy(),
    sleep: Sleep = asyncio.sleep,
    rng: random.Random | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Send a request, retrying 408/429/5xx answers, timeouts and connection failures.

    Returns the last response (successful or not: the caller decides what a 4xx means); raises the last
    transport error when every attempt failed without an answer. A refused destination is never retried.
    Only use it for idempotent requests (GET, PUT, upserts, or POSTs carrying an idempotency key).
    """
    rng = rng or random.Random()
    for attempt in range(policy.attempts):
        last = attempt == policy.attempts - 1
        try:
            response = await client.request(method, url, **kwargs)
        except BlockedDestination:
            raise
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError):
            if last:
                raise
            await sleep(policy.backoff(attempt, rng))
            continue
        if not is_retryable_status(response.status_code) or last:
            return response
        delay = policy.backoff(attempt, rng)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is not None:
            if retry_after > policy.max_retry_after:
                return response
            # At least what the server asked for, plus a little jitter so clients do not return in lockstep.
            delay = retry_after + rng.uniform(0, min(1.0, policy.base_delay))
        await response.aclose()
        await sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover
