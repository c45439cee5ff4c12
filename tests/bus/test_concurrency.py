"""On PostgreSQL, two workers claiming at once never wait on or share a row (``FOR UPDATE SKIP LOCKED``)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from leadflow.bus.dispatcher import Dispatcher
from leadflow.bus.events import DomainEvent
from leadflow.bus.registry import Registry
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import OutboxMessage, OutboxStatus, Tenant
from tests.bus.conftest import LeadCreated, publish_event, stored

pytestmark = pytest.mark.usefixtures("postgres_only")


class TestConcurrentClaims:
    async def test_a_row_locked_by_one_worker_is_skipped_by_another(
        self, engine: AsyncEngine, committed: tuple[Database, Tenant]
    ) -> None:
        db, tenant = committed
        locked = await publish_event(db, tenant, lead="primeiro")
        free = await publish_event(db, tenant, lead="segundo")
        listening = Registry()
        listening.add("crm.noop", _noop, [LeadCreated.name])
        # The other worker claims as workers do: in the system scope (row-level security lets it see the row).
        async with Database(engine).session(Scope.system()) as other_worker:
            await other_worker.execute(select(OutboxMessage.id).filter_by(id=locked.id).with_for_update())
            claimed = await Dispatcher(db, listening).claim()
        assert [m.event.id for m in claimed] == [free.id]

    async def test_a_locked_row_nobody_listens_to_is_skipped_not_waited_on(
        self, engine: AsyncEngine, committed: tuple[Database, Tenant]
    ) -> None:
        db, tenant = committed
        locked = await publish_event(db, tenant, lead="primeiro")
        free = await publish_event(db, tenant, lead="segundo")
        async with Database(engine).session(Scope.system()) as other_worker:
            await other_worker.execute(select(OutboxMessage.id).filter_by(id=locked.id).with_for_update())
            assert await Dispatcher(db, Registry()).dispatch_once() == 1  # the free one, marked done at once
        assert ((await stored(db, locked)).status, (await stored(db, free)).status) == (
            OutboxStatus.PENDING,
            OutboxStatus.DONE,
        )


async def _noop(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    return None
