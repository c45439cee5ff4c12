"""Importing properties by reference: created, duplicate or updated; prices in reais become cents; a revert
soft-deletes what was created and puts back what was overwritten."""

from __future__ import annotations

import httpx

from leadflow.kit.db import Database
from leadflow.models import Role, Tenant, User
from tests import factories
from tests.dataimport.factories import csv_bytes, errors_at, imported, outcomes

HEADER = ["Referência", "Tipo", "Finalidade", "Preço", "Quartos", "Área útil", "Bairro", "Cidade", "UF", "CEP"]
ROW = ["ap-101", "Apartamento", "Venda", "R$ 1.234,56", "3", "72,5 m²", "Pinheiros", "São Paulo", "sp", "05422-010"]


class TestImportingProperties:
    async def test_a_new_reference_is_created_with_brazilian_values_read(self, as_manager: httpx.AsyncClient) -> None:
        job = await imported(as_manager, csv_bytes([HEADER, ROW]), entity="properties", dry_run=False)
        assert outcomes(job) == [(2, "created")]
        prop = (await as_manager.get(f"/v1/properties/{job['report'][0]['entity_id']}")).json()
        assert (prop["reference"], prop["type"], prop["purpose"], prop["price_cents"]) == (
            "AP-101",
            "apartamento",
            "venda",
            123456,
        )
        assert (prop["bedrooms"], prop["private_area"], prop["uf"], prop["cep"]) == (3, 72.5, "SP", "05422010")

    async def test_labels_people_write_are_understood(self, as_manager: httpx.AsyncClient) -> None:
        data = csv_bytes(
            [["Ref", "Tipo", "Finalidade", "Situação"], ["SL-1", "Sala Comercial", "Aluguel", "Reservado"]]
        )
        job = await imported(as_manager, data, entity="properties", dry_run=False)
        prop = (await as_manager.get(f"/v1/properties/{job['report'][0]['entity_id']}")).json()
        assert (prop["type"], prop["purpose"], prop["status"]) == ("sala_comercial", "locacao", "reservado")

    async def test_an_existing_reference_is_a_duplicate(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        existing = await factories.make_property(db, tenant, reference="AP-101")
        job = await imported(as_manager, csv_bytes([HEADER, ROW]), entity="properties")
        assert outcomes(job) == [(2, "duplicate")]
        assert job["report"][0]["entity_id"] == str(existing.id)


class TestBadPropertyLines:
    async def test_bad_cells_are_named_and_good_lines_still_imported(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        stranger = await factories.make_user(db, other_tenant, role=Role.BROKER, email="capta@rival.example.com")
        data = csv_bytes(
            [
                ["Referência", "Tipo", "Finalidade", "Preço", "UF", "Captador"],
                ["A-1", "Castelo", "Venda", "1,234", "SP", ""],
                ["A-2", "Casa", "", "100", "SP", ""],
                ["A-3", "Casa", "Venda", "100", "XX", ""],
                ["A-4", "Casa", "Venda", "100", "SP", stranger.email],
                ["", "Casa", "Venda", "100", "SP", ""],
                ["A-5", "Casa", "Venda", "R$ 980.000,00", "RJ", ""],
            ]
        )
        job = await imported(as_manager, data, entity="properties", dry_run=False)
        assert outcomes(job) == [(2, "error"), (3, "error"), (4, "error"), (5, "error"), (6, "error"), (7, "created")]
        assert [e["field"] for e in errors_at(job, 2)] == ["Tipo", "Preço"]
        assert errors_at(job, 3) == [
            {"field": "Finalidade", "message": "empty: a new property needs its type and purpose"}
        ]
        assert errors_at(job, 4)[0]["field"] == "UF"
        assert errors_at(job, 5)[0]["field"] == "Captador"
        assert errors_at(job, 6)[0]["field"] == "Referência"


class TestUpsertAndRevertOfProperties:
    async def test_upsert_updates_and_revert_restores_and_deletes(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant, broker: User
    ) -> None:
        existing = await factories.make_property(
            db, tenant, reference="AP-101", price_cents=500_000_00, features=["piscina"]
        )
        data = csv_bytes(
            [
                ["Referência", "Tipo", "Finalidade", "Preço", "Características", "Captador"],
                ["AP-101", "Apartamento", "Venda", "R$ 550.000,00", "churrasqueira", broker.email],
                ["CA-7", "Casa", "Venda", "R$ 900.000,00", "", ""],
            ]
        )
        job = await imported(as_manager, data, entity="properties", dry_run=False, mode="upsert")
        assert outcomes(job) == [(2, "updated"), (3, "created")]
        updated = (await as_manager.get(f"/v1/properties/{existing.id}")).json()
        assert (updated["price_cents"], updated["features"], updated["listing_broker_id"]) == (
            550_000_00,
            ["piscina", "churrasqueira"],
            str(broker.id),
        )
        reverted = await as_manager.post(f"/v1/imports/{job['id']}/revert")
        assert reverted.status_code == 200
        assert reverted.json()["status"] == "reverted"
        restored = (await as_manager.get(f"/v1/properties/{existing.id}")).json()
        assert (restored["price_cents"], restored["features"], restored["listing_broker_id"]) == (
            500_000_00,
            ["piscina"],
            None,
        )
        created_id = job["report"][1]["entity_id"]
        assert (await as_manager.get(f"/v1/properties/{created_id}")).status_code == 404
