"""The worker applies each tenant's retention once a day: a delayed ``retention.due`` message per tenant, which
queues its successor after it has run. Queuing is idempotent: never two waiting messages for one tenant."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from leadflow.bus.dispatcher import Dispatcher
from leadflow.bus.registry import discover_handlers, registry
from leadflow.cli import cli
from leadflow.config import get_settings
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import OutboxMessage, OutboxStatus, RejectedEvent, Tenant
from leadflow.retention.events import RetentionDue
from leadflow.retention.schedule import ensure_scheduled
from tests.bus.conftest import Clock
from tests.retention.test_retention import add_rows, count, rejected

runner = CliRunner()


async def retention_messages(db: Database, tenant: Tenant) -> list[OutboxMessage]:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        stmt = select(OutboxMessage).where(OutboxMessage.event_name == RetentionDue.name)
        return list((await session.scalars(stmt.order_by(OutboxMessage.available_at))).all())


async def schedule(db: Database, tenant: Tenant) -> bool:
    scope = Scope.for_tenant(tenant.id)
    async with db.session(scope) as session:
        return await ensure_scheduled(session, scope, at=utcnow())


async def test_scheduling_twice_queues_one_message_per_tenant(
    db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    assert await schedule(db, tenant)
    assert not await schedule(db, tenant)
    assert await schedule(db, other_tenant)

    assert len(await retention_messages(db, tenant)) == 1
    assert len(await retention_messages(db, other_tenant)) == 1


async def test_the_worker_applies_retention_and_queues_the_next_run_a_day_later(db: Database, tenant: Tenant) -> None:
    discover_handlers()
    await add_rows(db, tenant, rejected(40))
    await schedule(db, tenant)
    clock = Clock(now=utcnow() + timedelta(seconds=1))
    dispatcher = Dispatcher(db, registry, clock=clock, rng=random.Random(1))

    while await dispatcher.dispatch_once():
        pass

    assert await count(db, tenant, RejectedEvent) == 0
    ran, following = await retention_messages(db, tenant)
    assert ran.status is OutboxStatus.DONE
    assert following.status is OutboxStatus.PENDING
    assert timedelta(hours=23) < following.available_at - ran.available_at < timedelta(hours=25)


def test_creating_a_tenant_queues_its_first_retention_run_for_the_next_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LEADFLOW_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        assert runner.invoke(cli, ["migrate"]).exit_code == 0
        assert runner.invoke(cli, ["tenants", "create", "nova", "Nova"]).exit_code == 0
        assert runner.invoke(cli, ["retention", "schedule"]).output.strip() == "retention scheduled for 0 tenant(s)"
    finally:
        get_settings.cache_clear()

    with sqlite3.connect(tmp_path / "leadflow.db") as conn:
        [(available_at,)] = conn.execute(
            "SELECT available_at FROM outbox WHERE event_name = 'retention.due'"
        ).fetchall()
    due_in = datetime.fromisoformat(available_at).replace(tzinfo=UTC) - utcnow()
    assert timedelta(hours=23) < due_in <= timedelta(days=1)
