"""Bulk actions on the lead list: through the lead service's bulk update, all or none, refusals listed."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from leadflow.kit.db import Database
from leadflow.models import AuditEntry, Lead, LeadAssignment, LossReason, OutboxMessage, Role, Stage, Tenant, User
from tests import factories
from tests.console.conftest import Console, logged_in_console

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
async def same_team(db: Database, tenant: Tenant, manager: User, broker: User) -> None:
    """The manager manages the broker (a manager sees the leads of their teams)."""
    await factories.make_team(db, tenant, "Vendas", [manager, broker])


@pytest.fixture
async def stages(db: Database, tenant: Tenant) -> list[Stage]:
    _, rows = await factories.make_pipeline(db, tenant)
    return rows


@pytest.fixture
async def two_leads(db: Database, tenant: Tenant, stages: list[Stage], broker: User) -> list[Lead]:
    made = []
    for name in ("Maria Silva", "João Souza"):
        person = await factories.make_person(db, tenant, name=name)
        made.append(await factories.make_lead(db, tenant, person=person, stage=stages[0], owner=broker))
    return made


async def _leads(db: Database, tenant: Tenant, leads: list[Lead]) -> list[Lead]:
    async with db.session(factories.owner_scope(tenant)) as session:
        found = {lead.id: lead for lead in (await session.execute(select(Lead))).scalars()}
    return [found[lead.id] for lead in leads]


def _picked(leads: list[Lead], **fields: str) -> dict[str, object]:
    return {"lead_ids": [str(lead.id) for lead in leads], **fields}


async def _bulk(console: Console, data: dict[str, object], *, csrf: str | None = None) -> httpx.Response:
    await console.get("/app/leads")
    form = {"csrf_token": console.csrf if csrf is None else csrf, **data}
    return await console.http.post("/app/leads/bulk", data=form)


class TestReassign:
    async def test_a_manager_hands_the_selected_leads_to_another_broker(
        self, manager_console: Console, db: Database, tenant: Tenant, manager: User, two_leads: list[Lead]
    ) -> None:
        colleague = await factories.make_user(db, tenant, role=Role.BROKER, name="Carla Corretora")
        response = await _bulk(
            manager_console, _picked(two_leads, action="reassign", owner_id=str(colleague.id), back="source=")
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/app/leads?done=2"
        assert [lead.owner_id for lead in await _leads(db, tenant, two_leads)] == [colleague.id, colleague.id]
        assert "2 leads atualizados" in (await manager_console.get("/app/leads?done=2")).text

    async def test_each_reassignment_is_recorded_published_and_audited_as_a_single_one(
        self, manager_console: Console, db: Database, tenant: Tenant, manager: User, two_leads: list[Lead]
    ) -> None:
        colleague = await factories.make_user(db, tenant, role=Role.BROKER)
        await _bulk(manager_console, _picked(two_leads, action="reassign", owner_id=str(colleague.id)))
        ids = {lead.id for lead in two_leads}
        async with db.session(factories.owner_scope(tenant)) as session:
            assignments = list((await session.execute(select(LeadAssignment))).scalars())
            events = list((await session.execute(select(OutboxMessage))).scalars())
            updates = select(AuditEntry).where(AuditEntry.entity_type == "leads", AuditEntry.action == "update")
            audit = list((await session.execute(updates)).scalars())
        assert {(a.lead_id, a.reason, a.assigned_by_id) for a in assignments} == {(i, "bulk", manager.id) for i in ids}
        assert {e.payload["lead_id"] for e in events if e.event_name == "lead.assigned"} == {str(i) for i in ids}
        assert {(e.entity_id, e.action, e.actor_id) for e in audit} == {(i, "update", manager.id) for i in ids}

    async def test_a_broker_does_not_get_the_reassign_control_and_is_refused(
        self, broker_console: Console, db: Database, tenant: Tenant, broker: User, two_leads: list[Lead]
    ) -> None:
        html = (await broker_console.get("/app/leads")).text
        assert 'value="reassign"' not in html
        assert 'value="move"' in html
        colleague = await factories.make_user(db, tenant, role=Role.BROKER)
        response = await _bulk(broker_console, _picked(two_leads, action="reassign", owner_id=str(colleague.id)))
        assert response.status_code == 403
        assert [lead.owner_id for lead in await _leads(db, tenant, two_leads)] == [broker.id, broker.id]


class TestMove:
    async def test_moves_the_selected_leads_and_each_lead_page_shows_the_move(
        self, broker_console: Console, db: Database, tenant: Tenant, two_leads: list[Lead], stages: list[Stage]
    ) -> None:
        response = await _bulk(broker_console, _picked(two_leads, action="move", stage_id=str(stages[1].id)))
        assert response.status_code == 303
        assert [lead.stage_id for lead in await _leads(db, tenant, two_leads)] == [stages[1].id, stages[1].id]
        html = (await broker_console.get(f"/app/leads/{two_leads[0].id}")).text
        assert 'class="tl-stage_move"' in html
        async with db.session(factories.owner_scope(tenant)) as session:
            names = [m.event_name for m in (await session.execute(select(OutboxMessage))).scalars()]
        assert names.count("lead.stage_changed") == 2

    async def test_a_move_the_funnel_refuses_changes_no_lead_and_lists_each_refusal_with_its_reason(
        self, broker_console: Console, db: Database, tenant: Tenant, two_leads: list[Lead], stages: list[Stage]
    ) -> None:
        lost = stages[-1]
        response = await _bulk(
            broker_console, _picked(two_leads, action="move", stage_id=str(lost.id), back="source=site")
        )
        assert response.status_code == 422
        html = response.text
        assert 'id="bulk-refusals"' in html
        assert "Maria Silva" in html
        assert "João Souza" in html
        assert html.count(f"A etapa {lost.name} é de perda: informe o motivo da perda") == 2  # each, in pt-BR
        assert 'name="back" value="source=site"' in html  # the list keeps its filters
        assert [lead.stage_id for lead in await _leads(db, tenant, two_leads)] == [stages[0].id, stages[0].id]

    async def test_a_move_to_lost_with_a_reason_closes_the_leads(
        self, broker_console: Console, db: Database, tenant: Tenant, two_leads: list[Lead], stages: list[Stage]
    ) -> None:
        async with db.session(factories.owner_scope(tenant)) as session:
            reason = LossReason(name="Comprou com outro")
            session.add(reason)
        response = await _bulk(
            broker_console,
            _picked(two_leads, action="move", stage_id=str(stages[-1].id), loss_reason_id=str(reason.id)),
        )
        assert response.status_code == 303
        assert {lead.loss_reason_id for lead in await _leads(db, tenant, two_leads)} == {reason.id}


class TestTag:
    async def test_adds_the_tags_to_the_selected_leads_and_the_tag_filter_finds_them(
        self, broker_console: Console, db: Database, tenant: Tenant, two_leads: list[Lead]
    ) -> None:
        response = await _bulk(broker_console, _picked(two_leads[:1], action="tag", tags="investidor, vip"))
        assert response.status_code == 303
        assert [lead.tags for lead in await _leads(db, tenant, two_leads)] == [["investidor", "vip"], []]
        html = (await broker_console.get("/app/leads?tag=investidor")).text
        assert "Maria Silva" in html
        assert "João Souza" not in html


class TestRefusals:
    async def test_nothing_selected_is_refused(self, broker_console: Console, two_leads: list[Lead]) -> None:
        response = await _bulk(broker_console, {"action": "tag", "tags": "vip"})
        assert response.status_code == 422

    async def test_a_post_without_csrf_changes_nothing(
        self, broker_console: Console, db: Database, tenant: Tenant, two_leads: list[Lead]
    ) -> None:
        response = await _bulk(broker_console, _picked(two_leads, action="tag", tags="vip"), csrf="")
        assert response.status_code == 403
        assert [lead.tags for lead in await _leads(db, tenant, two_leads)] == [[], []]

    async def test_another_brokers_lead_is_not_found_and_none_changes(
        self, app: FastAPI, db: Database, tenant: Tenant, two_leads: list[Lead]
    ) -> None:
        other = await factories.make_user(db, tenant, role=Role.BROKER)
        async with logged_in_console(app, tenant, other) as console:
            response = await _bulk(console, _picked(two_leads, action="tag", tags="vip"))
        assert response.status_code == 404
        assert [lead.tags for lead in await _leads(db, tenant, two_leads)] == [[], []]

    async def test_another_tenants_lead_is_not_found(
        self, app: FastAPI, db: Database, tenant: Tenant, other_tenant: Tenant, two_leads: list[Lead]
    ) -> None:
        rival = await factories.make_user(db, other_tenant, role=Role.OWNER)
        async with logged_in_console(app, other_tenant, rival) as console:
            response = await _bulk(console, _picked(two_leads, action="tag", tags="vip"))
            unknown = await _bulk(console, {"lead_ids": [str(uuid.uuid4())], "action": "tag", "tags": "vip"})
        assert response.status_code == 404
        assert unknown.status_code == 404
        assert "Maria Silva" not in response.text
        assert [lead.tags for lead in await _leads(db, tenant, two_leads)] == [[], []]
