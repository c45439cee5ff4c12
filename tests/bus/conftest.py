"""A clock the tests move by hand, a fresh registry per test, and a dispatcher wired to both."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from leadflow.bus.dispatcher import Dispatcher, RetryPolicy
from leadflow.bus.events import DomainEvent
from leadflow.bus.outbox import publish
from leadflow.bus.registry import Registry
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import OutboxMessage, Tenant


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


async def publish_event(db: Database, tenant: Tenant, **payload: object) -> LeadCreated:
    event = LeadCreated(tenant_id=tenant.id, payload=dict(payload))
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        await publish(session, event)
    return event


async def stored(db: Database, event: DomainEvent) -> OutboxMessage:
    async with db.session(Scope.for_tenant(event.tenant_id)) as session:
        return await session.get_one(OutboxMessage, event.id, populate_existing=True)
