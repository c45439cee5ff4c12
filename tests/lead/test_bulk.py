"""Bulk actions on up to 500 leads: reassign, move, tag and untag change every lead or none, and a refusal lists each
failing lead; ids the actor cannot see are a 404."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from leadflow.kit.db import Database
from leadflow.models import Lead, LeadAssignment, Tenant, User
from tests import factories
from tests.lead.factories import DefaultFunnel, lead_in, make_default_funnel, read_lead


@pytest.fixture
async def funnel(db: Database, tenant: Tenant) -> DefaultFunnel:
    return await make_default_funnel(db, tenant)


@pytest.fixture
async def leads(db: Database, tenant: Tenant, funnel: DefaultFunnel, broker: User) -> list[Lead]:
    return [await lead_in(db, tenant, funnel.stage("Novo"), owner=broker, tags=["site"]) for _ in range(3)]


async def _bulk(client: httpx.AsyncClient, leads: list[Lead], action: str, **body: Any) -> httpx.Response:
    return await client.post(
        "/v1/leads/bulk", json={"lead_ids": [str(lead.id) for lead in leads], "action": action, **body}
    )


class TestBulkMove:
    async def test_every_lead_moves_with_its_history(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, funnel: DefaultFunnel, leads: list[Lead]
    ) -> None:
        response = await _bulk(as_owner, leads, "move", stage_id=str(funnel.stage("Em atendimento").id))
        assert response.status_code == 200, response.text
        assert response.json()["count"] == 3
        for lead in leads:
            assert (await read_lead(db, tenant, lead.id)).stage_id == funnel.stage("Em atendimento").id
            history = (await as_owner.get(f"/v1/leads/{lead.id}/history")).json()["items"]
            assert history[-1]["to_stage_name"] == "Em atendimento"

    async def test_one_refusing_lead_stops_all_and_is_named(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, funnel: DefaultFunnel, leads: list[Lead]
    ) -> None:
        prop = await factories.make_property(db, tenant)
        ready = await lead_in(db, tenant, funnel.stage("Visita agendada"), property_id=prop.id, value_cents=1_000)
        batch = [ready, *leads]
        response = await _bulk(as_owner, batch, "move", stage_id=str(funnel.stage("Proposta").id))
        assert response.status_code == 422
        errors = response.json()["errors"]
        assert [e["field"] for e in errors] == ["lead_ids.1", "lead_ids.2", "lead_ids.3"]
        assert {e["lead_id"] for e in errors} == {str(lead.id) for lead in leads}
        assert errors[0]["message"] == "stage Proposta requires property_id, value_cents"
        assert (await read_lead(db, tenant, ready.id)).stage_id == funnel.stage("Visita agendada").id

    async def test_a_lost_stage_takes_the_reason_for_all(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, funnel: DefaultFunnel, leads: list[Lead]
    ) -> None:
        refused = await _bulk(as_owner, leads, "move", stage_id=str(funnel.stage("Perdido").id))
        assert refused.status_code == 422
        reason = funnel.loss_reasons["Sem retorno"]
        response = await _bulk(
            as_owner, leads, "move", stage_id=str(funnel.stage("Perdido").id), loss_reason_id=str(reason.id)
        )
        assert response.status_code == 200
        stored = await read_lead(db, tenant, leads[0].id)
        assert (stored.status.value, stored.loss_reason_id) == ("lost", reason.id)

    async def test_a_broker_moves_their_own_leads(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel, leads: list[Lead]
    ) -> None:
        response = await _bulk(as_broker, leads, "move", stage_id=str(funnel.stage("Visita agendada").id))
        assert response.status_code == 200


class TestBulkTags:
    async def test_tags_are_added_once_and_removed(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, leads: list[Lead]
    ) -> None:
        assert (await _bulk(as_broker, leads, "tag", tags=["site", "vip"])).status_code == 200
        assert (await read_lead(db, tenant, leads[0].id)).tags == ["site", "vip"]
        assert (await _bulk(as_broker, leads, "untag", tags=["site"])).status_code == 200
        assert (await read_lead(db, tenant, leads[2].id)).tags == ["vip"]

    async def test_an_action_without_its_parameter_is_refused(
        self, as_broker: httpx.AsyncClient, leads: list[Lead]
    ) -> None:
        response = await _bulk(as_broker, leads, "tag")
        assert response.status_code == 422


class TestBulkReassign:
    async def test_a_manager_reassigns_and_each_is_recorded_as_bulk(
        self,
        as_owner: httpx.AsyncClient,
        db: Database,
        tenant: Tenant,
        leads: list[Lead],
        manager: User,
    ) -> None:
        response = await _bulk(as_owner, leads, "reassign", owner_id=str(manager.id))
        assert response.status_code == 200, response.text
        for lead in leads:
            assert (await read_lead(db, tenant, lead.id)).owner_id == manager.id
        async with db.session(factories.owner_scope(tenant)) as session:
            reasons = (await session.execute(select(LeadAssignment.reason))).scalars().all()
        assert list(reasons) == ["bulk"] * 3

    async def test_a_broker_cannot_reassign_in_bulk(
        self, as_broker: httpx.AsyncClient, leads: list[Lead], broker: User
    ) -> None:
        assert (await _bulk(as_broker, leads, "reassign", owner_id=str(broker.id))).status_code == 403


class TestBulkLimits:
    async def test_ids_the_actor_cannot_see_are_a_404_naming_them_and_nothing_changes(
        self,
        as_broker: httpx.AsyncClient,
        db: Database,
        tenant: Tenant,
        funnel: DefaultFunnel,
        leads: list[Lead],
    ) -> None:
        colleague = await factories.make_user(db, tenant)
        theirs = await lead_in(db, tenant, funnel.stage("Novo"), owner=colleague)
        response = await _bulk(as_broker, [*leads, theirs], "tag", tags=["x"])
        assert response.status_code == 404
        assert response.json()["errors"] == [{"field": "lead_ids.3", "message": f"no such lead {theirs.id}"}]
        assert (await read_lead(db, tenant, leads[0].id)).tags == ["site"]

    async def test_more_than_500_ids_are_refused(self, as_owner: httpx.AsyncClient) -> None:
        body = {"lead_ids": [str(uuid.uuid4()) for _ in range(501)], "action": "tag", "tags": ["x"]}
        assert (await as_owner.post("/v1/leads/bulk", json=body)).status_code == 422

    async def test_a_viewer_cannot_act_in_bulk(self, as_viewer: httpx.AsyncClient, leads: list[Lead]) -> None:
        assert (await _bulk(as_viewer, leads, "tag", tags=["x"])).status_code == 403
