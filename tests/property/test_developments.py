"""Developments: slugs, units that inherit the address, and the availability summary counted without N+1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from leadflow.kit.db import Database
from leadflow.models import DevelopmentPhase, PropertyStatus, Tenant
from tests import factories
from tests.property.factories import make_development, soft_delete

LAUNCH: dict[str, Any] = {
    "name": "Residencial Jardim das Acácias",
    "builder": "Construtora Horizonte",
    "phase": "lancamento",
    "delivery_date": "2027-12-01",
    "towers": ["Torre A", "Torre B"],
    "cep": "13092-123",
    "street": "Avenida José Bonifácio",
    "number": "900",
    "neighbourhood": "Cambuí",
    "city": "Campinas",
    "uf": "SP",
}
UNIT: dict[str, Any] = {"type": "apartamento", "purpose": "venda", "price_cents": 520_000_00, "bedrooms": 2}


class TestCreatingADevelopment:
    async def test_the_slug_comes_from_the_name_without_accents(self, as_broker: httpx.AsyncClient) -> None:
        response = await as_broker.post("/v1/developments", json=LAUNCH)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["slug"] == "residencial-jardim-das-acacias"
        assert body["cep"] == "13092123"
        assert body["availability"]["total"] == 0
        assert body["availability"]["by_tower"] == {
            "Torre A": {"total": 0, "available": 0},
            "Torre B": {"total": 0, "available": 0},
        }

    async def test_a_second_development_of_the_same_name_gets_the_next_slug(self, as_broker: httpx.AsyncClient) -> None:
        slugs = [(await as_broker.post("/v1/developments", json=LAUNCH)).json()["slug"] for _ in range(3)]
        assert slugs == [
            "residencial-jardim-das-acacias",
            "residencial-jardim-das-acacias-2",
            "residencial-jardim-das-acacias-3",
        ]

    async def test_a_deleted_developments_slug_is_not_reused(self, as_manager: httpx.AsyncClient) -> None:
        first = (await as_manager.post("/v1/developments", json=LAUNCH)).json()
        await as_manager.delete(f"/v1/developments/{first['id']}")
        second = (await as_manager.post("/v1/developments", json=LAUNCH)).json()
        assert second["slug"] == "residencial-jardim-das-acacias-2"

    async def test_a_chosen_slug_already_used_is_a_conflict(self, as_broker: httpx.AsyncClient) -> None:
        await as_broker.post("/v1/developments", json={**LAUNCH, "slug": "acacias"})
        response = await as_broker.post("/v1/developments", json={**LAUNCH, "name": "Outro", "slug": "acacias"})
        assert response.status_code == 409

    async def test_a_malformed_slug_or_phase_is_refused(self, as_broker: httpx.AsyncClient) -> None:
        response = await as_broker.post("/v1/developments", json={**LAUNCH, "slug": "Acácias!", "phase": "vendido"})
        assert response.status_code == 422
        assert {e["field"] for e in response.json()["errors"]} == {"slug", "phase"}

    async def test_a_viewer_cannot_create(self, as_viewer: httpx.AsyncClient) -> None:
        assert (await as_viewer.post("/v1/developments", json=LAUNCH)).status_code == 403


class TestChangingADevelopment:
    async def test_renaming_keeps_the_slug(self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant) -> None:
        development = await make_development(db, tenant)
        response = await as_broker.patch(
            f"/v1/developments/{development.id}", json={"name": "Aurora Clube", "phase": "pronto"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["slug"] == "residencial-aurora"
        assert response.json()["phase"] == "pronto"

    async def test_the_name_cannot_be_nulled(self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant) -> None:
        development = await make_development(db, tenant)
        response = await as_broker.patch(f"/v1/developments/{development.id}", json={"name": None})
        assert response.status_code == 422

    async def test_deleting_is_soft_and_restorable_by_a_manager_only(
        self, as_manager: httpx.AsyncClient, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        development = await make_development(db, tenant)
        assert (await as_broker.delete(f"/v1/developments/{development.id}")).status_code == 403
        assert (await as_manager.delete(f"/v1/developments/{development.id}")).status_code == 204
        assert (await as_manager.get(f"/v1/developments/{development.id}")).status_code == 404
        restored = await as_manager.post(f"/v1/developments/{development.id}/restore")
        assert restored.json()["deleted_at"] is None


class TestUnits:
    async def test_a_unit_inherits_the_developments_address(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        development = await make_development(db, tenant)
        response = await as_broker.post(
            f"/v1/developments/{development.id}/units",
            json={**UNIT, "reference": "AUR-A-101", "tower": "Torre A", "unit_number": "101", "floor": 1},
        )
        assert response.status_code == 201, response.text
        unit = response.json()
        assert unit["development_id"] == str(development.id)
        assert (unit["street"], unit["neighbourhood"], unit["city"], unit["cep"]) == (
            "Avenida José Bonifácio",
            "Cambuí",
            "Campinas",
            "13092123",
        )

    async def test_an_address_given_for_the_unit_is_kept(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        development = await make_development(db, tenant)
        response = await as_broker.post(
            f"/v1/developments/{development.id}/units", json={**UNIT, "reference": "AUR-1", "number": "900-B"}
        )
        assert response.json()["number"] == "900-B"
        assert response.json()["city"] == "Campinas"

    async def test_a_tower_the_development_does_not_have_is_refused(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        development = await make_development(db, tenant)
        response = await as_broker.post(
            f"/v1/developments/{development.id}/units", json={**UNIT, "reference": "AUR-C-1", "tower": "Torre C"}
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "tower"

    async def test_a_property_created_with_a_development_id_is_a_unit_too(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        development = await make_development(db, tenant)
        response = await as_broker.post(
            "/v1/properties", json={**UNIT, "reference": "AUR-2", "development_id": str(development.id)}
        )
        assert response.json()["neighbourhood"] == "Cambuí"

    async def test_a_development_id_in_the_body_of_the_units_route_is_refused(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        development = await make_development(db, tenant)
        response = await as_broker.post(
            f"/v1/developments/{development.id}/units",
            json={**UNIT, "reference": "AUR-3", "development_id": str(development.id)},
        )
        assert response.status_code == 422

    async def test_units_are_listed_by_reference_and_filtered_by_tower_and_status(
        self, as_viewer: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        development = await make_development(db, tenant)
        await factories.make_property(db, tenant, reference="AUR-B-1", development_id=development.id, tower="Torre B")
        await factories.make_property(db, tenant, reference="AUR-A-2", development_id=development.id, tower="Torre A")
        await factories.make_property(
            db, tenant, reference="AUR-A-1", development_id=development.id, tower="Torre A", status=PropertyStatus.SOLD
        )
        await factories.make_property(db, tenant, reference="AVULSO-1")
        url = f"/v1/developments/{development.id}/units"

        async def references(**params: str) -> list[str]:
            return [u["reference"] for u in (await as_viewer.get(url, params=params)).json()["items"]]

        assert await references() == ["AUR-A-1", "AUR-A-2", "AUR-B-1"]
        assert await references(tower="Torre A") == ["AUR-A-1", "AUR-A-2"]
        assert await references(status="disponivel") == ["AUR-A-2", "AUR-B-1"]
        page = (await as_viewer.get(url, params={"limit": 2})).json()
        rest = (await as_viewer.get(url, params={"limit": 2, "cursor": page["next_cursor"]})).json()
        assert [u["reference"] for u in rest["items"]] == ["AUR-B-1"]

    async def test_units_of_an_unknown_development_are_404(self, as_viewer: httpx.AsyncClient) -> None:
        response = await as_viewer.get("/v1/developments/0190a0a0-0000-7000-8000-000000000000/units")
        assert response.status_code == 404


class TestAvailability:
    @pytest.fixture
    async def aurora(self, db: Database, tenant: Tenant) -> str:
        development = await make_development(db, tenant)
        units = [
            ("A-101", "Torre A", PropertyStatus.AVAILABLE, 480_000_00),
            ("A-102", "Torre A", PropertyStatus.AVAILABLE, 510_000_00),
            ("A-201", "Torre A", PropertyStatus.SOLD, 530_000_00),
            ("B-101", "Torre B", PropertyStatus.RESERVED, 700_000_00),
            ("B-102", "Torre B", PropertyStatus.AVAILABLE, 720_000_00),
            ("LOJA-1", None, PropertyStatus.AVAILABLE, 900_000_00),
        ]
        for reference, tower, status, price in units:
            await factories.make_property(
                db, tenant, reference=reference, development_id=development.id, tower=tower, status=status,
                price_cents=price,
            )  # fmt: skip
        deleted = await factories.make_property(db, tenant, reference="A-999", development_id=development.id)
        await soft_delete(db, tenant, deleted)
        return str(development.id)

    async def test_the_summary_counts_units_by_status_and_tower_with_the_available_price_range(
        self, as_viewer: httpx.AsyncClient, aurora: str
    ) -> None:
        summary = (await as_viewer.get(f"/v1/developments/{aurora}")).json()["availability"]
        assert summary == {
            "total": 6,
            "by_status": {"disponivel": 4, "reservado": 1, "vendido": 1, "alugado": 0, "inativo": 0},
            "by_tower": {"Torre A": {"total": 3, "available": 2}, "Torre B": {"total": 2, "available": 1}},
            "available_price_range": {"min_cents": 480_000_00, "max_cents": 900_000_00},
        }

    async def test_the_list_carries_each_developments_summary(
        self, as_viewer: httpx.AsyncClient, aurora: str, db: Database, tenant: Tenant
    ) -> None:
        await make_development(db, tenant, name="Vila Nova")
        items = (await as_viewer.get("/v1/developments")).json()["items"]
        totals = {d["name"]: d["availability"]["total"] for d in items}
        assert totals == {"Residencial Aurora": 6, "Vila Nova": 0}

    async def test_a_page_of_developments_costs_the_same_queries_as_one(
        self, as_viewer: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        first = await make_development(db, tenant, name="Um")
        await factories.make_property(db, tenant, reference="UM-1", development_id=first.id)
        with count_statements(db) as one:
            assert len((await as_viewer.get("/v1/developments")).json()["items"]) == 1
        for n in range(4):
            development = await make_development(db, tenant, name=f"Outro {n}")
            await factories.make_property(db, tenant, reference=f"OUTRO-{n}", development_id=development.id)
        with count_statements(db) as five:
            assert len((await as_viewer.get("/v1/developments")).json()["items"]) == 5
        assert len(five) == len(one)

    async def test_filters_by_phase_city_and_name(
        self, as_viewer: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        await make_development(db, tenant, name="Aurora")
        await make_development(db, tenant, name="Solar", phase=DevelopmentPhase.READY, city="São Paulo")

        async def names(**params: str) -> list[str]:
            return [d["name"] for d in (await as_viewer.get("/v1/developments", params=params)).json()["items"]]

        assert await names(phase="pronto") == ["Solar"]
        assert await names(city="campinas") == ["Aurora"]
        assert await names(q="sol") == ["Solar"]


@contextmanager
def count_statements(db: Database) -> Iterator[list[str]]:
    """Collects the SQL statements run while the block runs."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
