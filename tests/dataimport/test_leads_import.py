"""Importing leads: the person is found or created, the stage found by name, the owner by e-mail (of this
tenant only), the value read in reais; a person's open lead makes a duplicate; a revert undoes everything."""

from __future__ import annotations

import uuid

import httpx

from leadflow.kit.db import Database
from leadflow.models import Lead, Person, Role, Tenant, User
from tests import factories
from tests.dataimport.factories import count_rows, csv_bytes, errors_at, imported, outcomes

HEADER = ["Nome", "Telefone", "E-mail", "Etapa", "Corretor", "Valor", "Origem", "Campanha"]


class TestImportingLeads:
    async def test_leads_are_created_in_the_named_stage_for_the_named_broker(
        self, as_manager: httpx.AsyncClient, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, broker: User
    ) -> None:
        _, stages = await factories.make_pipeline(db, tenant)
        data = csv_bytes(
            [
                HEADER,
                [
                    "Maria Silva",
                    "(11) 98765-4321",
                    "maria@gmail.com",
                    "contato",
                    broker.email,
                    "R$ 650.000,00",
                    "site",
                    "aurora",
                ],
            ]
        )
        job = await imported(as_manager, data, entity="leads", dry_run=False)
        assert outcomes(job) == [(2, "created")]
        lead = (await as_owner.get(f"/v1/leads/{job['report'][0]['entity_id']}")).json()
        assert lead["stage_id"] == str(stages[1].id)
        assert (lead["owner_id"], lead["value_cents"], lead["source"], lead["utm_campaign"]) == (
            str(broker.id),
            65_000_000,
            "site",
            "aurora",
        )
        assert (lead["person_name"], lead["person_phone"]) == ("Maria Silva", "+5511987654321")

    async def test_an_existing_person_is_reused_and_the_default_stage_is_the_first_open_one(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        _, stages = await factories.make_pipeline(db, tenant)
        person = await factories.make_person(db, tenant, phone="(11) 98765-4321")
        people = await count_rows(db, tenant, Person)
        job = await imported(as_manager, csv_bytes([["Celular"], ["11987654321"]]), entity="leads", dry_run=False)
        lead = (await as_manager.get(f"/v1/leads/{job['report'][0]['entity_id']}")).json()
        assert (lead["person_id"], lead["stage_id"]) == (str(person.id), str(stages[0].id))
        assert await count_rows(db, tenant, Person) == people

    async def test_a_person_with_an_open_lead_in_the_pipeline_is_a_duplicate(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        _, stages = await factories.make_pipeline(db, tenant)
        person = await factories.make_person(db, tenant, email="maria@gmail.com")
        lead = await factories.make_lead(db, tenant, person=person, stage=stages[0])
        job = await imported(as_manager, csv_bytes([["E-mail"], ["MARIA@gmail.com"]]), entity="leads")
        assert outcomes(job) == [(2, "duplicate")]
        assert job["report"][0]["entity_id"] == str(lead.id)


class TestBadLeadLines:
    async def test_an_owner_email_of_another_tenant_is_an_error_line(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        await factories.make_pipeline(db, tenant)
        stranger = await factories.make_user(db, other_tenant, role=Role.BROKER, email="corretor@rival.example.com")
        data = csv_bytes([["Nome", "Corretor"], ["Maria", stranger.email]])
        job = await imported(as_manager, data, entity="leads", dry_run=False)
        assert outcomes(job) == [(2, "error")]
        assert errors_at(job, 2) == [
            {"field": "Corretor", "message": "no user with the e-mail corretor@rival.example.com in this account"}
        ]
        assert await count_rows(db, tenant, Lead) == 0

    async def test_an_unknown_stage_names_the_stages_there_are(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        await factories.make_pipeline(db, tenant)
        job = await imported(as_manager, csv_bytes([["Nome", "Etapa"], ["Maria", "Fechamento"]]), entity="leads")
        [error] = errors_at(job, 2)
        assert error["field"] == "Etapa"
        assert "Novo, Contato" in str(error["message"])

    async def test_a_lost_stage_without_a_loss_reason_is_refused_by_the_funnel_rule(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        await factories.make_pipeline(db, tenant)
        job = await imported(as_manager, csv_bytes([["Nome", "Etapa"], ["Maria", "Perdido"]]), entity="leads")
        assert outcomes(job) == [(2, "error")]
        assert "loss" in str(errors_at(job, 2)).lower()

    async def test_a_line_without_any_person_field_is_an_error(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        await factories.make_pipeline(db, tenant)
        job = await imported(as_manager, csv_bytes([["Nome", "Origem"], ["", "site"]]), entity="leads")
        assert errors_at(job, 2)[0]["field"] == "Nome"


class TestUpsertAndRevertOfLeads:
    async def test_upsert_updates_the_open_lead_and_revert_restores_it(
        self, as_manager: httpx.AsyncClient, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        _, stages = await factories.make_pipeline(db, tenant)
        person = await factories.make_person(db, tenant, email="maria@gmail.com")
        lead = await factories.make_lead(db, tenant, person=person, stage=stages[0], value_cents=100_00, tags=["a"])
        data = csv_bytes([["E-mail", "Valor", "Tags"], ["maria@gmail.com", "200,00", "b"]])
        job = await imported(as_manager, data, entity="leads", dry_run=False, mode="upsert")
        assert outcomes(job) == [(2, "updated")]
        updated = (await as_owner.get(f"/v1/leads/{lead.id}")).json()
        assert (updated["value_cents"], updated["tags"]) == (200_00, ["a", "b"])
        assert (await as_manager.post(f"/v1/imports/{job['id']}/revert")).status_code == 200
        restored = (await as_owner.get(f"/v1/leads/{lead.id}")).json()
        assert (restored["value_cents"], restored["tags"]) == (100_00, ["a"])

    async def test_revert_removes_leads_and_people_the_run_created_even_those_the_manager_cannot_see(
        self, as_manager: httpx.AsyncClient, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, broker: User
    ) -> None:
        await factories.make_pipeline(db, tenant)
        kept = await factories.make_person(db, tenant, email="velho@cliente.com")
        data = csv_bytes(
            [["Nome", "E-mail", "Corretor"], ["Nova", "nova@x.com", broker.email], ["", "velho@cliente.com", ""]]
        )
        job = await imported(as_manager, data, entity="leads", dry_run=False)
        assert outcomes(job) == [(2, "created"), (3, "created")]
        lead_ids = [uuid.UUID(line["entity_id"]) for line in job["report"]]
        assert (await as_manager.get(f"/v1/leads/{lead_ids[0]}")).status_code == 404  # another team's now
        assert (await as_manager.post(f"/v1/imports/{job['id']}/revert")).status_code == 200
        for lead_id in lead_ids:
            assert (await as_owner.get(f"/v1/leads/{lead_id}")).status_code == 404
        people = (await as_owner.get("/v1/people")).json()["items"]
        assert [p["id"] for p in people] == [str(kept.id)]
