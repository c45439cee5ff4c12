"""On PostgreSQL, a publishing commit in any process wakes the listening workers at once (LISTEN/NOTIFY).

Each worker here polls only every 30 s, so a delivery within 2 s can only come from a notification (or, where a
test says so, from the shorter polling a worker falls back to while it cannot listen). Messages are published
through a second engine, as another process would: the in-process wake-up only fires for the worker's own engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from leadflow.bus.dispatcher import Dispatcher
from leadflow.bus.events import DomainEvent
from leadflow.bus.listener import OutboxListener
from leadflow.bus.outbox import CHANNEL, publish
from leadflow.bus.registry import Registry
from leadflow.bus.worker import Worker
from leadflow.kit.db import Database, create_engine
from leadflow.kit.scope import Scope
from leadflow.models import Tenant
from tests.bus.conftest import LeadCreated, eventually, publish_event

pytestmark = pytest.mark.usefixtures("postgres_only")

POLL = 30.0
WITHIN = 2.0


@pytest.fixture
async def other_process(database_urls: dict[str, str]) -> AsyncIterator[Database]:
    """The same database through an engine of its own, as another API process would publish."""
    db = Database(create_engine(database_urls["postgresql"]))
    yield db
    await db.dispose()


@pytest.fixture
def handled(handlers: Registry) -> asyncio.Event:
    done = asyncio.Event()

    async def on_created(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
        done.set()

    handlers.add("crm.signal", on_created, ["test.lead_created"])
    return done


@asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[Worker]:
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(worker.idle.wait(), timeout=5)
        yield worker
    finally:
        worker.stop()
        await asyncio.wait_for(task, timeout=5)


async def terminate_backend(db: Database, pid: int | None) -> None:
    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def worker_on(db: Database, handlers: Registry, *, fallback_poll_interval: float = POLL) -> Worker:
    return Worker(Dispatcher(db, handlers), poll_interval=POLL, fallback_poll_interval=fallback_poll_interval)


def listener_of(worker: Worker) -> OutboxListener:
    assert worker.listener is not None
    return worker.listener


class TestNotify:
    async def test_a_committed_publish_notifies_the_channel_and_a_rolled_back_one_does_not(
        self, committed: tuple[Database, Tenant], engine: AsyncEngine
    ) -> None:
        db, tenant = committed
        received: asyncio.Queue[str] = asyncio.Queue()
        listener = await asyncpg.connect(make_url(engine.url).set(drivername="postgresql").render_as_string(False))
        try:
            await listener.add_listener(CHANNEL, lambda *args: received.put_nowait(args[2]))

            async def service_that_fails_after_publishing() -> None:
                async with db.session(Scope.for_tenant(tenant.id)) as session:
                    await publish(session, LeadCreated(tenant_id=tenant.id))
                    raise RuntimeError("the service failed after publishing")

            with pytest.raises(RuntimeError):
                await service_that_fails_after_publishing()
            await asyncio.sleep(0.3)
            assert received.empty()
            await publish_event(db, tenant)
            assert await asyncio.wait_for(received.get(), WITHIN) == CHANNEL
        finally:
            await listener.close()


class TestListeningWorker:
    async def test_a_publish_in_another_process_wakes_it_long_before_its_poll(
        self, committed: tuple[Database, Tenant], other_process: Database, handlers: Registry, handled: asyncio.Event
    ) -> None:
        db, tenant = committed
        async with running(worker_on(db, handlers)) as worker:
            assert listener_of(worker).listening
            await publish_event(other_process, tenant)
            await asyncio.wait_for(handled.wait(), WITHIN)

    async def test_it_polls_while_its_listening_connection_is_lost(
        self, committed: tuple[Database, Tenant], other_process: Database, handlers: Registry, handled: asyncio.Event
    ) -> None:
        db, tenant = committed
        worker = worker_on(db, handlers, fallback_poll_interval=0.3)
        listener = listener_of(worker)
        listener.retry_delay = POLL  # stays deaf for the whole test
        async with running(worker):
            await terminate_backend(db, listener.server_pid)
            await eventually(lambda: not listener.listening)
            await publish_event(other_process, tenant)
            await asyncio.wait_for(handled.wait(), WITHIN)
            assert not listener.listening

    async def test_it_reconnects_and_is_woken_again(
        self, committed: tuple[Database, Tenant], other_process: Database, handlers: Registry, handled: asyncio.Event
    ) -> None:
        db, tenant = committed
        worker = worker_on(db, handlers)  # polls every 30 s, listening or not: only a notification is in time
        listener = listener_of(worker)
        listener.retry_delay = 0.1
        async with running(worker):
            lost = listener.server_pid
            await terminate_backend(db, lost)
            await eventually(lambda: listener.listening and listener.server_pid != lost)
            await asyncio.sleep(0.2)  # let the wake-up of the reconnection pass: it drains what nobody heard
            await asyncio.wait_for(worker.idle.wait(), timeout=5)
            await publish_event(other_process, tenant)
            await asyncio.wait_for(handled.wait(), WITHIN)
