"""Managers see their tenant's dead letters and queues, and put dead letters back in the queue."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from leadflow.kit.db import Database
from leadflow.kit.time import utcnow
from leadflow.models import OutboxMessage, OutboxStatus, Tenant
from tests.factories import owner_scope


async def _message(db: Database, tenant: Tenant, *, status: OutboxStatus, name: str = "lead.created") -> OutboxMessage:
    now = utcnow()
    async with db.session(owner_scope(tenant)) as session:
        message = OutboxMessage(
            event_name=name,
            payload={"lead_id": "x"},
            occurred_at=now - timedelta(minutes=5),
            available_at=now,
            attempts=8 if status is OutboxStatus.DEAD else 0,
            last_error="handler: TimeoutError()" if status is OutboxStatus.DEAD else None,
            status=status,
            dead_at=now if status is OutboxStatus.DEAD else None,
        )
        session.add(message)
        return message


@pytest.fixture
async def dead(db: Database, tenant: Tenant) -> OutboxMessage:
    return await _message(db, tenant, status=OutboxStatus.DEAD)


class TestDeadLetters:
    async def test_a_manager_sees_the_dead_letter_with_its_error(
        self, as_manager: httpx.AsyncClient, dead: OutboxMessage
    ) -> None:
        items = (await as_manager.get("/v1/ops/dead-letters")).json()["items"]
        assert [(i["id"], i["last_error"]) for i in items] == [(str(dead.id), "handler: TimeoutError()")]

    async def test_retrying_puts_it_back_in_the_queue_with_a_fresh_budget(
        self, as_manager: httpx.AsyncClient, dead: OutboxMessage
    ) -> None:
        retried = (await as_manager.post(f"/v1/ops/dead-letters/{dead.id}/retry")).json()
        assert (retried["status"], retried["attempts"], retried["dead_at"]) == ("pending", 0, None)
        assert (await as_manager.get("/v1/ops/dead-letters")).json()["items"] == []

    async def test_retrying_a_message_that_is_not_dead_is_404(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        pending = await _message(db, tenant, status=OutboxStatus.PENDING)
        assert (await as_manager.post(f"/v1/ops/dead-letters/{pending.id}/retry")).status_code == 404

    async def test_retry_all_revives_only_this_tenants_dead_letters(
        self, as_manager: httpx.AsyncClient, db: Database, dead: OutboxMessage, other_tenant: Tenant
    ) -> None:
        theirs = await _message(db, other_tenant, status=OutboxStatus.DEAD)
        assert (await as_manager.post("/v1/ops/dead-letters/retry")).json() == {"retried": 1}
        assert (await as_manager.post(f"/v1/ops/dead-letters/{theirs.id}/retry")).status_code == 404
        async with db.session(owner_scope(other_tenant)) as session:
            assert (await session.get_one(OutboxMessage, theirs.id)).status is OutboxStatus.DEAD

    async def test_a_broker_cannot_see_operations(self, as_broker: httpx.AsyncClient, dead: OutboxMessage) -> None:
        assert (await as_broker.get("/v1/ops/dead-letters")).status_code == 403


class TestQueues:
    async def test_depth_and_lag_per_event(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant, dead: OutboxMessage
    ) -> None:
        await _message(db, tenant, status=OutboxStatus.PENDING)
        await _message(db, tenant, status=OutboxStatus.PENDING, name="lead.assigned")
        await _message(db, tenant, status=OutboxStatus.DONE)
        queues = {q["event_name"]: q for q in (await as_manager.get("/v1/ops/queues")).json()["items"]}
        assert (queues["lead.created"]["pending"], queues["lead.created"]["dead"]) == (1, 1)
        assert queues["lead.assigned"]["pending"] == 1
        assert queues["lead.created"]["lag_seconds"] >= 299
