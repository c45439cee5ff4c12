"""The outgoing HTTP client: SSRF guard at connect time, no redirects, timeouts, User-Agent, retries."""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from leadflow.kit.http import (
    BlockedDestination,
    IPAddress,
    RetryPolicy,
    SsrfPolicy,
    UnsafeUrl,
    check_url,
    guarded_client,
    parse_retry_after,
    send_with_retries,
    vendor_client,
)
from tests.loopback import Reply, ipv6_loopback_available, loopback_server

STRICT = SsrfPolicy()
LOOPBACK_OK = SsrfPolicy(allow_loopback=True)


def _resolver_answering(*answers: list[str]):  # type: ignore[no-untyped-def]
    """A resolver whose successive calls answer the given address lists (the last one repeats)."""
    calls: list[str] = []

    async def resolve(host: str, port: int, timeout: float | None) -> list[IPAddress]:  # noqa: ASYNC109
        answer = answers[min(len(calls), len(answers) - 1)]
        calls.append(host)
        return [ipaddress.ip_address(a) for a in answer]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


class TestSsrfPolicy:
    @pytest.mark.parametrize(
        "address",
        [
            "127.0.0.1",
            "127.8.9.10",
            "10.0.0.5",
            "172.16.3.4",
            "192.168.1.1",
            "169.254.169.254",  # AWS/GCP/Azure metadata
            "100.64.0.1",  # CGNAT
            "100.100.100.200",  # Alibaba Cloud metadata
            "192.0.0.192",  # Oracle Cloud metadata
            "0.0.0.0",
            "224.0.0.251",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",  # AWS IPv6 metadata
            "ff02::1",
            "ff0e::1",  # global-scope multicast is still multicast
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
            "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
            "2001:db8::1",
        ],
    )
    def test_refuses_non_public_addresses(self, address: str) -> None:
        assert STRICT.refusal(ipaddress.ip_address(address)) is not None

    @pytest.mark.parametrize("address", ["8.8.8.8", "200.147.67.142", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
    def test_allows_public_unicast_addresses(self, address: str) -> None:
        assert STRICT.refusal(ipaddress.ip_address(address)) is None

    @pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.53", "::1", "::ffff:127.0.0.1"])
    def test_the_loopback_flag_allows_loopback(self, address: str) -> None:
        assert LOOPBACK_OK.refusal(ipaddress.ip_address(address)) is None

    @pytest.mark.parametrize(
        "address", ["169.254.169.254", "10.0.0.1", "192.168.0.1", "100.64.0.1", "0.0.0.0", "::", "fe80::1", "fc00::1"]
    )
    def test_the_loopback_flag_allows_nothing_else(self, address: str) -> None:
        assert LOOPBACK_OK.refusal(ipaddress.ip_address(address)) is not None


class TestCheckUrl:
    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1/hook",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:8080/",
            "http://[::ffff:169.254.169.254]/",
            "http://localhost/hook",
            "http://2130706433/",  # 127.0.0.1 as one decimal number, resolved by the system resolver
            "ftp://partner.example/",
            "file:///etc/passwd",
            "http://user:pass@partner.example/",
            "http:///nohost",
        ],
    )
    async def test_refuses_unsafe_urls_with_a_reason(self, url: str) -> None:
        with pytest.raises(UnsafeUrl) as refused:
            await check_url(url, STRICT)
        assert refused.value.reason

    async def test_refuses_a_name_that_resolves_to_a_private_address(self) -> None:
        with pytest.raises(UnsafeUrl, match="not allowed"):
            await check_url("https://partner.example/hook", STRICT, resolver=_resolver_answering(["10.1.2.3"]))

    async def test_refuses_a_name_when_any_of_its_addresses_is_private(self) -> None:
        resolver = _resolver_answering(["93.184.215.14", "127.0.0.1"])
        with pytest.raises(UnsafeUrl):
            await check_url("https://partner.example/hook", STRICT, resolver=resolver)

    async def test_accepts_a_public_host(self) -> None:
        await check_url("https://partner.example/hook", STRICT, resolver=_resolver_answering(["93.184.215.14"]))

    async def test_accepts_loopback_only_with_the_flag(self) -> None:
        await check_url("http://127.0.0.1:9/hook", LOOPBACK_OK)
        with pytest.raises(UnsafeUrl):
            await check_url("http://169.254.169.254/", LOOPBACK_OK)

    async def test_refuses_a_name_that_does_not_resolve(self) -> None:
        with pytest.raises(UnsafeUrl, match="does not resolve"):
            await check_url("https://no-such-host.invalid/hook", STRICT)


