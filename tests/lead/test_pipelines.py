"""Managers configure funnels: pipelines with ordered stages, allowed transitions and loss reasons; everyone reads;
every tenant starts with "Venda" and "Locação"."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from leadflow.kit.db import Database
from leadflow.lead.funnel import DEFAULT_LOSS_REASONS, ensure_default_pipelines
from leadflow.models import Tenant, User
from tests import factories
from tests.lead.factories import DefaultFunnel, lead_in, make_default_funnel

LANCAMENTO: dict[str, Any] = {
    "name": "Lançamento Aurora",
    "stages": [
        {"name": "Cadastro", "probability": 5},
        {"name": "Visita ao decorado", "probability": 30, "color": "#8b5cf6"},
        {"name": "Reserva", "probability": 80, "required_fields": ["property_id", "value_cents"]},
        {"name": "Venda", "kind": "won", "probability": 100},
        {"name": "Desistiu", "kind": "lost"},
    ],
}


async def _create(client: httpx.AsyncClient, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await client.post("/v1/pipelines", json=body or LANCAMENTO)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _names(pipeline: dict[str, Any]) -> list[str]:
    return [s["name"] for s in pipeline["stages"]]


@pytest.fixture
async def funnel(db: Database, tenant: Tenant) -> DefaultFunnel:
    return await make_default_funnel(db, tenant)


class TestDefaultPipelines:
    async def test_venda_is_the_default_with_its_stages_and_requirements(
        self, as_viewer: httpx.AsyncClient, funnel: DefaultFunnel
    ) -> None:
        pipelines = (await as_viewer.get("/v1/pipelines")).json()["items"]
        by_name = {p["name"]: p for p in pipelines}
        assert _names(by_name["Venda"]) == ["Novo", "Em atendimento", "Visita agendada", "Proposta", "Ganho", "Perdido"]
        assert _names(by_name["Locação"]) == [
            "Novo",
            "Em atendimento",
            "Visita agendada",
            "Proposta",
            "Contrato",
            "Perdido",
        ]
        assert by_name["Venda"]["is_default"]
        assert not by_name["Locação"]["is_default"]
        stages = {s["name"]: s for s in by_name["Venda"]["stages"]}
        assert stages["Proposta"]["required_fields"] == ["property_id", "value_cents"]
        assert (stages["Ganho"]["kind"], stages["Perdido"]["kind"]) == ("won", "lost")
        assert [s["position"] for s in by_name["Venda"]["stages"]] == list(range(6))

    async def test_running_it_again_changes_nothing(self, db: Database, tenant: Tenant, funnel: DefaultFunnel) -> None:
        scope = factories.owner_scope(tenant)
        async with db.session(scope) as session:
            await ensure_default_pipelines(session, scope)
        again = await make_default_funnel(db, tenant)
        assert again.venda.id == funnel.venda.id
        assert {s.id for s in again.stages.values()} == {s.id for s in funnel.stages.values()}
        assert set(again.loss_reasons) == set(DEFAULT_LOSS_REASONS)

    async def test_a_deleted_default_pipeline_is_not_brought_back(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant, funnel: DefaultFunnel
    ) -> None:
        await as_manager.patch(f"/v1/pipelines/{funnel.locacao.id}", json={"is_default": True})
        assert (await as_manager.delete(f"/v1/pipelines/{funnel.venda.id}")).status_code == 204
        scope = factories.owner_scope(tenant)
        async with db.session(scope) as session:
            await ensure_default_pipelines(session, scope)
        names = [p["name"] for p in (await as_manager.get("/v1/pipelines")).json()["items"]]
        assert names == ["Locação"]

    async def test_common_loss_reasons_are_offered_in_portuguese(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel
    ) -> None:
        reasons = [r["name"] for r in (await as_broker.get("/v1/loss-reasons")).json()["items"]]
        assert sorted(reasons) == sorted(DEFAULT_LOSS_REASONS)


class TestConfiguringAPipeline:
    async def test_a_manager_creates_one_with_stages_in_order(self, as_manager: httpx.AsyncClient) -> None:
        pipeline = await _create(as_manager)
        assert _names(pipeline) == ["Cadastro", "Visita ao decorado", "Reserva", "Venda", "Desistiu"]
        assert pipeline["is_default"] is True  # the tenant's first pipeline
        assert pipeline["stages"][1]["color"] == "#8b5cf6"
        fetched = (await as_manager.get(f"/v1/pipelines/{pipeline['id']}")).json()
        assert fetched == pipeline

    async def test_making_another_pipeline_the_default_unsets_the_old_one(
        self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel
    ) -> None:
        pipeline = await _create(as_manager)
        assert pipeline["is_default"] is False
        response = await as_manager.patch(f"/v1/pipelines/{pipeline['id']}", json={"is_default": True})
        assert response.json()["is_default"] is True
        venda = (await as_manager.get(f"/v1/pipelines/{funnel.venda.id}")).json()
        assert venda["is_default"] is False

    async def test_a_duplicate_name_is_a_conflict(self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel) -> None:
        assert (await as_manager.post("/v1/pipelines", json={"name": "Venda"})).status_code == 409

    async def test_a_stage_added_at_a_position_shifts_the_others(
        self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel
    ) -> None:
        response = await as_manager.post(
            f"/v1/pipelines/{funnel.venda.id}/stages", json={"name": "Documentação", "position": 4}
        )
        assert response.status_code == 201, response.text
        pipeline = (await as_manager.get(f"/v1/pipelines/{funnel.venda.id}")).json()
        assert _names(pipeline)[3:6] == ["Proposta", "Documentação", "Ganho"]
        assert [s["position"] for s in pipeline["stages"]] == list(range(7))

    async def test_a_stage_is_renamed_recoloured_and_moved(
        self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel
    ) -> None:
        stage = funnel.stage("Visita agendada")
        response = await as_manager.patch(
            f"/v1/stages/{stage.id}", json={"name": "Visita marcada", "color": "#0ea5e9", "position": 0}
        )
        assert response.status_code == 200, response.text
        assert (response.json()["name"], response.json()["color"]) == ("Visita marcada", "#0ea5e9")
        pipeline = (await as_manager.get(f"/v1/pipelines/{funnel.venda.id}")).json()
        assert _names(pipeline)[:2] == ["Visita marcada", "Novo"]

    async def test_an_unknown_required_field_is_refused_naming_it(
        self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel
    ) -> None:
        response = await as_manager.patch(
            f"/v1/stages/{funnel.stage('Proposta').id}", json={"required_fields": ["value_cents", "password_hash"]}
        )
        assert response.status_code == 422
        assert "password_hash" in response.text
        assert response.json()["errors"][0]["field"] == "required_fields"

    async def test_a_custom_field_may_be_required(self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel) -> None:
        response = await as_manager.patch(
            f"/v1/stages/{funnel.stage('Proposta').id}", json={"required_fields": ["custom_fields.banco"]}
        )
        assert response.json()["required_fields"] == ["custom_fields.banco"]

    async def test_an_empty_stage_is_archived_and_leaves_the_pipeline(
        self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel
    ) -> None:
        stage = funnel.stage("Visita agendada")
        assert (await as_manager.delete(f"/v1/stages/{stage.id}")).status_code == 204
        pipeline = (await as_manager.get(f"/v1/pipelines/{funnel.venda.id}")).json()
        assert "Visita agendada" not in _names(pipeline)
        assert [s["position"] for s in pipeline["stages"]] == list(range(5))
        assert (await as_manager.patch(f"/v1/stages/{stage.id}", json={"name": "X"})).status_code == 404

    async def test_a_stage_holding_leads_cannot_be_deleted_nor_change_kind(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant, funnel: DefaultFunnel, broker: User
    ) -> None:
        stage = funnel.stage("Em atendimento")
        await lead_in(db, tenant, stage, owner=broker)  # a broker's lead the manager does not see still counts
        assert (await as_manager.delete(f"/v1/stages/{stage.id}")).status_code == 409
        assert (await as_manager.patch(f"/v1/stages/{stage.id}", json={"kind": "won"})).status_code == 409

    async def test_a_pipeline_holding_leads_or_the_default_cannot_be_deleted(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant, funnel: DefaultFunnel
    ) -> None:
        assert (await as_manager.delete(f"/v1/pipelines/{funnel.venda.id}")).status_code == 409
        await lead_in(db, tenant, funnel.rental_stages["Novo"])
        assert (await as_manager.delete(f"/v1/pipelines/{funnel.locacao.id}")).status_code == 409

    async def test_an_empty_pipeline_is_soft_deleted(
        self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel
    ) -> None:
        assert (await as_manager.delete(f"/v1/pipelines/{funnel.locacao.id}")).status_code == 204
        assert (await as_manager.get(f"/v1/pipelines/{funnel.locacao.id}")).status_code == 404


class TestTransitions:
    async def test_the_allowed_moves_are_replaced_and_enforcement_switched_on(
        self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel
    ) -> None:
        s = funnel.stages
        body = {
            "restrict_transitions": True,
            "transitions": [
                {"from_stage_id": str(s["Novo"].id), "to_stage_id": str(s["Em atendimento"].id)},
                {"from_stage_id": str(s["Em atendimento"].id), "to_stage_id": str(s["Perdido"].id)},
            ],
        }
        response = await as_manager.put(f"/v1/pipelines/{funnel.venda.id}/transitions", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["restrict_transitions"] is True
        assert len(response.json()["transitions"]) == 2
        replaced = await as_manager.put(f"/v1/pipelines/{funnel.venda.id}/transitions", json={"transitions": []})
        assert replaced.json()["transitions"] == []
        assert replaced.json()["restrict_transitions"] is True

    async def test_a_stage_of_another_pipeline_is_refused_naming_it(
        self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel
    ) -> None:
        body = {
            "transitions": [
                {"from_stage_id": str(funnel.stage("Novo").id), "to_stage_id": str(funnel.rental_stages["Novo"].id)}
            ]
        }
        response = await as_manager.put(f"/v1/pipelines/{funnel.venda.id}/transitions", json=body)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "transitions.0.to_stage_id"

    async def test_deleting_a_stage_drops_its_transitions(
        self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel
    ) -> None:
        s = funnel.stages
        pair = {"from_stage_id": str(s["Novo"].id), "to_stage_id": str(s["Visita agendada"].id)}
        await as_manager.put(f"/v1/pipelines/{funnel.venda.id}/transitions", json={"transitions": [pair]})
        await as_manager.delete(f"/v1/stages/{s['Visita agendada'].id}")
        assert (await as_manager.get(f"/v1/pipelines/{funnel.venda.id}")).json()["transitions"] == []


class TestLossReasons:
    async def test_a_manager_adds_and_removes_one(self, as_manager: httpx.AsyncClient) -> None:
        created = await as_manager.post("/v1/loss-reasons", json={"name": "Desistiu da compra"})
        assert created.status_code == 201
        assert (await as_manager.post("/v1/loss-reasons", json={"name": "Desistiu da compra"})).status_code == 409
        assert (await as_manager.delete(f"/v1/loss-reasons/{created.json()['id']}")).status_code == 204
        assert (await as_manager.get("/v1/loss-reasons")).json()["items"] == []

    async def test_adding_a_deleted_name_brings_it_back(self, as_manager: httpx.AsyncClient) -> None:
        first = (await as_manager.post("/v1/loss-reasons", json={"name": "Preço"})).json()
        await as_manager.delete(f"/v1/loss-reasons/{first['id']}")
        again = await as_manager.post("/v1/loss-reasons", json={"name": "Preço"})
        assert again.status_code == 201
        assert again.json()["id"] == first["id"]


class TestWhoConfigures:
    async def test_a_broker_reads_but_cannot_configure(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel
    ) -> None:
        assert (await as_broker.get(f"/v1/pipelines/{funnel.venda.id}")).status_code == 200
        writes = [
            ("POST", "/v1/pipelines", {"name": "Minha"}),
            ("PATCH", f"/v1/pipelines/{funnel.venda.id}", {"name": "X"}),
            ("DELETE", f"/v1/pipelines/{funnel.locacao.id}", None),
            ("POST", f"/v1/pipelines/{funnel.venda.id}/stages", {"name": "X"}),
            ("PATCH", f"/v1/stages/{funnel.stage('Novo').id}", {"name": "X"}),
            ("DELETE", f"/v1/stages/{funnel.stage('Novo').id}", None),
            ("PUT", f"/v1/pipelines/{funnel.venda.id}/transitions", {"transitions": []}),
            ("POST", "/v1/loss-reasons", {"name": "X"}),
            ("DELETE", f"/v1/loss-reasons/{funnel.loss_reasons['Preço'].id}", None),
        ]
        for method, path, body in writes:
            response = await as_broker.request(method, path, json=body)
            assert response.status_code == 403, (method, path)

    async def test_a_viewer_cannot_configure(self, as_viewer: httpx.AsyncClient) -> None:
        assert (await as_viewer.post("/v1/pipelines", json={"name": "X"})).status_code == 403

    async def test_an_owner_configures(self, as_owner: httpx.AsyncClient) -> None:
        assert (await as_owner.post("/v1/pipelines", json={"name": "Permuta"})).status_code == 201
