"""Moving a lead through its funnel: restricted transitions and required fields refuse with a 422 naming the rule,
won and lost stages close the lead, open stages reopen it, and every move and assignment is in its history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from leadflow.kit.db import Database
from leadflow.kit.ids import new_id
from leadflow.kit.time import utcnow
from leadflow.lead.rules import Funnel, check_move, first_open_stage, missing_requirements, reordered
from leadflow.models import Lead, Pipeline, Stage, StageKind, Tenant, User
from tests import factories
from tests.lead.factories import DefaultFunnel, lead_in, make_default_funnel, read_lead, set_lead


@pytest.fixture
async def funnel(db: Database, tenant: Tenant) -> DefaultFunnel:
    return await make_default_funnel(db, tenant)


@pytest.fixture
async def lead(db: Database, tenant: Tenant, funnel: DefaultFunnel, broker: User) -> Lead:
    return await lead_in(db, tenant, funnel.stage("Novo"), owner=broker)


async def _move(client: httpx.AsyncClient, lead: Lead, stage: Stage, **body: Any) -> httpx.Response:
    return await client.post(f"/v1/leads/{lead.id}/move", json={"stage_id": str(stage.id), **body})


async def _restrict(client: httpx.AsyncClient, funnel: DefaultFunnel, *pairs: tuple[str, str]) -> None:
    transitions = [{"from_stage_id": str(funnel.stage(a).id), "to_stage_id": str(funnel.stage(b).id)} for a, b in pairs]
    body = {"restrict_transitions": True, "transitions": transitions}
    response = await client.put(f"/v1/pipelines/{funnel.venda.id}/transitions", json=body)
    assert response.status_code == 200, response.text


class TestRestrictedTransitions:
    async def test_an_illegal_move_is_refused_naming_the_rule(
        self, as_broker: httpx.AsyncClient, as_manager: httpx.AsyncClient, funnel: DefaultFunnel, lead: Lead
    ) -> None:
        await _restrict(as_manager, funnel, ("Novo", "Em atendimento"))
        response = await _move(as_broker, lead, funnel.stage("Ganho"))
        assert response.status_code == 422
        problem = response.json()
        assert problem["detail"] == "pipeline Venda does not allow moving from Novo to Ganho"
        assert problem["type"].endswith("/stage-transition-not-allowed")
        assert problem["errors"][0]["field"] == "stage_id"

    async def test_a_configured_move_is_allowed(
        self, as_broker: httpx.AsyncClient, as_manager: httpx.AsyncClient, funnel: DefaultFunnel, lead: Lead
    ) -> None:
        await _restrict(as_manager, funnel, ("Novo", "Em atendimento"))
        response = await _move(as_broker, lead, funnel.stage("Em atendimento"))
        assert response.status_code == 200, response.text
        assert response.json()["stage_id"] == str(funnel.stage("Em atendimento").id)

    async def test_without_restriction_any_move_is_allowed(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel, lead: Lead
    ) -> None:
        assert (await _move(as_broker, lead, funnel.stage("Visita agendada"))).status_code == 200

    async def test_a_stage_of_another_pipeline_is_refused(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel, lead: Lead
    ) -> None:
        response = await _move(as_broker, lead, funnel.rental_stages["Em atendimento"])
        assert response.status_code == 422
        assert response.json()["detail"] == "stage Em atendimento is not in pipeline Venda"
        assert response.json()["type"].endswith("/stage-of-another-pipeline")

    async def test_an_archived_stage_is_refused(
        self, as_broker: httpx.AsyncClient, as_manager: httpx.AsyncClient, funnel: DefaultFunnel, lead: Lead
    ) -> None:
        await as_manager.delete(f"/v1/stages/{funnel.stage('Visita agendada').id}")
        response = await _move(as_broker, lead, funnel.stage("Visita agendada"))
        assert response.status_code == 422
        assert "archived" in response.json()["detail"]


class TestRequiredFields:
    async def test_entering_proposta_without_property_and_value_is_refused_naming_each(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel, lead: Lead
    ) -> None:
        response = await _move(as_broker, lead, funnel.stage("Proposta"))
        assert response.status_code == 422
        problem = response.json()
        assert problem["detail"] == "stage Proposta requires property_id, value_cents"
        assert problem["type"].endswith("/stage-requirements-missing")
        assert [e["field"] for e in problem["errors"]] == ["property_id", "value_cents"]

    async def test_once_they_are_set_the_lead_enters(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, funnel: DefaultFunnel, lead: Lead
    ) -> None:
        prop = await factories.make_property(db, tenant)
        patched = await as_broker.patch(
            f"/v1/leads/{lead.id}", json={"property_id": str(prop.id), "value_cents": 64_000_000}
        )
        assert patched.status_code == 200, patched.text
        assert (await _move(as_broker, lead, funnel.stage("Proposta"))).status_code == 200

    async def test_a_required_custom_field_is_checked(
        self, as_broker: httpx.AsyncClient, as_manager: httpx.AsyncClient, funnel: DefaultFunnel, lead: Lead
    ) -> None:
        stage = funnel.stage("Visita agendada")
        await as_manager.patch(f"/v1/stages/{stage.id}", json={"required_fields": ["custom_fields.banco"]})
        response = await _move(as_broker, lead, stage)
        assert response.json()["detail"] == "stage Visita agendada requires custom_fields.banco"


class TestWinningAndLosing:
    async def test_a_won_stage_wins_and_closes_the_lead(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel, lead: Lead
    ) -> None:
        won = (await _move(as_broker, lead, funnel.stage("Ganho"))).json()
        assert won["status"] == "won"
        assert won["closed_at"] is not None

    async def test_a_lost_stage_needs_a_loss_reason(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel, lead: Lead
    ) -> None:
        response = await _move(as_broker, lead, funnel.stage("Perdido"))
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "loss_reason_id"
        assert response.json()["type"].endswith("/loss-reason-required")

    async def test_with_a_reason_the_lead_is_lost(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel, lead: Lead
    ) -> None:
        reason = funnel.loss_reasons["Comprou com outro"]
        lost = await _move(
            as_broker, lead, funnel.stage("Perdido"), loss_reason_id=str(reason.id), loss_note="Fechou na Mooca"
        )
        assert lost.status_code == 200, lost.text
        body = lost.json()
        assert (body["status"], body["loss_reason_id"], body["loss_note"]) == (
            "lost",
            str(reason.id),
            "Fechou na Mooca",
        )
        assert body["closed_at"] is not None

    async def test_moving_back_to_an_open_stage_reopens(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel, lead: Lead
    ) -> None:
        reason = funnel.loss_reasons["Preço"]
        await _move(as_broker, lead, funnel.stage("Perdido"), loss_reason_id=str(reason.id))
        reopened = (await _move(as_broker, lead, funnel.stage("Em atendimento"))).json()
        assert (reopened["status"], reopened["closed_at"], reopened["loss_reason_id"]) == ("open", None, None)

    async def test_a_deleted_loss_reason_cannot_be_given(
        self, as_broker: httpx.AsyncClient, as_manager: httpx.AsyncClient, funnel: DefaultFunnel, lead: Lead
    ) -> None:
        reason = funnel.loss_reasons["Preço"]
        await as_manager.delete(f"/v1/loss-reasons/{reason.id}")
        response = await _move(as_broker, lead, funnel.stage("Perdido"), loss_reason_id=str(reason.id))
        assert response.status_code == 404
        assert response.json()["errors"][0]["field"] == "loss_reason_id"

    async def test_moving_to_the_current_stage_changes_nothing(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel, lead: Lead
    ) -> None:
        assert (await _move(as_broker, lead, funnel.stage("Novo"))).status_code == 200
        history = (await as_broker.get(f"/v1/leads/{lead.id}/history")).json()["items"]
        assert history == []  # the factory's lead has no recorded entry, and the no-op added none


class TestStageHistory:
    async def test_each_move_records_from_to_who_and_the_time_spent(
        self,
        as_broker: httpx.AsyncClient,
        db: Database,
        tenant: Tenant,
        funnel: DefaultFunnel,
        lead: Lead,
        broker: User,
    ) -> None:
        await set_lead(db, tenant, lead, stage_entered_at=utcnow() - timedelta(hours=2))
        await _move(as_broker, lead, funnel.stage("Em atendimento"))
        await set_lead(db, tenant, lead, stage_entered_at=utcnow() - timedelta(minutes=30))
        await _move(as_broker, lead, funnel.stage("Visita agendada"))
        moves = (await as_broker.get(f"/v1/leads/{lead.id}/history")).json()["items"]
        assert [(m["from_stage_name"], m["to_stage_name"]) for m in moves] == [
            ("Novo", "Em atendimento"),
            ("Em atendimento", "Visita agendada"),
        ]
        assert 7200 <= moves[0]["seconds_in_previous"] < 7260
        assert 1800 <= moves[1]["seconds_in_previous"] < 1860
        assert {m["by_id"] for m in moves} == {str(broker.id)}

    async def test_the_stage_entry_time_restarts_on_each_move(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, funnel: DefaultFunnel, lead: Lead
    ) -> None:
        before = utcnow()
        await _move(as_broker, lead, funnel.stage("Em atendimento"))
        stored = await read_lead(db, tenant, lead.id)
        assert stored.stage_entered_at is not None
        assert stored.stage_entered_at >= before

    async def test_an_archived_stage_keeps_its_name_in_the_history(
        self, as_broker: httpx.AsyncClient, as_manager: httpx.AsyncClient, funnel: DefaultFunnel, lead: Lead
    ) -> None:
        await _move(as_broker, lead, funnel.stage("Visita agendada"))
        await _move(as_broker, lead, funnel.stage("Novo"))
        await as_manager.delete(f"/v1/stages/{funnel.stage('Visita agendada').id}")
        moves = (await as_broker.get(f"/v1/leads/{lead.id}/history")).json()["items"]
        assert moves[0]["to_stage_name"] == "Visita agendada"


class TestAssignment:
    async def test_a_manager_reassigns_and_it_is_recorded_with_the_reason(
        self,
        as_manager: httpx.AsyncClient,
        db: Database,
        tenant: Tenant,
        funnel: DefaultFunnel,
        manager: User,
        broker: User,
    ) -> None:
        team = await factories.make_team(db, tenant, "Campinas", [manager])
        lead = await lead_in(db, tenant, funnel.stage("Novo"), team_id=team.id)
        other = await factories.make_user(db, tenant, name="Bruno Oliveira")
        first = await as_manager.post(f"/v1/leads/{lead.id}/assign", json={"owner_id": str(broker.id)})
        assert first.status_code == 200, first.text
        assert (first.json()["owner_id"], first.json()["team_id"]) == (str(broker.id), str(team.id))
        await as_manager.post(
            f"/v1/leads/{lead.id}/assign", json={"owner_id": str(other.id), "reason": "Férias da Ana"}
        )
        history = (await as_manager.get(f"/v1/leads/{lead.id}/history")).json()["items"]
        assignments = [h for h in history if h["kind"] == "assignment"]
        assert [(a["from_user_id"], a["to_user_id"]) for a in assignments] == [
            (None, str(broker.id)),
            (str(broker.id), str(other.id)),
        ]
        assert assignments[1]["note"] == "Férias da Ana"
        assert {a["reason"] for a in assignments} == {"manual"}
        assert {a["by_id"] for a in assignments} == {str(manager.id)}

    async def test_a_broker_takes_a_pool_lead_but_cannot_hand_leads_to_others(
        self,
        as_broker: httpx.AsyncClient,
        db: Database,
        tenant: Tenant,
        funnel: DefaultFunnel,
        broker: User,
        lead: Lead,
        manager: User,
    ) -> None:
        response = await as_broker.post(f"/v1/leads/{lead.id}/assign", json={"owner_id": str(manager.id)})
        assert response.status_code == 403
        assert (await as_broker.post(f"/v1/leads/{lead.id}/assign", json={"owner_id": None})).status_code == 403
        mine = await as_broker.post(f"/v1/leads/{lead.id}/assign", json={"owner_id": str(broker.id)})
        assert mine.status_code == 200

    async def test_a_manager_returns_a_lead_to_the_pool_and_moves_it_between_teams(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead, manager: User, broker: User
    ) -> None:
        team = await factories.make_team(db, tenant, "Litoral", [manager, broker])
        response = await as_manager.post(
            f"/v1/leads/{lead.id}/assign", json={"owner_id": None, "team_id": str(team.id)}
        )
        assert response.status_code == 200, response.text
        assert (response.json()["owner_id"], response.json()["team_id"]) == (None, str(team.id))


class TestHistoryOrder:
    async def test_moves_and_assignments_interleave_in_time_order(
        self,
        as_manager: httpx.AsyncClient,
        funnel: DefaultFunnel,
        manager: User,
        broker: User,
        db: Database,
        tenant: Tenant,
    ) -> None:
        await factories.make_team(db, tenant, "Centro", [manager, broker])
        person = await factories.make_person(db, tenant)
        created = (await as_manager.post("/v1/leads", json={"person_id": str(person.id)})).json()
        await as_manager.post(f"/v1/leads/{created['id']}/assign", json={"owner_id": str(broker.id)})
        await as_manager.post(f"/v1/leads/{created['id']}/move", json={"stage_id": str(funnel.stage("Ganho").id)})
        history = (await as_manager.get(f"/v1/leads/{created['id']}/history")).json()["items"]
        assert [h["kind"] for h in history] == ["stage_move", "assignment", "stage_move"]
        assert history[0]["from_stage_id"] is None
        assert [h["at"] for h in history] == sorted(h["at"] for h in history)


def _stage(pipeline: Pipeline, name: str, position: int, kind: StageKind = StageKind.OPEN, **kw: Any) -> Stage:
    kw.setdefault("required_fields", [])
    return Stage(id=new_id(), pipeline_id=pipeline.id, name=name, position=position, kind=kind, is_active=True, **kw)


class TestRulesWithoutADatabase:
    """The pure rules, exercised directly: the HTTP tests above show the same answers end to end."""

    def _funnel(self, *, restrict: bool) -> tuple[Funnel, list[Stage]]:
        pipeline = Pipeline(id=new_id(), name="Venda", restrict_transitions=restrict)
        stages = [
            _stage(pipeline, "Novo", 0),
            _stage(pipeline, "Proposta", 1, required_fields=["value_cents", "custom_fields.banco"]),
            _stage(pipeline, "Perdido", 2, StageKind.LOST),
        ]
        return Funnel(pipeline, {s.id: s for s in stages}, frozenset()), stages

    def test_requirements_read_columns_and_custom_fields(self) -> None:
        _, stages = self._funnel(restrict=False)
        lead = Lead(value_cents=0, custom_fields={"banco": ""})
        assert missing_requirements(lead, stages[1]) == ["custom_fields.banco"]

    def test_the_transition_is_checked_before_the_requirements(self) -> None:
        funnel, stages = self._funnel(restrict=True)
        lead = Lead(stage_id=stages[0].id, custom_fields={})
        refusal = check_move(lead, stages[1], funnel, loss_reason_id=None)
        assert refusal is not None
        assert refusal.code == "stage-transition-not-allowed"

    def test_an_allowed_lost_move_still_needs_a_reason(self) -> None:
        funnel, stages = self._funnel(restrict=True)
        funnel = Funnel(funnel.pipeline, funnel.stages, frozenset({(stages[0].id, stages[2].id)}))
        lead = Lead(stage_id=stages[0].id, custom_fields={})
        refusal = check_move(lead, stages[2], funnel, loss_reason_id=None)
        assert refusal is not None
        assert refusal.code == "loss-reason-required"

    def test_the_first_open_stage_skips_archived_ones(self) -> None:
        _, stages = self._funnel(restrict=False)
        stages[0].is_active = False
        assert first_open_stage(stages) is stages[1]

    def test_reordering_clamps_and_renumbers(self) -> None:
        _, stages = self._funnel(restrict=False)
        for stage in stages:
            stage.created_at = utcnow()
        reordered(stages, stages[0], 99)
        assert sorted((s.position, s.name) for s in stages) == [(0, "Proposta"), (1, "Perdido"), (2, "Novo")]