class TestGuardedClient:
    async def test_refuses_to_connect_to_loopback_without_the_flag(self) -> None:
        with loopback_server() as server:
            async with guarded_client(STRICT) as client:
                with pytest.raises(BlockedDestination):
                    await client.post(server.url + "/hook", content=b"{}")
            assert server.received == []

    async def test_refuses_a_host_name_that_resolves_to_loopback(self) -> None:
        with loopback_server() as server:
            async with guarded_client(STRICT) as client:
                with pytest.raises(BlockedDestination):
                    await client.get(f"http://localhost:{server.port}/")
            assert server.received == []

    async def test_refuses_the_metadata_address(self) -> None:
        async with guarded_client(LOOPBACK_OK) as client:
            with pytest.raises(BlockedDestination):
                await client.get("http://169.254.169.254/latest/meta-data/")

    async def test_reaches_loopback_with_the_flag(self) -> None:
        with loopback_server() as server:
            async with guarded_client(LOOPBACK_OK) as client:
                response = await client.post(server.url + "/hook", content=b"{}")
            assert response.status_code == 200
            assert server.received[0].path == "/hook"

    @pytest.mark.skipif(not ipv6_loopback_available(), reason="no IPv6 loopback here")
    async def test_reaches_ipv6_loopback_with_the_flag(self) -> None:
        with loopback_server(host="::1") as server:
            async with guarded_client(LOOPBACK_OK) as client:
                assert (await client.get(server.url + "/")).status_code == 200
            async with guarded_client(STRICT) as client:
                with pytest.raises(BlockedDestination):
                    await client.get(server.url + "/")

    async def test_connects_to_the_address_it_checked_not_to_a_fresh_lookup(self) -> None:
        # "partner.example" resolves nowhere in real DNS: reaching the server proves the connect used the
        # checked address from this one lookup.
        resolver = _resolver_answering(["127.0.0.1"])
        with loopback_server() as server:
            async with guarded_client(LOOPBACK_OK, resolver=resolver) as client:
                response = await client.get(f"http://partner.example:{server.port}/")
            assert response.status_code == 200
            assert server.received[0].headers["host"] == f"partner.example:{server.port}"
        assert resolver.calls == ["partner.example"]

    async def test_dns_rebinding_after_the_url_was_accepted_is_refused_at_connect(self) -> None:
        resolver = _resolver_answering(["93.184.215.14"], ["169.254.169.254"])
        await check_url("http://partner.example/hook", STRICT, resolver=resolver)
        async with guarded_client(STRICT, resolver=resolver) as client:
            with pytest.raises(BlockedDestination):
                await client.get("http://partner.example/hook")

    async def test_does_not_follow_redirects(self) -> None:
        with loopback_server() as server:
            server.replies.append(Reply(302, headers={"Location": "http://169.254.169.254/"}))
            async with guarded_client(LOOPBACK_OK) as client:
                response = await client.get(server.url + "/")
            assert response.status_code == 302
            assert len(server.received) == 1

    async def test_ignores_proxy_environment_variables(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("NO_PROXY", "")
        with loopback_server() as server:
            async with guarded_client(LOOPBACK_OK) as client:
                assert (await client.get(server.url + "/")).status_code == 200


class TestVendorClient:
    async def test_uses_the_base_url_and_sends_a_user_agent(self) -> None:
        with loopback_server() as server:
            async with vendor_client(server.url + "/api", headers={"Authorization": "Bearer t"}) as client:
                await client.get("/v1/things")
            request = server.received[0]
            assert request.path == "/api/v1/things"
            assert request.headers["user-agent"].startswith("leadflow/")
            assert request.headers["authorization"] == "Bearer t"

    async def test_times_out_instead_of_waiting_forever(self) -> None:
        with loopback_server(default=Reply(200, delay=1.0)) as server:
            async with vendor_client(server.url, timeout=0.2) as client:
                with pytest.raises(httpx.ReadTimeout):
                    await client.get("/")

    async def test_does_not_follow_redirects(self) -> None:
        with loopback_server(default=Reply(301, headers={"Location": "/elsewhere"})) as server:
            async with vendor_client(server.url) as client:
                assert (await client.get("/")).status_code == 301
            assert len(server.received) == 1


class TestParseRetryAfter:
    def test_reads_delta_seconds(self) -> None:
        assert parse_retry_after("7") == 7.0

    def test_reads_an_http_date(self) -> None:
        now = datetime(2026, 5, 4, 13, 0, tzinfo=UTC)
        header = format_datetime(now + timedelta(seconds=30), usegmt=True)
        assert parse_retry_after(header, now=now) == 30.0

    def test_a_date_in_the_past_means_now(self) -> None:
        now = datetime(2026, 5, 4, 13, 0, tzinfo=UTC)
        assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now=now) == 0.0

    @pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5e9x"])
    def test_garbage_means_no_hint(self, value: str | None) -> None:
        assert parse_retry_after(value) is None


