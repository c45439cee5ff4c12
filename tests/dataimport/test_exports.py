"""CSV exports for Excel pt-BR: what the list's filters select, within what the actor may see, nothing of another
tenant, every page of a long list, and a file the import reads back."""

from __future__ import annotations

import csv
import io

import httpx

from leadflow.kit.db import Database
from leadflow.models import ListingPurpose, Property, PropertyType, Role, Tenant, User
from tests import factories
from tests.dataimport.factories import imported, outcomes


def read_export(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


class TestExportingPeople:
    async def test_the_filters_select_and_another_tenant_is_absent(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        await factories.make_person(db, tenant, name="Maria Silva", phone="(11) 98765-4321", email="maria@gmail.com")
        await factories.make_person(db, tenant, name="João Souza")
        await factories.make_person(db, other_tenant, name="Maria Rival", email="maria@rival.com")
        everyone = read_export(await as_manager.get("/v1/exports/people.csv"))
        assert sorted(row["Nome"] for row in everyone) == ["João Souza", "Maria Silva"]
        marias = read_export(await as_manager.get("/v1/exports/people.csv", params={"q": "maria"}))
        assert [(r["Nome"], r["E-mail"], r["Telefone"]) for r in marias] == [
            ("Maria Silva", "maria@gmail.com", "+5511987654321")
        ]

    async def test_the_header_is_portuguese_and_cells_never_run_as_formulas(
        self, as_viewer: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        await factories.make_person(db, tenant, name='=HYPERLINK("http://mal.example")')
        response = await as_viewer.get("/v1/exports/people.csv")
        first_line = response.content.decode("utf-8-sig").split("\r\n")[0]
        assert first_line.startswith("Nome;E-mail;Telefone;WhatsApp;CPF/CNPJ")
        assert read_export(response)[0]["Nome"].startswith("'=")

    async def test_an_export_imports_back_as_duplicates(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        await factories.make_person(db, tenant, name="Maria Silva", phone="(11) 98765-4321", email="maria@gmail.com")
        await factories.make_person(db, tenant, name="Ana", email="ana@x.com")
        exported = (await as_manager.get("/v1/exports/people.csv")).content
        job = await imported(as_manager, exported)
        assert [outcome for _, outcome in outcomes(job)] == ["duplicate", "duplicate"]

    async def test_anonymous_callers_are_refused(self, anonymous: httpx.AsyncClient) -> None:
        assert (await anonymous.get("/v1/exports/people.csv")).status_code == 401


class TestExportingLeads:
    async def test_a_broker_exports_only_their_own_leads(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, broker: User
    ) -> None:
        _, stages = await factories.make_pipeline(db, tenant)
        colleague = await factories.make_user(db, tenant, role=Role.BROKER, email="outro@acme.example.com")
        mine = await factories.make_person(db, tenant, name="Cliente da Ana")
        theirs = await factories.make_person(db, tenant, name="Cliente do Outro")
        await factories.make_lead(db, tenant, person=mine, stage=stages[0], owner=broker, value_cents=650_000_00)
        await factories.make_lead(db, tenant, person=theirs, stage=stages[0], owner=colleague)
        rows = read_export(await as_broker.get("/v1/exports/leads.csv"))
        assert [(r["Nome"], r["Corretor"], r["Etapa"], r["Funil"], r["Valor"], r["Status"]) for r in rows] == [
            ("Cliente da Ana", broker.email, "Novo", "Venda", "650000,00", "aberto")
        ]

    async def test_the_list_filters_select_the_leads(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        _, stages = await factories.make_pipeline(db, tenant)
        _, rival_stages = await factories.make_pipeline(db, other_tenant)
        for name, stage in (("Novo Lead", stages[0]), ("Em Visita", stages[2])):
            person = await factories.make_person(db, tenant, name=name)
            await factories.make_lead(db, tenant, person=person, stage=stage)
        rival = await factories.make_person(db, other_tenant, name="Lead Rival")
        await factories.make_lead(db, other_tenant, person=rival, stage=rival_stages[2])
        everyone = read_export(await as_owner.get("/v1/exports/leads.csv"))
        assert sorted(r["Nome"] for r in everyone) == ["Em Visita", "Novo Lead"]
        visits = read_export(await as_owner.get("/v1/exports/leads.csv", params={"stage_id": str(stages[2].id)}))
        assert [r["Nome"] for r in visits] == ["Em Visita"]

    async def test_a_stage_of_another_tenant_selects_nothing(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        _, rival_stages = await factories.make_pipeline(db, other_tenant)
        rival = await factories.make_person(db, other_tenant, name="Lead Rival")
        await factories.make_lead(db, other_tenant, person=rival, stage=rival_stages[0])
        rows = read_export(await as_owner.get("/v1/exports/leads.csv", params={"stage_id": str(rival_stages[0].id)}))
        assert rows == []


class TestExportingProperties:
    async def test_every_page_of_a_long_filtered_list_is_streamed(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        async with db.session(factories.owner_scope(tenant)) as session:
            session.add_all(
                Property(
                    reference=f"AP-{n:04d}",
                    type=PropertyType.APARTMENT,
                    purpose=ListingPurpose.SALE,
                    price_cents=1_234_567_89 + n,
                    city="Campinas" if n % 2 else "São Paulo",
                    private_area=72.5,
                )
                for n in range(1, 432)
            )
        await factories.make_property(db, other_tenant, reference="RIVAL-1", city="Campinas")
        rows = read_export(await as_manager.get("/v1/exports/properties.csv", params={"city": "campinas"}))
        assert len(rows) == 216
        assert len({r["Referência"] for r in rows}) == 216
        assert "RIVAL-1" not in {r["Referência"] for r in rows}
        first = next(r for r in rows if r["Referência"] == "AP-0001")
        assert (first["Preço"], first["Tipo"], first["Finalidade"], first["Área útil"]) == (
            "1234567,90",
            "Apartamento",
            "Venda",
            "72,50",
        )

    async def test_a_bad_filter_is_a_422_before_anything_streams(self, as_manager: httpx.AsyncClient) -> None:
        response = await as_manager.get("/v1/exports/properties.csv", params={"uf": "XX"})
        assert response.status_code == 422
