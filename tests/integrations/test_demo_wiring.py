"""The demo tenant's connections answer at the URLs and with the secrets the README and the checks use."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select

from leadflow.bus.dispatcher import Dispatcher, RetryPolicy
from leadflow.bus.registry import discover_handlers, registry
from leadflow.capture.sealing import open_rejected_raw
from leadflow.demo.crm import SMALL
from leadflow.demo.seed import DEMO_PASSWORD, seed_demo
from leadflow.integrations.metahooks import signature_of
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import Lead, RejectedEvent, Tenant, User
from tests.bus.conftest import Clock
from tests.integrations.conftest import drain_now, portal_lead, text_message


@pytest_asyncio.fixture
async def demo(db: Database, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    await seed_demo(db, size=SMALL)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo.localhost") as client:
        yield client


@pytest_asyncio.fixture
async def demo_worker(db: Database) -> Dispatcher:
    discover_handlers()
    return Dispatcher(db, registry, retry=RetryPolicy(max_attempts=3), clock=Clock(), rng=random.Random(3))


async def demo_leads(db: Database, since: datetime) -> list[Lead]:
    """The demo tenant's leads created by the test (the seeded ones are older)."""
    async with db.session(Scope.system()) as session:
        tenant = (await session.scalars(select(Tenant).where(Tenant.slug == "demo"))).one()
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        return list((await session.scalars(select(Lead).where(Lead.created_at >= since))).all())


async def brokers(db: Database) -> set[str]:
    async with db.session(Scope.system()) as session:
        stmt = select(User.id).where(
            User.email.in_(["ana@demo.example.com", "bruno@demo.example.com", "carla@demo.example.com"])
        )
        return {str(i) for i in (await session.scalars(stmt)).all()}


class TestDemoWhatsApp:
    async def test_a_signed_message_creates_a_lead_routed_to_a_broker_and_a_bad_signature_is_rejected(
        self, demo: httpx.AsyncClient, demo_worker: Dispatcher, db: Database
    ) -> None:
        since = utcnow()
        raw = json.dumps(text_message(wa_id="5521998877665", text="Oi, vi o anúncio")).encode()
        bad = await demo.post(
            "/hooks/whatsapp/demo-whatsapp", content=raw, headers={"x-hub-signature-256": signature_of("wrong", raw)}
        )
        assert bad.status_code == 401
        good = await demo.post(
            "/hooks/whatsapp/demo-whatsapp",
            content=raw,
            headers={"x-hub-signature-256": signature_of("demo-app-secret", raw)},
        )
        assert good.status_code == 200, good.text
        await drain_now(demo_worker)
        [lead] = await demo_leads(db, since)
        assert str(lead.owner_id) in await brokers(db)
        async with db.session(Scope.for_tenant(lead.tenant_id)) as session:
            [rejected] = (await session.scalars(select(RejectedEvent).where(RejectedEvent.source == "whatsapp"))).all()
            opened = await open_rejected_raw(session, Scope.for_tenant(lead.tenant_id), [rejected])
        assert opened == [raw.decode()]  # sealed at rest, as received when read
        params = {"hub.mode": "subscribe", "hub.verify_token": "demo-verify-token", "hub.challenge": "42"}
        check = await demo.get("/hooks/whatsapp/demo-whatsapp", params=params)
        assert check.status_code == 200
        assert check.text == "42"


class TestDemoPortal:
    async def test_a_portal_lead_for_ap_0001_delivered_twice_creates_one_lead_and_secrets_stay_hidden(
        self, demo: httpx.AsyncClient, demo_worker: Dispatcher, db: Database
    ) -> None:
        since = utcnow()
        auth = {"authorization": "Basic " + base64.b64encode(b"demo-zap:demo-zap-secret").decode()}
        for _ in range(2):
            response = await demo.post("/hooks/zap/demo-zap", json=portal_lead(), headers=auth)
            assert response.status_code == 200, response.text
            await drain_now(demo_worker)
        [lead] = await demo_leads(db, since)
        assert lead.property_id is not None
        # The manager sees both demo connections, without their secrets.
        login = await demo.post("/v1/auth/login", json={"email": "gestor@demo.example.com", "password": DEMO_PASSWORD})
        token = login.json()["access_token"]
        response = await demo.get("/v1/integrations", headers={"Authorization": f"Bearer {token}"})
        assert {c["webhook_path"] for c in response.json()} == {"/hooks/whatsapp/demo-whatsapp", "/hooks/zap/demo-zap"}
        assert "demo-app-secret" not in response.text
        assert "demo-zap-secret" not in response.text
