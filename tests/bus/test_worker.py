"""The worker sleeps until a publish in this process wakes it or a delayed message comes due, and stops when asked."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.dispatcher import Dispatcher
from leadflow.bus.events import DomainEvent
from leadflow.bus.registry import Registry
from leadflow.bus.worker import Worker
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import OutboxStatus, Tenant
from tests.bus.conftest import eventually, publish_event, stored

LONG_POLL = 3600.0  # so only the wake-up signal can make the worker act within the test's bound


class TestWorker:
    async def test_a_published_message_is_handled_as_soon_as_it_is_committed(
        self, db: Database, tenant: Tenant, handlers: Registry, dispatcher: Dispatcher
    ) -> None:
        handled = asyncio.Event()

        async def on_created(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
            handled.set()

        handlers.add("crm.signal", on_created, ["test.lead_created"])
        worker = Worker(dispatcher, poll_interval=LONG_POLL)
        task = asyncio.create_task(worker.run())
        try:
            await asyncio.wait_for(worker.idle.wait(), timeout=5)  # the tests share one connection: take turns
            event = await publish_event(db, tenant)
            await asyncio.wait_for(handled.wait(), timeout=5)
        finally:
            worker.stop()
            await asyncio.wait_for(task, timeout=5)
        assert (await stored(db, event)).status == OutboxStatus.DONE

    async def test_a_stopped_worker_returns_without_waiting_for_the_poll(self, dispatcher: Dispatcher) -> None:
        worker = Worker(dispatcher, poll_interval=LONG_POLL)
        task = asyncio.create_task(worker.run())
        await asyncio.wait_for(worker.idle.wait(), timeout=5)
        worker.stop()
        await asyncio.wait_for(task, timeout=5)
        assert task.done()

    async def test_a_delayed_message_is_handled_when_due_without_waiting_for_the_poll(
        self, db: Database, tenant: Tenant, handlers: Registry
    ) -> None:
        handled_at: list[datetime] = []

        async def on_due(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
            handled_at.append(utcnow())

        handlers.add("sla.due", on_due, ["test.lead_created"])
        worker = Worker(Dispatcher(db, handlers), poll_interval=LONG_POLL)  # the real clock
        task = asyncio.create_task(worker.run())
        try:
            await asyncio.wait_for(worker.idle.wait(), timeout=5)
            due = utcnow() + timedelta(seconds=0.5)
            event = await publish_event(db, tenant, available_at=due)
            await eventually(lambda: bool(handled_at))
        finally:
            worker.stop()
            await asyncio.wait_for(task, timeout=5)
        assert handled_at[0] >= due
        assert (await stored(db, event)).status == OutboxStatus.DONE

    def test_only_a_postgresql_worker_listens_for_notifications(self, backend: str, dispatcher: Dispatcher) -> None:
        assert (Worker(dispatcher).listener is not None) == (backend == "postgresql")
        assert Worker(dispatcher, listen=False).listener is None