class TestSendWithRetries:
    @staticmethod
    def _recorder() -> tuple[list[float], object]:
        delays: list[float] = []

        async def sleep(seconds: float) -> None:
            delays.append(seconds)

        return delays, sleep

    async def test_retries_5xx_then_returns_the_success(self) -> None:
        delays, sleep = self._recorder()
        with loopback_server() as server:
            server.replies.extend([Reply(500), Reply(503), Reply(200, {"ok": True})])
            async with vendor_client(server.url) as client:
                response = await send_with_retries(client, "POST", "/x", json={}, sleep=sleep)  # type: ignore[arg-type]
            assert response.status_code == 200
            assert len(server.received) == 3
        assert len(delays) == 2

    async def test_backoff_grows_exponentially_with_full_jitter(self) -> None:
        policy = RetryPolicy(attempts=5, base_delay=1.0, max_delay=4.0)
        rng = random.Random(7)
        for retry in range(6):
            for _ in range(50):
                assert 0 <= policy.backoff(retry, rng) <= min(4.0, 2**retry)

    async def test_honours_retry_after_on_429(self) -> None:
        delays, sleep = self._recorder()
        with loopback_server() as server:
            server.replies.extend([Reply(429, headers={"Retry-After": "7"}), Reply(200)])
            async with vendor_client(server.url) as client:
                response = await send_with_retries(client, "GET", "/", sleep=sleep)  # type: ignore[arg-type]
            assert response.status_code == 200
        assert len(delays) == 1
        assert 7.0 <= delays[0] <= 8.0

    async def test_a_retry_after_beyond_the_cap_hands_the_response_back(self) -> None:
        delays, sleep = self._recorder()
        with loopback_server() as server:
            server.replies.append(Reply(429, headers={"Retry-After": "3600"}))
            async with vendor_client(server.url) as client:
                response = await send_with_retries(
                    client,
                    "GET",
                    "/",
                    policy=RetryPolicy(max_retry_after=60),
                    sleep=sleep,  # type: ignore[arg-type]
                )
            assert response.status_code == 429
            assert len(server.received) == 1
        assert delays == []

    async def test_retries_timeouts_and_raises_when_every_attempt_timed_out(self) -> None:
        delays, sleep = self._recorder()
        with loopback_server(default=Reply(200, delay=0.5)) as server:
            async with vendor_client(server.url, timeout=0.1) as client:
                with pytest.raises(httpx.TimeoutException):
                    await send_with_retries(client, "GET", "/", policy=RetryPolicy(attempts=3), sleep=sleep)  # type: ignore[arg-type]
            assert len(server.received) == 3
        assert len(delays) == 2

    async def test_does_not_retry_a_client_error(self) -> None:
        with loopback_server(default=Reply(400, {"message": "bad"})) as server:
            async with vendor_client(server.url) as client:
                response = await send_with_retries(client, "POST", "/", json={})
            assert response.status_code == 400
            assert len(server.received) == 1

    async def test_returns_the_last_failure_after_the_last_attempt(self) -> None:
        _, sleep = self._recorder()
        with loopback_server(default=Reply(502)) as server:
            async with vendor_client(server.url) as client:
                response = await send_with_retries(client, "GET", "/", policy=RetryPolicy(attempts=3), sleep=sleep)  # type: ignore[arg-type]
            assert response.status_code == 502
            assert len(server.received) == 3

    async def test_never_retries_a_refused_destination(self) -> None:
        delays, sleep = self._recorder()
        async with guarded_client(STRICT) as client:
            with pytest.raises(BlockedDestination):
                await send_with_retries(client, "GET", "http://10.0.0.1/", sleep=sleep)  # type: ignore[arg-type]
        assert delays == []
