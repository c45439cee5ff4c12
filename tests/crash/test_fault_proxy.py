"""PostgreSQL out of reach behind a fault proxy (plan §2, test 35): while the link is blackholed or reset the API
answers 503 with ``Retry-After`` — never 500, and never 2xx for an event it did not commit — and ``/readyz`` says
not ready; once the link passes again, new requests succeed without restarting anything.

PostgreSQL only: the embedded SQLite file has no network link to cut.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from leadflow.bus.outbox import publish
from leadflow.kit.scope import Scope
from leadflow.models import Event, OutboxMessage, OutboxStatus
from tests.bus.probe_handlers import PingSent
from tests.crash.conftest import Account
from tests.crash.faultproxy import FaultProxy, Mode, fault_proxy
from tests.crash.harness import Deployment, Server, deployment, eventually

pytestmark = pytest.mark.slow

PROBES = ("tests.bus.probe_handlers",)
BOUND = 4.0  # the server's statement and connect timeouts in this test (seconds)
_ids = itertools.count()


@pytest.fixture(scope="module")
def postgres_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("the fault proxy cuts a network link; SQLite has none")


@pytest.fixture(scope="module")
def site(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """This module's database; its workers also load the bus tests' probe handlers (``PingSent``)."""
    with deployment(backend, tmp_path_factory.mktemp("faults"), extra_handler_modules=PROBES) as made:
        yield made


@pytest.fixture(scope="module")
def proxy(postgres_only: None, site: Deployment) -> Iterator[FaultProxy]:
    url = make_url(site.url)
    with fault_proxy(url.host or "127.0.0.1", url.port or 5432) as made:
        yield made


def through(proxy: FaultProxy, site: Deployment) -> str:
    return make_url(site.url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def server(site: Deployment, proxy: FaultProxy, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    through_proxy = through(proxy, site)
    started = site.serve(
        tmp_path_factory.mktemp("proxied") / "serve.log",
        database_url=through_proxy,
        database_connect_timeout_seconds=str(BOUND),
        database_statement_timeout_seconds=str(BOUND),
    )
    yield started
    started.stop()


class Site:
    """A site posting tracks; remembers which message ids were acknowledged and every status it got."""

    def __init__(self, server: Server, account: Account) -> None:
        key = base64.b64encode(f"{account.write_key}:".encode()).decode()
        headers = {"Authorization": f"Basic {key}", "Host": account.host}
        self.http = httpx.Client(base_url=server.url, headers=headers, timeout=3 * BOUND + 10)
        self.acknowledged: set[str] = set()
        self.statuses: Counter[int] = Counter()

    def track(self) -> httpx.Response:
        message_id = f"proxied-{next(_ids)}"
        body = {"type": "track", "messageId": message_id, "anonymousId": "anon-1", "event": "Visita"}
        started = time.monotonic()
        response = self.http.post("/v1/track", json=body)
        assert time.monotonic() - started < 3 * BOUND + 5, "the request hung instead of failing in bounded time"
        self.statuses[response.status_code] += 1
        if response.status_code < 300:
            self.acknowledged.add(message_id)
        return response

    def ready(self) -> httpx.Response:
        return self.http.get("/readyz")


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["content-type"].startswith("application/problem+json")


def wait_until_healthy(site: Site, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while site.track().status_code != 200:
        assert time.monotonic() < deadline, "the server did not recover by itself"
        time.sleep(0.2)
    assert site.ready().status_code == 200


def stored(deployment: Deployment, account: Account) -> Counter[str]:
    async def read() -> Counter[str]:
        db = deployment.database()
        try:
            async with db.session(Scope.for_tenant(account.tenant.id)) as session:
                return Counter((await session.scalars(select(Event.message_id))).all())
        finally:
            await db.dispose()

    return asyncio.run(read())


@pytest.mark.parametrize("fault", ["blackhole", "reset"])
def test_an_unreachable_database_is_503_then_everything_resumes(
    fault: Mode, proxy: FaultProxy, server: Server, site: Deployment, account: Account, logs: Path
) -> None:
    client = Site(server, account)
    wait_until_healthy(client)

    proxy.set(fault)
    for _ in range(3):
        assert_unavailable(client.track())
    assert_unavailable(client.ready())

    proxy.set("pass")
    wait_until_healthy(client)
    assert 500 not in client.statuses, server.output()
    assert set(client.statuses) <= {200, 503}
    counts = stored(site, account)
    assert client.acknowledged <= set(counts), "an acknowledged event is missing"
    assert max(counts.values()) == 1


def test_a_slow_link_is_only_slower(proxy: FaultProxy, server: Server, account: Account) -> None:
    client = Site(server, account)
    wait_until_healthy(client)
    proxy.set("latency", latency=0.05)
    try:
        assert client.track().status_code == 200
        assert client.ready().status_code == 200
    finally:
        proxy.set("pass")


async def publish_pings(site: Deployment, account: Account, count: int) -> set[str]:
    """Published straight to PostgreSQL, not through the proxy: the outbox fills while the worker is cut off."""
    db = site.database()
    try:
        pings = [PingSent(tenant_id=account.tenant.id) for _ in range(count)]
        for ping in pings:
            async with db.session(Scope.for_tenant(account.tenant.id)) as session:
                await publish(session, ping)
        return {str(ping.id) for ping in pings}
    finally:
        await db.dispose()


def delivered(site: Deployment, account: Account) -> set[str]:
    async def read() -> set[str]:
        db = site.database()
        try:
            async with db.session(Scope.for_tenant(account.tenant.id)) as session:
                done = select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.DONE)
                return {str(message_id) for message_id in (await session.scalars(done)).all()}
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_the_worker_resumes_by_itself_after_a_partition(
    proxy: FaultProxy, site: Deployment, account: Account, logs: Path
) -> None:
    worker = site.worker(logs / "worker.log", "--lease", "2", database_url=through(proxy, site))
    try:
        before = asyncio.run(publish_pings(site, account, 3))
        eventually(lambda: before <= delivered(site, account), timeout=120, message=worker.output)

        proxy.set("blackhole")
        during = asyncio.run(publish_pings(site, account, 3))
        time.sleep(2)
        assert not during & delivered(site, account), "delivered through a blackhole?"

        proxy.set("pass")
        eventually(lambda: during <= delivered(site, account), timeout=60, message=worker.output)
        assert worker.alive()
    finally:
        assert worker.stop() == 0, worker.output()
