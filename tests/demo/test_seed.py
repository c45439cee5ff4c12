"""The demo tenants: the users and logins the README promises, loaded idempotently."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from leadflow.demo.crm import SMALL
from leadflow.demo.seed import DEMO_PASSWORD, DEMO_WRITE_KEY, seed_demo
from leadflow.kit.crypto import digest
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import ApiKey, Interaction, Lead, LeadStageHistory, Pipeline, Property, Team, Tenant, User


async def _count_users(db: Database, slug: str) -> int:
    async with db.session(Scope.system()) as session:
        tenant = (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one()
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        return (await session.execute(select(func.count(User.id)))).scalar_one()


class TestDemoSeed:
    async def test_it_loads_both_tenants_once_however_often_it_runs(self, db: Database) -> None:
        await seed_demo(db, size=SMALL)
        await seed_demo(db, size=SMALL)
        assert await _count_users(db, "demo") == 5
        assert await _count_users(db, "outra") == 2

    async def test_the_manager_logs_in_on_the_demo_host_and_not_on_the_other(self, db: Database, app: FastAPI) -> None:
        await seed_demo(db, size=SMALL)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo.localhost") as demo:
            login = await demo.post(
                "/v1/auth/login", json={"email": "gestor@demo.example.com", "password": DEMO_PASSWORD}
            )
            token = login.json()["access_token"]
            me = (await demo.get("/v1/me", headers={"Authorization": f"Bearer {token}"})).json()
        assert me["tenant"]["name"] == "Imobiliária Demo"
        assert me["tenant"]["time_zone"] == "America/Sao_Paulo"
        async with httpx.AsyncClient(transport=transport, base_url="http://outra.localhost") as outra:
            refused = await outra.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 404

    async def test_brokers_share_the_sales_team_and_the_site_has_its_write_key(self, db: Database) -> None:
        await seed_demo(db, size=SMALL)
        async with db.session(Scope.system()) as session:
            demo = (await session.execute(select(Tenant).where(Tenant.slug == "demo"))).scalar_one()
        async with db.session(Scope.for_tenant(demo.id)) as session:
            team = (await session.execute(select(Team).where(Team.name == "Vendas"))).scalar_one()
            key = (await session.execute(select(ApiKey).where(ApiKey.key_hash == digest(DEMO_WRITE_KEY)))).scalar_one()
        assert team is not None
        assert "http://demo.localhost:8000" in key.allowed_origins


class TestDemoCrmData:
    async def test_the_demo_tenant_gets_funnels_leads_in_every_status_and_activity(self, db: Database) -> None:
        await seed_demo(db, size=SMALL)
        async with db.session(Scope.system()) as session:
            demo = (await session.execute(select(Tenant).where(Tenant.slug == "demo"))).scalar_one()
        async with db.session(Scope.for_tenant(demo.id)) as session:
            pipelines = set((await session.execute(select(Pipeline.name))).scalars())
            statuses = set((await session.execute(select(Lead.status))).scalars())
            leads = (await session.execute(select(func.count(Lead.id)))).scalar_one()
            history = (await session.execute(select(func.count(LeadStageHistory.id)))).scalar_one()
            interactions = (await session.execute(select(func.count(Interaction.id)))).scalar_one()
            oldest = (await session.execute(select(func.min(Lead.created_at)))).scalar_one()
            reference = (await session.execute(select(Property.id).where(Property.reference == "AP-0001"))).first()
        assert pipelines == {"Venda", "Locação"}
        assert {s.value for s in statuses} >= {"open", "lost"}
        assert leads == SMALL.leads
        assert history >= leads
        assert interactions > 0
        assert oldest < utcnow() - timedelta(days=10)
        assert reference is not None

    async def test_loading_twice_adds_nothing(self, db: Database) -> None:
        await seed_demo(db, size=SMALL)
        await seed_demo(db, size=SMALL)
        async with db.session(Scope.system()) as session:
            demo = (await session.execute(select(Tenant).where(Tenant.slug == "demo"))).scalar_one()
        async with db.session(Scope.for_tenant(demo.id)) as session:
            assert (await session.execute(select(func.count(Lead.id)))).scalar_one() == SMALL.leads


class TestDemoCapture:
    async def test_the_contato_form_routes_a_google_lead_to_a_sales_broker_by_the_demo_rules(
        self, db: Database, app: FastAPI
    ) -> None:
        from leadflow.bus.dispatcher import Dispatcher
        from leadflow.bus.registry import discover_handlers, registry

        await seed_demo(db, size=SMALL)
        discover_handlers()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo.localhost") as demo:
            form = {
                "name": "Visitante Demo",
                "email": "visitante@example.com",
                "utm_source": "google",
                "utm_medium": "cpc",
                "utm_campaign": "jardins",
                "gclid": "abc",
            }
            assert (await demo.post("/v1/forms/contato", data=form)).status_code == 303
            while await Dispatcher(db, registry).dispatch_once():
                pass
            login = await demo.post(
                "/v1/auth/login", json={"email": "gestor@demo.example.com", "password": DEMO_PASSWORD}
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            [lead] = (await demo.get("/v1/leads", params={"q": "visitante@example.com"}, headers=headers)).json()[
                "items"
            ]
            routing = (await demo.get(f"/v1/leads/{lead['id']}/routing", headers=headers)).json()
        assert lead["temperature"] == "quente"
        assert "google-ads" in lead["tags"]
        assert routing[0]["assignee_id"] == lead["owner_id"] is not None
        assert routing[0]["rule_set_version"] == 1
