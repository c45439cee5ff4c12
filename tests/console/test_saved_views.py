"""Saved views: a user names the lead list's filters and picks them later; the views are theirs alone."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from leadflow.kit.db import Database
from leadflow.models import AuditEntry, Lead, Role, SavedView, Stage, Tenant, User
from tests import factories
from tests.console.conftest import Console, logged_in_console

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def stages(db: Database, tenant: Tenant) -> list[Stage]:
    _, rows = await factories.make_pipeline(db, tenant)
    return rows


@pytest.fixture
async def portal_lead(db: Database, tenant: Tenant, stages: list[Stage], broker: User) -> Lead:
    person = await factories.make_person(db, tenant, name="Maria Portal")
    return await factories.make_lead(db, tenant, person=person, stage=stages[0], owner=broker, source="portal_zap")


@pytest.fixture
async def site_lead(db: Database, tenant: Tenant, stages: list[Stage], broker: User) -> Lead:
    person = await factories.make_person(db, tenant, name="João Site")
    return await factories.make_lead(db, tenant, person=person, stage=stages[0], owner=broker, source="site")


async def _views(db: Database, tenant: Tenant) -> list[SavedView]:
    async with db.session(factories.owner_scope(tenant)) as session:
        return list((await session.execute(select(SavedView))).scalars())


class TestSavingAView:
    async def test_saves_the_current_filters_and_lists_the_view_as_a_link_to_them(
        self, broker_console: Console, portal_lead: Lead, site_lead: Lead
    ) -> None:
        await broker_console.get("/app/leads?source=portal_zap")
        response = await broker_console.post("/app/leads/views", {"name": "Portais", "query": "source=portal_zap"})
        assert response.status_code == 303
        assert response.headers["location"] == "/app/leads?source=portal_zap"
        html = (await broker_console.get("/app/leads")).text
        assert re.search(r'<a href="/app/leads\?source=portal_zap"\s*>Portais</a>', html)

    async def test_picking_the_view_shows_only_the_leads_its_filters_match(
        self, broker_console: Console, portal_lead: Lead, site_lead: Lead
    ) -> None:
        await broker_console.get("/app/leads")
        location = await broker_console.post("/app/leads/views", {"name": "Portais", "query": "source=portal_zap"})
        html = (await broker_console.get(location.headers["location"])).text
        assert "Maria Portal" in html
        assert "João Site" not in html
        assert 'aria-current="true">Portais<' in html

    async def test_keeps_only_the_lead_lists_filters_of_the_query(
        self, broker_console: Console, db: Database, tenant: Tenant
    ) -> None:
        await broker_console.get("/app/leads")
        query = "source=site&cursor=abc&done=3&evil=1&tag="
        await broker_console.post("/app/leads/views", {"name": "Site", "query": query})
        assert [view.query for view in await _views(db, tenant)] == ["source=site"]

    async def test_saving_under_an_existing_name_replaces_its_filters(
        self, broker_console: Console, db: Database, tenant: Tenant
    ) -> None:
        await broker_console.get("/app/leads")
        await broker_console.post("/app/leads/views", {"name": "Meus", "query": "source=site"})
        await broker_console.post("/app/leads/views", {"name": "Meus", "query": "source=portal_zap"})
        assert [(v.name, v.query) for v in await _views(db, tenant)] == [("Meus", "source=portal_zap")]

    async def test_an_invalid_filter_is_refused_and_nothing_is_saved(
        self, broker_console: Console, db: Database, tenant: Tenant
    ) -> None:
        await broker_console.get("/app/leads")
        response = await broker_console.post("/app/leads/views", {"name": "Ruim", "query": "status=maybe"})
        assert response.status_code == 422
        assert "status" in response.text
        assert await _views(db, tenant) == []

    async def test_a_view_needs_a_name(self, broker_console: Console, db: Database, tenant: Tenant) -> None:
        await broker_console.get("/app/leads")
        response = await broker_console.post("/app/leads/views", {"name": "  ", "query": "source=site"})
        assert response.status_code == 422
        assert await _views(db, tenant) == []

    async def test_saving_is_audited_with_the_user_who_saved(
        self, broker_console: Console, db: Database, tenant: Tenant, broker: User
    ) -> None:
        await broker_console.get("/app/leads")
        await broker_console.post("/app/leads/views", {"name": "Portais", "query": "source=portal_zap"})
        async with db.session(factories.owner_scope(tenant)) as session:
            stmt = select(AuditEntry).where(AuditEntry.entity_type == "saved_views")
            entries = list((await session.execute(stmt)).scalars())
        assert [(entry.action, entry.actor_id) for entry in entries] == [("create", broker.id)]

    async def test_a_post_without_csrf_saves_nothing(
        self, broker_console: Console, db: Database, tenant: Tenant
    ) -> None:
        await broker_console.get("/app/leads")
        response = await broker_console.post("/app/leads/views", {"name": "X", "query": "source=site"}, csrf="")
        assert response.status_code == 403
        assert await _views(db, tenant) == []

    async def test_a_viewer_may_not_save_views(self, app: FastAPI, db: Database, tenant: Tenant, viewer: User) -> None:
        async with logged_in_console(app, tenant, viewer) as console:
            await console.get("/app/leads")
            assert 'id="save-view"' not in (await console.get("/app/leads")).text
            response = await console.post("/app/leads/views", {"name": "X", "query": "source=site"})
        assert response.status_code == 403


class TestViewsAreTheirUsersOwn:
    async def test_another_user_does_not_see_the_view(
        self, broker_console: Console, app: FastAPI, tenant: Tenant, manager: User
    ) -> None:
        await broker_console.get("/app/leads")
        await broker_console.post("/app/leads/views", {"name": "Só meus portais", "query": "source=portal_zap"})
        async with logged_in_console(app, tenant, manager) as console:
            assert "Só meus portais" not in (await console.get("/app/leads")).text

    async def test_the_owner_of_a_view_deletes_it(self, broker_console: Console, db: Database, tenant: Tenant) -> None:
        await broker_console.get("/app/leads")
        await broker_console.post("/app/leads/views", {"name": "Portais", "query": "source=portal_zap"})
        [view] = await _views(db, tenant)
        response = await broker_console.post(f"/app/leads/views/{view.id}/delete")
        assert response.status_code == 303
        assert await _views(db, tenant) == []

    async def test_another_users_view_is_not_found_and_stays(
        self, broker_console: Console, app: FastAPI, db: Database, tenant: Tenant
    ) -> None:
        await broker_console.get("/app/leads")
        await broker_console.post("/app/leads/views", {"name": "Portais", "query": "source=portal_zap"})
        [view] = await _views(db, tenant)
        colleague = await factories.make_user(db, tenant, role=Role.BROKER)
        async with logged_in_console(app, tenant, colleague) as console:
            await console.get("/app/leads")
            assert (await console.post(f"/app/leads/views/{view.id}/delete")).status_code == 404
        assert len(await _views(db, tenant)) == 1

    async def test_another_tenants_view_is_not_found_and_stays(
        self, broker_console: Console, app: FastAPI, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        await broker_console.get("/app/leads")
        await broker_console.post("/app/leads/views", {"name": "Portais", "query": "source=portal_zap"})
        [view] = await _views(db, tenant)
        rival = await factories.make_user(db, other_tenant, role=Role.OWNER)
        async with logged_in_console(app, other_tenant, rival) as console:
            await console.get("/app/leads")
            assert "Portais" not in (await console.get("/app/leads")).text
            assert (await console.post(f"/app/leads/views/{view.id}/delete")).status_code == 404
        assert len(await _views(db, tenant)) == 1
