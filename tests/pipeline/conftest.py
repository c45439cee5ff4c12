"""A sales team with a roleta, a contact form routed to it, and a dispatcher running the real pipeline handlers."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select

from leadflow.bus.dispatcher import Dispatcher, RetryPolicy
from leadflow.bus.registry import discover_handlers, registry
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import ApiKeyKind, LeadForm, OutboxMessage, Pipeline, Role, Team, Tenant, User
from tests import factories
from tests.bus.conftest import Clock


@dataclass
class SalesTeam:
    team: Team
    brokers: list[User]
    manager: User
    pipeline: Pipeline
    form: LeadForm


@pytest_asyncio.fixture
async def sales(db: Database, tenant: Tenant) -> SalesTeam:
    pipeline, _ = await factories.make_pipeline(db, tenant)
    brokers = [
        await factories.make_user(db, tenant, role=Role.BROKER, name=name)
        for name in ("Ana Corretora", "Bruno Corretor")
    ]
    manager = await factories.make_user(db, tenant, role=Role.MANAGER, name="Gerente Vendas")
    team = await factories.make_team(db, tenant, "Vendas", [*brokers, manager])
    async with db.session(factories.owner_scope(tenant)) as session:
        form = LeadForm(key="contato", name="Fale conosco", team_id=team.id, thank_you_url="/obrigado")
        session.add(form)
    return SalesTeam(team=team, brokers=brokers, manager=manager, pipeline=pipeline, form=form)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def worker(db: Database, clock: Clock) -> Dispatcher:
    """The real handlers (every feature's handlers.py) on a clock the test moves."""
    discover_handlers()
    return Dispatcher(db, registry, retry=RetryPolicy(max_attempts=3), clock=clock, rng=random.Random(3))


async def drain(dispatcher: Dispatcher) -> None:
    # Whatever was published up to now is due: a slow machine must not leave it behind the test's clock.
    if isinstance(dispatcher.clock, Clock):
        dispatcher.clock.now = max(dispatcher.clock.now, utcnow() + timedelta(seconds=1))
    while await dispatcher.dispatch_once():
        pass


# Added for the SLA, replay, rules API, roleta API and identify specifications.


@pytest.fixture
def handler_clock(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The clock the test moves is also the pipeline handlers' "now" (as ``utcnow`` is the dispatcher's in
    production), so an SLA re-route starts its next timer from the moment the test says it is."""
    from leadflow.pipeline import handlers

    monkeypatch.setattr(handlers, "utcnow", clock)
    return clock


def visitor(n: int, **fields: str) -> dict[str, str]:
    """A contact form post of the n-th distinct visitor (own e-mail, phone and tracking id)."""
    return {
        "name": f"Visitante {n}",
        "email": f"visitante{n}@example.com",
        "phone": f"11987650{n:03d}",
        "lf_tracking_id": f"trk-visitor-{n}",
        **fields,
    }


async def convert(client: httpx.AsyncClient, dispatcher: Dispatcher, *posts: dict[str, str]) -> None:
    """Post each form to /v1/forms/contato and let the pipeline handle them all."""
    for post in posts:
        response = await client.post("/v1/forms/contato", json=post)
        assert response.status_code == 202, response.text
    await drain_now(dispatcher)


async def drain_now(dispatcher: Dispatcher) -> None:
    """Drain, with the test's clock first brought up to real time: it stands still while the test runs, and a
    message published after it was set (``available_at`` = the real now) would otherwise not be due yet."""
    if isinstance(dispatcher.clock, Clock):
        dispatcher.clock.now = max(dispatcher.clock.now, utcnow())
    await drain(dispatcher)


async def leads_of(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every lead the client sees, oldest first."""
    response = await client.get("/v1/leads", params={"limit": 200})
    assert response.status_code == 200, response.text
    return sorted(response.json()["items"], key=lambda lead: str(lead["created_at"]))


async def outbox_of(db: Database, tenant: Tenant, event_name: str) -> list[OutboxMessage]:
    """The domain events of that name the tenant's transactions published, oldest first."""
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        stmt = select(OutboxMessage).where(OutboxMessage.event_name == event_name)
        return list((await session.scalars(stmt.order_by(OutboxMessage.occurred_at))).all())


@pytest_asyncio.fixture
async def as_sales_manager(app: FastAPI, tenant: Tenant, sales: SalesTeam) -> AsyncIterator[httpx.AsyncClient]:
    """The manager of the sales team, signed in."""
    async with factories.logged_in(app, tenant, sales.manager) as client:
        yield client


@pytest_asyncio.fixture
async def segment(app: FastAPI, db: Database, tenant: Tenant) -> AsyncIterator[httpx.AsyncClient]:
    """A Segment-style client of the tenant's site: its write key as HTTP Basic user."""
    from tests.capture.factories import site

    _, key = await factories.make_key(db, tenant, kind=ApiKeyKind.WRITE)
    async with site(app, tenant, key) as client:
        yield client
