"""A clock the tests move by hand, a fresh registry per test, a dispatcher wired to both, and a committed
database for the tests that need several connections."""

from __future__ import annotations

import asyncio
import inspect
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from leadflow.bus.dispatcher import Dispatcher, RetryPolicy
from leadflow.bus.events import DomainEvent
from leadflow.bus.outbox import publish
from leadflow.bus.registry import Registry
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import OutboxMessage, Tenant
from tests import factories


class LeadCreated(DomainEvent):
    name = "test.lead_created"


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: utcnow() + timedelta(seconds=1))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def handlers() -> Registry:
    return Registry()


@pytest.fixture
def dispatcher(db: Database, handlers: Registry, clock: Clock) -> Dispatcher:
    retry = RetryPolicy(max_attempts=4, base=timedelta(seconds=2))
    return Dispatcher(db, handlers, lease=timedelta(seconds=30), retry=retry, clock=clock, rng=random.Random(7))


@pytest.fixture
def postgres_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("a PostgreSQL mechanism (SQLite has one writer and wakes its worker in process)")


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[tuple[Database, Tenant]]:
    """A real database (no rolled-back outer transaction) and a tenant of its own, deleted afterwards with its
    messages. Never together with ``db``: on SQLite both would wait for the engine's one connection."""
    db = Database(engine)
    tenant = await factories.make_tenant(db, f"bus-{uuid.uuid4().hex[:8]}")
    yield db, tenant
    async with db.session(Scope.system()) as session:
        await session.execute(delete(Tenant).where(Tenant.id == tenant.id))


async def publish_event(
    db: Database, tenant: Tenant, *, available_at: datetime | None = None, **payload: object
) -> LeadCreated:
    event = LeadCreated(tenant_id=tenant.id, payload=dict(payload))
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        await publish(session, event, available_at=available_at)
    return event


async def stored(db: Database, event: DomainEvent) -> OutboxMessage:
    async with db.session(Scope.for_tenant(event.tenant_id)) as session:
        return await session.get_one(OutboxMessage, event.id, populate_existing=True)


async def eventually(condition: Callable[[], bool | Awaitable[bool]], *, within: float = 5.0) -> None:
    """Wait until ``condition`` holds (checking every 20 ms), or fail after ``within`` seconds."""
    for _ in range(max(1, int(within / 0.02))):
        outcome = condition()
        if await outcome if inspect.isawaitable(outcome) else outcome:
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"still not true after {within} s")
