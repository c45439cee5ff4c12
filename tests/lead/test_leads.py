"""Leads are created for a person (existing or new) in the default funnel, read with their contact and interest,
edited within their stage's rules, soft-deleted and restored; writes follow roles."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from leadflow.kit.db import Database
from leadflow.lead import service
from leadflow.lead.schemas import LeadCreate
from leadflow.models import Person, Role, Tenant, User
from leadflow.person.schemas import PersonCreate
from tests import factories
from tests.lead.factories import DefaultFunnel, lead_in, make_default_funnel, user_scope

INTEREST: dict[str, Any] = {
    "purpose": "compra",
    "property_types": ["apartamento", "cobertura"],
    "price_min_cents": 50_000_000,
    "price_max_cents": 75_000_000,
    "bedrooms_min": 2,
    "suites_min": 1,
    "parking_min": 1,
    "area_min": "60",
    "area_max": "90",
    "neighbourhoods": ["Pinheiros", "Vila Madalena"],
    "cities": ["São Paulo"],
    "accepts_financing": True,
    "accepts_fgts": True,
}


@pytest.fixture
async def funnel(db: Database, tenant: Tenant) -> DefaultFunnel:
    return await make_default_funnel(db, tenant)


@pytest.fixture
async def maria(db: Database, tenant: Tenant) -> Person:
    return await factories.make_person(db, tenant, phone="(11) 98765-4321", email="maria@gmail.com")


async def _create(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/leads", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


class TestCreatingALead:
    async def test_it_lands_in_the_default_pipelines_first_stage_with_the_persons_contact(
        self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel, maria: Person
    ) -> None:
        lead = await _create(as_manager, person_id=str(maria.id), title="Apto em Pinheiros", value_cents=65_000_000)
        assert (lead["pipeline_id"], lead["stage_id"]) == (str(funnel.venda.id), str(funnel.stage("Novo").id))
        assert (lead["status"], lead["owner_id"], lead["score"], lead["tags"]) == ("open", None, 0, [])
        assert (lead["person_name"], lead["person_phone"], lead["person_email"]) == (
            "Maria Silva",
            "+5511987654321",
            "maria@gmail.com",
        )
        assert lead["stage_entered_at"] is not None
        assert (await as_manager.get(f"/v1/leads/{lead['id']}")).json() == lead

    async def test_a_new_person_is_created_with_it(self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel) -> None:
        person = {"name": "João Pereira", "phones": ["11 91234-5678"], "emails": ["Joao@Empresa.com.br"]}
        lead = await _create(as_broker, person=person, source="site", channel="Organic Search")
        assert (lead["person_name"], lead["person_phone"]) == ("João Pereira", "+5511912345678")
        assert lead["person_email"] == "joao@empresa.com.br"

    async def test_an_invalid_phone_of_the_new_person_is_named_inside_the_body(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel
    ) -> None:
        response = await as_broker.post("/v1/leads", json={"person": {"name": "X", "phones": ["123"]}})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "person.phones.0"

    async def test_it_needs_exactly_one_of_person_id_and_person(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel, maria: Person
    ) -> None:
        assert (await as_broker.post("/v1/leads", json={})).status_code == 422
        both = {"person_id": str(maria.id), "person": {"name": "X"}}
        assert (await as_broker.post("/v1/leads", json=both)).status_code == 422

    async def test_interest_attribution_and_dates_are_kept(
        self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel, maria: Person
    ) -> None:
        lead = await _create(
            as_manager,
            person_id=str(maria.id),
            temperature="quente",
            score=80,
            tags=["investidor", "investidor", "zona-oeste"],
            first_touch={
                "utm_source": "google",
                "utm_medium": "cpc",
                "utm_campaign": "aurora-2026",
                "gclid": "Cj0K",
                "utm_id": "9",
            },
            last_touch={"utm_source": "instagram", "referrer": "https://l.instagram.com/"},
            next_follow_up_at="2026-11-24T10:00:00-03:00",
            first_response_due_at="2026-11-23T14:15:00-03:00",
            interest=INTEREST,
        )
        assert lead["utm_campaign"] == "aurora-2026"  # projected from the first touch
        assert (lead["first_touch"]["gclid"], lead["first_touch"]["utm_id"]) == ("Cj0K", "9")
        assert lead["tags"] == ["investidor", "zona-oeste"]
        assert lead["next_follow_up_at"].startswith("2026-11-24T13:00:00")
        assert lead["interest"]["property_types"] == ["apartamento", "cobertura"]
        assert lead["interest"]["neighbourhoods"] == ["Pinheiros", "Vila Madalena"]
        assert float(lead["interest"]["area_min"]) == 60

    async def test_an_interest_with_an_inverted_price_range_is_refused(
        self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel, maria: Person
    ) -> None:
        bad = {**INTEREST, "price_min_cents": 80_000_000}
        response = await as_manager.post("/v1/leads", json={"person_id": str(maria.id), "interest": bad})
        assert response.status_code == 422

    async def test_a_named_pipeline_and_stage_are_used(
        self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel, maria: Person
    ) -> None:
        stage = funnel.rental_stages["Em atendimento"]
        lead = await _create(
            as_manager, person_id=str(maria.id), pipeline_id=str(funnel.locacao.id), stage_id=str(stage.id)
        )
        assert lead["stage_id"] == str(stage.id)
        first = await _create(as_manager, person_id=str(maria.id), pipeline_id=str(funnel.locacao.id))
        assert first["stage_id"] == str(funnel.rental_stages["Novo"].id)

    async def test_a_stage_alone_names_its_pipeline(
        self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel, maria: Person
    ) -> None:
        stage = funnel.rental_stages["Visita agendada"]
        lead = await _create(as_manager, person_id=str(maria.id), stage_id=str(stage.id))
        assert (lead["pipeline_id"], lead["stage_id"]) == (str(funnel.locacao.id), str(stage.id))

    async def test_a_stage_of_another_pipeline_is_refused(
        self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel, maria: Person
    ) -> None:
        stage = funnel.rental_stages["Novo"]
        body = {"person_id": str(maria.id), "pipeline_id": str(funnel.venda.id), "stage_id": str(stage.id)}
        response = await as_manager.post("/v1/leads", json=body)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "stage_id"

    async def test_a_lead_created_in_a_stage_must_meet_its_requirements(
        self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel, maria: Person
    ) -> None:
        body = {"person_id": str(maria.id), "stage_id": str(funnel.stage("Proposta").id), "value_cents": 1}
        response = await as_manager.post("/v1/leads", json=body)
        assert response.status_code == 422
        assert response.json()["detail"] == "stage Proposta requires property_id"

    async def test_without_a_default_pipeline_the_answer_says_so(
        self, as_manager: httpx.AsyncClient, maria: Person
    ) -> None:
        response = await as_manager.post("/v1/leads", json={"person_id": str(maria.id)})
        assert response.status_code == 422
        assert "default pipeline" in response.json()["detail"]

    async def test_custom_fields_are_validated_against_the_tenants_definitions(
        self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel, maria: Person
    ) -> None:
        definition = {
            "entity": "lead",
            "key": "banco",
            "label": "Banco",
            "type": "select",
            "options": ["Caixa", "Itaú"],
        }
        assert (await as_manager.post("/v1/custom-fields", json=definition)).status_code == 201
        bad = await as_manager.post("/v1/leads", json={"person_id": str(maria.id), "custom_fields": {"banco": "X"}})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "custom_fields.banco"
        good = await _create(as_manager, person_id=str(maria.id), custom_fields={"banco": "Caixa"})
        assert good["custom_fields"] == {"banco": "Caixa"}


class TestOwnership:
    async def test_a_brokers_new_lead_is_theirs_and_recorded_as_assigned(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel, maria: Person, broker: User
    ) -> None:
        lead = await _create(as_broker, person_id=str(maria.id))
        assert lead["owner_id"] == str(broker.id)
        history = (await as_broker.get(f"/v1/leads/{lead['id']}/history")).json()["items"]
        assert [item["kind"] for item in history] == ["stage_move", "assignment"]

    async def test_a_broker_cannot_create_a_lead_for_someone_else(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel, maria: Person, manager: User
    ) -> None:
        response = await as_broker.post("/v1/leads", json={"person_id": str(maria.id), "owner_id": str(manager.id)})
        assert response.status_code == 403

    async def test_a_manager_names_the_owner(
        self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel, maria: Person, broker: User
    ) -> None:
        lead = await _create(as_manager, person_id=str(maria.id), owner_id=str(broker.id))
        assert lead["owner_id"] == str(broker.id)

    async def test_an_inactive_user_or_a_viewer_cannot_own_a_lead(
        self,
        as_manager: httpx.AsyncClient,
        funnel: DefaultFunnel,
        maria: Person,
        viewer: User,
        db: Database,
        tenant: Tenant,
    ) -> None:
        gone = await factories.make_user(db, tenant, role=Role.BROKER)
        await as_manager.patch(f"/v1/users/{gone.id}", json={"is_active": False})
        for user in (gone, viewer):
            response = await as_manager.post("/v1/leads", json={"person_id": str(maria.id), "owner_id": str(user.id)})
            assert response.status_code == 422
            assert response.json()["errors"][0]["field"] == "owner_id"

    async def test_a_viewer_cannot_create(
        self, as_viewer: httpx.AsyncClient, funnel: DefaultFunnel, maria: Person
    ) -> None:
        assert (await as_viewer.post("/v1/leads", json={"person_id": str(maria.id)})).status_code == 403

    async def test_a_read_only_key_cannot_create_but_a_write_key_can(
        self, app: FastAPI, db: Database, tenant: Tenant, funnel: DefaultFunnel, maria: Person
    ) -> None:
        _, read_key = await factories.make_key(db, tenant, scopes=["read"])
        _, write_key = await factories.make_key(db, tenant, scopes=["read", "write"])
        body = {"person_id": str(maria.id)}
        async with factories.client(app, tenant, token=read_key) as c:
            assert (await c.post("/v1/leads", json=body)).status_code == 403
        async with factories.client(app, tenant, token=write_key) as c:
            response = await c.post("/v1/leads", json=body)
        assert response.status_code == 201
        assert response.json()["owner_id"] is None


class TestEditingALead:
    async def test_only_the_fields_sent_change_and_custom_fields_merge(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel, maria: Person
    ) -> None:
        lead = await _create(as_broker, person_id=str(maria.id), title="Casa", value_cents=100, tags=["a"])
        response = await as_broker.patch(
            f"/v1/leads/{lead['id']}", json={"title": "Casa em Campinas", "temperature": "morno"}
        )
        assert response.status_code == 200, response.text
        changed = response.json()
        assert (changed["title"], changed["temperature"], changed["value_cents"], changed["tags"]) == (
            "Casa em Campinas",
            "morno",
            100,
            ["a"],
        )

    async def test_the_interest_merges_and_null_removes_it(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel, maria: Person
    ) -> None:
        lead = await _create(as_broker, person_id=str(maria.id), interest=INTEREST)
        patched = await as_broker.patch(f"/v1/leads/{lead['id']}", json={"interest": {"bedrooms_min": 3}})
        assert patched.json()["interest"]["bedrooms_min"] == 3
        assert patched.json()["interest"]["cities"] == ["São Paulo"]
        inverted = await as_broker.patch(f"/v1/leads/{lead['id']}", json={"interest": {"price_min_cents": 9 * 10**8}})
        assert inverted.status_code == 422
        removed = await as_broker.patch(f"/v1/leads/{lead['id']}", json={"interest": None})
        assert removed.json()["interest"] is None

    async def test_emptying_a_field_the_current_stage_requires_is_refused_naming_the_rule(
        self,
        as_manager: httpx.AsyncClient,
        db: Database,
        tenant: Tenant,
        funnel: DefaultFunnel,
    ) -> None:
        prop = await factories.make_property(db, tenant)
        lead = await lead_in(db, tenant, funnel.stage("Proposta"), property_id=prop.id, value_cents=65_000_000)
        response = await as_manager.patch(f"/v1/leads/{lead.id}", json={"value_cents": None})
        assert response.status_code == 422
        assert response.json()["detail"] == "stage Proposta requires value_cents"

    async def test_columns_that_cannot_be_empty_refuse_null(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel, maria: Person
    ) -> None:
        lead = await _create(as_broker, person_id=str(maria.id))
        response = await as_broker.patch(f"/v1/leads/{lead['id']}", json={"tags": None})
        assert response.status_code == 422

    async def test_stage_owner_and_status_are_not_edited_here(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel, maria: Person
    ) -> None:
        lead = await _create(as_broker, person_id=str(maria.id))
        for field, value in (("stage_id", str(funnel.stage("Ganho").id)), ("status", "won"), ("owner_id", None)):
            response = await as_broker.patch(f"/v1/leads/{lead['id']}", json={field: value})
            assert response.status_code == 422, field


class TestDeletingALead:
    async def test_a_manager_deletes_softly_and_restores(
        self, as_manager: httpx.AsyncClient, funnel: DefaultFunnel, maria: Person
    ) -> None:
        lead = await _create(as_manager, person_id=str(maria.id))
        assert (await as_manager.delete(f"/v1/leads/{lead['id']}")).status_code == 204
        assert (await as_manager.get(f"/v1/leads/{lead['id']}")).status_code == 404
        assert (await as_manager.get("/v1/leads")).json()["items"] == []
        restored = await as_manager.post(f"/v1/leads/{lead['id']}/restore")
        assert restored.status_code == 200
        assert restored.json()["deleted_at"] is None
        audit = (await as_manager.get("/v1/audit", params={"entity_id": lead["id"]})).json()["items"]
        assert [e["action"] for e in audit][:2] == ["restore", "delete"]

    async def test_a_broker_cannot_delete_their_own_lead(
        self, as_broker: httpx.AsyncClient, funnel: DefaultFunnel, maria: Person
    ) -> None:
        lead = await _create(as_broker, person_id=str(maria.id))
        assert (await as_broker.delete(f"/v1/leads/{lead['id']}")).status_code == 403


class TestServiceFunctions:
    async def test_create_lead_and_get_lead_work_for_other_features(
        self, db: Database, tenant: Tenant, funnel: DefaultFunnel, broker: User
    ) -> None:
        scope = user_scope(tenant, broker)
        async with db.session(scope) as session:
            data = LeadCreate(person=PersonCreate(name="Ana Lima", phones=["19 99876-5432"]))
            lead = await service.create_lead(session, scope, data=data)
            assert (await service.get_lead(session, scope, lead_id=lead.id)).owner_id == broker.id

    async def test_the_first_response_is_recorded_once(
        self, db: Database, tenant: Tenant, funnel: DefaultFunnel
    ) -> None:
        lead = await lead_in(db, tenant, funnel.stage("Novo"))
        scope = factories.owner_scope(tenant)
        first = datetime(2026, 11, 23, 17, 5, tzinfo=UTC)
        async with db.session(scope) as session:
            await service.mark_first_response(session, scope, lead_id=lead.id, at=first)
            await service.mark_first_response(session, scope, lead_id=lead.id, at=first + timedelta(hours=1))
            assert (await service.get_lead(session, scope, lead_id=lead.id)).first_responded_at == first

    async def test_get_lead_raises_not_found_for_an_unknown_id(self, db: Database, tenant: Tenant) -> None:
        scope = factories.owner_scope(tenant)
        async with db.session(scope) as session:
            with pytest.raises(service.LeadNotFound):
                await service.get_lead(session, scope, lead_id=uuid.uuid4())
