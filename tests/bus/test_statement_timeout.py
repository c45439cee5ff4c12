"""The worker's engine bounds every statement (``LEADFLOW_WORKER_STATEMENT_TIMEOUT_SECONDS``): a handler stuck on a
query fails in bounded time and its message is retried later, never lost and never hanging the worker."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.app import bounded_waits
from leadflow.bus.dispatcher import Dispatcher, RetryPolicy
from leadflow.bus.events import DomainEvent
from leadflow.bus.registry import Registry
from leadflow.config import Settings
from leadflow.kit.db import Database, create_engine
from leadflow.kit.scope import Scope
from leadflow.models import OutboxStatus, Tenant
from tests import factories
from tests.bus.conftest import LeadCreated, publish_event, stored


@pytest.fixture
async def worker_db(database_urls: dict[str, str], settings: Settings) -> AsyncIterator[Database]:
    """The database as `leadflow worker` opens it, with a statement budget of half a second."""
    settings = settings.model_copy(
        update={"database_url": database_urls["postgresql"], "worker_statement_timeout_seconds": 0.5}
    )
    waits = bounded_waits(settings, statement_timeout=settings.worker_statement_timeout_seconds)
    engine = create_engine(settings.effective_database_url, **waits)
    yield Database(engine)
    await engine.dispose()


@pytest.fixture
async def tenant_of_its_own(worker_db: Database) -> AsyncIterator[Tenant]:
    tenant = await factories.make_tenant(worker_db, f"slow-{uuid.uuid4().hex[:8]}")
    yield tenant
    async with worker_db.session(Scope.system()) as session:
        await session.execute(delete(Tenant).where(Tenant.id == tenant.id))


async def _stuck(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    await session.execute(text("SELECT pg_sleep(30)"))


def test_the_worker_gets_its_own_longer_budget_than_the_api(settings: Settings) -> None:
    settings = settings.model_copy(update={"database_url": "postgresql+asyncpg://app@db/leadflow"})
    api = bounded_waits(settings)
    worker = bounded_waits(settings, statement_timeout=settings.worker_statement_timeout_seconds)
    assert api["connect_args"]["command_timeout"] == settings.database_statement_timeout_seconds == 15.0
    assert worker["connect_args"]["command_timeout"] == settings.worker_statement_timeout_seconds == 120.0


@pytest.mark.usefixtures("postgres_only")
class TestWorkerStatementTimeout:
    async def test_a_stuck_query_fails_its_handler_in_bounded_time_and_the_message_waits_for_a_retry(
        self, worker_db: Database, tenant_of_its_own: Tenant
    ) -> None:
        event = await publish_event(worker_db, tenant_of_its_own, lead="lento")
        handlers = Registry()
        handlers.add("crm.stuck", _stuck, [LeadCreated.name])
        dispatcher = Dispatcher(worker_db, handlers, retry=RetryPolicy(max_attempts=4, base=timedelta(seconds=2)))

        started = time.monotonic()
        await dispatcher.dispatch_once()
        elapsed = time.monotonic() - started

        assert elapsed < 10  # the query would have slept 30 s
        message = await stored(worker_db, event)
        assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
        assert "Timeout" in (message.last_error or "")
