"""Auditoria: the audit trail of the tenant, searchable and paged like the API, each entry with its changes (secrets
masked as recorded), and the chain check; for owners and managers only, never another tenant's entries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi import FastAPI

from leadflow.kit import audit
from leadflow.kit.db import Database
from leadflow.kit.time import utcnow
from leadflow.models import AuditEntry, Role, Stage, Tenant, User
from tests import factories
from tests.console.conftest import Console, logged_in_console

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def stages(db: Database, tenant: Tenant) -> list[Stage]:
    _, rows = await factories.make_pipeline(db, tenant)
    return rows


@pytest.fixture
async def renamed(manager_console: Console, stages: list[Stage]) -> Stage:
    """The manager renames a stage through the console: one audited change of theirs."""
    await manager_console.get("/app/configuracoes/funis")
    response = await manager_console.post(f"/app/configuracoes/etapas/{stages[1].id}", {"name": "Primeiro contato"})
    assert response.status_code == 303
    return stages[1]


def entries(html: str) -> list[str]:
    return re.findall(r'<details class="grow" id="entry-([0-9a-f-]{36})">', html)


class TestAuditLog:
    async def test_a_change_is_listed_with_its_before_and_after(self, manager_console: Console, renamed: Stage) -> None:
        html = (await manager_console.get(f"/app/auditoria?entity_id={renamed.id}&action=update")).text
        assert len(entries(html)) == 1
        assert "<strong>update</strong> · stages" in html
        assert "<code>&#34;Contato&#34;</code></td><td><code>&#34;Primeiro contato&#34;</code>" in html

    async def test_filters_by_who_made_the_change(
        self, manager_console: Console, manager: User, owner: User, renamed: Stage
    ) -> None:
        mine = (await manager_console.get(f"/app/auditoria?actor_id={manager.id}")).text
        theirs = (await manager_console.get(f"/app/auditoria?actor_id={owner.id}")).text
        assert str(renamed.id) in mine
        assert entries(theirs) == []

    async def test_filters_by_entity_type_action_and_dates(self, manager_console: Console, renamed: Stage) -> None:
        assert str(renamed.id) in (await manager_console.get("/app/auditoria?entity_type=stages&action=update")).text
        assert str(renamed.id) not in (await manager_console.get("/app/auditoria?entity_type=users")).text
        yesterday = (utcnow() - timedelta(days=2)).date().isoformat()
        assert entries((await manager_console.get(f"/app/auditoria?until={yesterday}")).text) == []

    async def test_secrets_are_shown_masked(self, manager_console: Console) -> None:
        await manager_console.get("/app/configuracoes/sites")
        created = await manager_console.post("/app/configuracoes/sites", {"name": "Site"})
        key = re.search(r'id="new-key-value">(lf_wk_[^<]+)<', created.text)
        assert key is not None
        html = (await manager_console.get("/app/auditoria?entity_type=api_keys")).text
        assert "<code>key_hash</code>" in html
        assert "&#34;***&#34;" in html
        assert key.group(1) not in html

    async def test_pages_with_a_cursor_like_the_api(
        self, manager_console: Console, db: Database, tenant: Tenant
    ) -> None:
        async with db.session(factories.owner_scope(tenant)) as session:
            for n in range(55):
                audit.record(session, action="export", entity_type="reports", entity_id=None, changes={"n": n})
        first = (await manager_console.get("/app/auditoria?entity_type=reports")).text
        assert len(entries(first)) == 50
        link = re.search(r'href="\?entity_type=reports&amp;cursor=([^"]+)"', first)
        assert link is not None
        second = (await manager_console.get(f"/app/auditoria?entity_type=reports&cursor={link.group(1)}")).text
        assert len(entries(second)) == 5
        assert not set(entries(first)) & set(entries(second))

    async def test_an_invalid_filter_is_refused(self, manager_console: Console) -> None:
        assert (await manager_console.get("/app/auditoria?entity_id=not-an-id")).status_code == 422

    async def test_is_refused_to_a_broker(self, broker_console: Console) -> None:
        assert (await broker_console.get("/app/auditoria")).status_code == 403
        assert (await broker_console.get("/app/auditoria/cadeia")).status_code == 403

    async def test_another_tenants_entries_are_not_shown(
        self, app: FastAPI, db: Database, other_tenant: Tenant, renamed: Stage
    ) -> None:
        rival = await factories.make_user(db, other_tenant, role=Role.OWNER)
        async with logged_in_console(app, other_tenant, rival) as console:
            html = (await console.get("/app/auditoria")).text
            filtered = (await console.get(f"/app/auditoria?entity_id={renamed.id}")).text
        assert str(renamed.id) not in html
        assert entries(filtered) == []


class TestChainCheck:
    async def test_an_intact_chain_is_reported_as_such(self, manager_console: Console, renamed: Stage) -> None:
        html = (await manager_console.get("/app/auditoria")).text
        assert 'hx-get="/app/auditoria/cadeia"' in html
        fragment = await manager_console.http.get("/app/auditoria/cadeia", headers={"HX-Request": "true"})
        assert fragment.status_code == 200
        assert "<html" not in fragment.text
        assert "A cadeia de auditoria está íntegra" in fragment.text
        whole = (await manager_console.get("/app/auditoria/cadeia")).text
        assert "A cadeia de auditoria está íntegra" in whole
        assert "<html" in whole

    async def test_an_entry_outside_the_chain_is_reported_broken(
        self, manager_console: Console, db: Database, tenant: Tenant, renamed: Stage
    ) -> None:
        async with db.session(factories.owner_scope(tenant)) as session:
            forged = AuditEntry(actor_type="user", action="delete", entity_type="leads", changes={})
            session.add(forged)
        html = (await manager_console.get("/app/auditoria/cadeia")).text
        assert "A cadeia de auditoria está quebrada" in html
        assert str(forged.id) in html
