"""`leadflow demo` (or `serve` with LEADFLOW_WORKER_IN_PROCESS) works the bus inside the server process."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import select

from leadflow.app import create_app
from leadflow.bus.outbox import publish
from leadflow.config import Settings
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import HandlerRun, OutboxMessage, OutboxStatus, Tenant
from tests.bus.conftest import eventually
from tests.bus.probe_handlers import PingSent


async def is_done(db: Database, event: PingSent) -> bool:
    async with db.session(Scope.for_tenant(event.tenant_id)) as session:
        message = await session.get_one(OutboxMessage, event.id, populate_existing=True)
    return message.status == OutboxStatus.DONE


class TestInProcessWorker:
    async def test_the_lifespan_runs_a_worker_that_delivers_published_messages(
        self, settings: Settings, committed: tuple[Database, Tenant]
    ) -> None:
        db, tenant = committed
        working = settings.model_copy(
            update={"worker_in_process": True, "extra_handler_modules": ["tests.bus.probe_handlers"]}
        )
        app = create_app(working, database=db)
        event = PingSent(tenant_id=tenant.id)
        async with app.router.lifespan_context(app):
            worker = app.state.worker
            async with db.session(Scope.for_tenant(tenant.id)) as session:
                await publish(session, event)
            await eventually(lambda: is_done(db, event))
            assert not worker.stopped.is_set()
        assert worker.stopped.is_set()  # the shutdown waited for it
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            assert (await session.scalars(select(HandlerRun.handler).filter_by(message_id=event.id))).all() == [
                "probe.ping"
            ]

    async def test_the_default_app_runs_no_worker(self, app: FastAPI) -> None:
        async with app.router.lifespan_context(app):
            assert app.state.worker is None
