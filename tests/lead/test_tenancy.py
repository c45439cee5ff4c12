"""Cross-tenant twins: another tenant's pipelines, stages, loss reasons and leads are 404 on every route, never
listed, never changed; and their ids (or their users', teams', people's, properties') inside a body are 404 naming
the field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from leadflow.kit.db import Database
from leadflow.models import Development, Lead, Person, Property, Role, Team, Tenant, User
from tests import factories
from tests.lead.factories import DefaultFunnel, lead_in, make_default_funnel, read_lead
from tests.property.factories import make_development


@dataclass
class Rival:
    funnel: DefaultFunnel
    lead: Lead
    broker: User
    team: Team
    person: Person
    prop: Property
    development: Development


@pytest.fixture
async def rival(db: Database, other_tenant: Tenant) -> Rival:
    funnel = await make_default_funnel(db, other_tenant)
    broker = await factories.make_user(db, other_tenant, role=Role.BROKER, name="Corretor Rival")
    team = await factories.make_team(db, other_tenant, "Equipe Rival", [broker])
    lead = await lead_in(db, other_tenant, funnel.stage("Novo"), owner=broker, name="Cliente Rival")
    person = await factories.make_person(db, other_tenant, name="Pessoa Rival")
    prop = await factories.make_property(db, other_tenant, reference="AP-RIVAL")
    development = await make_development(db, other_tenant, name="Residencial Rival")
    return Rival(funnel, lead, broker, team, person, prop, development)


@pytest.fixture
async def ours(db: Database, tenant: Tenant) -> DefaultFunnel:
    return await make_default_funnel(db, tenant)


def _routes(r: Rival) -> list[tuple[str, str, dict[str, Any] | None]]:
    p, s, lead = r.funnel.venda.id, r.funnel.stage("Em atendimento").id, r.lead.id
    reason = r.funnel.loss_reasons["Preço"].id
    return [
        ("GET", f"/v1/pipelines/{p}", None),
        ("PATCH", f"/v1/pipelines/{p}", {"name": "Invadido"}),
        ("DELETE", f"/v1/pipelines/{p}", None),
        ("PUT", f"/v1/pipelines/{p}/transitions", {"transitions": []}),
        ("POST", f"/v1/pipelines/{p}/stages", {"name": "Invadido"}),
        ("PATCH", f"/v1/stages/{s}", {"name": "Invadido"}),
        ("DELETE", f"/v1/stages/{s}", None),
        ("DELETE", f"/v1/loss-reasons/{reason}", None),
        ("GET", f"/v1/leads/{lead}", None),
        ("PATCH", f"/v1/leads/{lead}", {"title": "Invadido"}),
        ("DELETE", f"/v1/leads/{lead}", None),
        ("POST", f"/v1/leads/{lead}/restore", None),
        ("POST", f"/v1/leads/{lead}/move", {"stage_id": str(s)}),
        ("POST", f"/v1/leads/{lead}/assign", {"owner_id": None}),
        ("GET", f"/v1/leads/{lead}/history", None),
        ("POST", "/v1/leads/bulk", {"lead_ids": [str(lead)], "action": "tag", "tags": ["x"]}),
    ]


class TestAnotherTenantsRows:
    async def test_every_route_answers_404_for_another_tenants_ids(
        self, as_owner: httpx.AsyncClient, rival: Rival, ours: DefaultFunnel
    ) -> None:
        for method, path, body in _routes(rival):
            response = await as_owner.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
            assert "Rival" not in response.text

    async def test_another_tenants_rows_are_untouched(
        self, as_owner: httpx.AsyncClient, rival: Rival, db: Database, other_tenant: Tenant
    ) -> None:
        for method, path, body in _routes(rival):
            await as_owner.request(method, path, json=body)
        lead = await read_lead(db, other_tenant, rival.lead.id)
        assert (lead.title, lead.deleted_at, lead.owner_id, lead.tags) == (None, None, rival.broker.id, [])
        pipelines = (await make_default_funnel(db, other_tenant)).stages
        assert list(pipelines) == ["Novo", "Em atendimento", "Visita agendada", "Proposta", "Ganho", "Perdido"]

    async def test_lists_show_nothing_of_another_tenant(
        self, as_owner: httpx.AsyncClient, rival: Rival, ours: DefaultFunnel
    ) -> None:
        assert (await as_owner.get("/v1/leads")).json()["items"] == []
        assert (await as_owner.get("/v1/leads", params={"q": "Rival"})).json()["items"] == []
        pipelines = (await as_owner.get("/v1/pipelines")).json()["items"]
        assert {p["id"] for p in pipelines} == {str(ours.venda.id), str(ours.locacao.id)}
        reasons = (await as_owner.get("/v1/loss-reasons")).json()["items"]
        assert {r["id"] for r in reasons} == {str(r.id) for r in ours.loss_reasons.values()}


class TestAnotherTenantsIdsInBodies:
    @pytest.fixture
    async def person(self, db: Database, tenant: Tenant) -> Person:
        return await factories.make_person(db, tenant)

    async def _refused(self, response: httpx.Response, field: str) -> None:
        assert response.status_code == 404, response.text
        assert response.json()["errors"][0]["field"] == field
        assert "Rival" not in response.text

    async def test_creating_a_lead_with_any_of_their_ids_is_404_naming_the_field(
        self, as_owner: httpx.AsyncClient, rival: Rival, ours: DefaultFunnel, person: Person
    ) -> None:
        base = {"person_id": str(person.id)}
        for field, value in [
            ("person_id", rival.person.id),
            ("pipeline_id", rival.funnel.venda.id),
            ("stage_id", rival.funnel.stage("Novo").id),
            ("owner_id", rival.broker.id),
            ("team_id", rival.team.id),
            ("property_id", rival.prop.id),
            ("development_id", rival.development.id),
            ("loss_reason_id", rival.funnel.loss_reasons["Preço"].id),
        ]:
            response = await as_owner.post("/v1/leads", json={**base, field: str(value)})
            await self._refused(response, field)

    async def test_editing_moving_and_assigning_with_their_ids_is_404(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, rival: Rival, ours: DefaultFunnel
    ) -> None:
        lead = await lead_in(db, tenant, ours.stage("Novo"))
        path = f"/v1/leads/{lead.id}"
        await self._refused(await as_owner.patch(path, json={"property_id": str(rival.prop.id)}), "property_id")
        dev = {"development_id": str(rival.development.id)}
        await self._refused(await as_owner.patch(path, json=dev), "development_id")
        move = {"stage_id": str(rival.funnel.stage("Ganho").id)}
        await self._refused(await as_owner.post(f"{path}/move", json=move), "stage_id")
        lost = {"stage_id": str(ours.stage("Perdido").id), "loss_reason_id": str(rival.funnel.loss_reasons["Preço"].id)}
        await self._refused(await as_owner.post(f"{path}/move", json=lost), "loss_reason_id")
        owner = {"owner_id": str(rival.broker.id)}
        await self._refused(await as_owner.post(f"{path}/assign", json=owner), "owner_id")
        team = {"owner_id": None, "team_id": str(rival.team.id)}
        await self._refused(await as_owner.post(f"{path}/assign", json=team), "team_id")

    async def test_bulk_actions_with_their_ids_are_404(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, rival: Rival, ours: DefaultFunnel
    ) -> None:
        lead = await lead_in(db, tenant, ours.stage("Novo"))
        ids = [str(lead.id)]
        reassign = {"lead_ids": ids, "action": "reassign", "owner_id": str(rival.broker.id)}
        await self._refused(await as_owner.post("/v1/leads/bulk", json=reassign), "owner_id")
        move = {"lead_ids": ids, "action": "move", "stage_id": str(rival.funnel.stage("Ganho").id)}
        await self._refused(await as_owner.post("/v1/leads/bulk", json=move), "stage_id")
        mixed = {"lead_ids": [*ids, str(rival.lead.id)], "action": "tag", "tags": ["x"]}
        await self._refused(await as_owner.post("/v1/leads/bulk", json=mixed), "lead_ids.1")

    async def test_transitions_naming_their_stages_are_404(
        self, as_owner: httpx.AsyncClient, rival: Rival, ours: DefaultFunnel
    ) -> None:
        pair = {"from_stage_id": str(ours.stage("Novo").id), "to_stage_id": str(rival.funnel.stage("Ganho").id)}
        response = await as_owner.put(f"/v1/pipelines/{ours.venda.id}/transitions", json={"transitions": [pair]})
        await self._refused(response, "transitions.0.to_stage_id")
