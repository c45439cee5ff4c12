"""Properties: created and changed with their address validated, unique references, soft delete, lists and filters."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from leadflow.kit.db import Database
from leadflow.models import CustomFieldDefinition, CustomFieldType, PropertyStatus, Role, Tenant, User
from leadflow.property import service
from tests import factories

LISTING: dict[str, Any] = {
    "reference": "ap-0001",
    "title": "Apartamento 2 dormitórios em Pinheiros",
    "type": "apartamento",
    "purpose": "venda",
    "price_cents": 650_000_00,
    "condo_fee_cents": 850_00,
    "iptu_cents": 210_00,
    "private_area": 72.5,
    "total_area": 98,
    "bedrooms": 2,
    "suites": 1,
    "bathrooms": 2,
    "parking": 1,
    "cep": "05422-010",
    "street": "Rua dos Pinheiros",
    "number": "1200",
    "complement": "apto 82",
    "neighbourhood": "Pinheiros",
    "city": "São Paulo",
    "uf": "sp",
    "latitude": -23.5614,
    "longitude": -46.6912,
    "features": ["varanda gourmet", "piscina", "piscina"],
    "photos": ["https://fotos.imobiliaria.com.br/ap-0001/sala.jpg"],
}


def _fields(response: httpx.Response) -> list[str]:
    return [e["field"] for e in response.json().get("errors", [])]


class TestCreatingAProperty:
    async def test_a_broker_creates_a_listing_with_its_address_normalised(
        self, as_broker: httpx.AsyncClient, broker: User
    ) -> None:
        response = await as_broker.post("/v1/properties", json={**LISTING, "listing_broker_id": str(broker.id)})
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["reference"] == "AP-0001"
        assert body["cep"] == "05422010"
        assert body["uf"] == "SP"
        assert body["status"] == "disponivel"
        assert body["private_area"] == 72.5
        assert body["features"] == ["varanda gourmet", "piscina"]
        assert body["listing_broker_id"] == str(broker.id)

    @pytest.mark.parametrize(
        ("field", "value"),
        [("cep", "0542-010"), ("uf", "XX"), ("latitude", -91), ("longitude", 181), ("price_cents", -1)],
    )
    async def test_a_bad_address_or_price_is_refused_naming_the_field(
        self, as_broker: httpx.AsyncClient, field: str, value: object
    ) -> None:
        response = await as_broker.post("/v1/properties", json={**LISTING, field: value})
        assert response.status_code == 422
        assert field in _fields(response)

    async def test_the_cep_error_says_why(self, as_broker: httpx.AsyncClient) -> None:
        response = await as_broker.post("/v1/properties", json={**LISTING, "cep": "123"})
        assert "8 digits" in response.json()["errors"][0]["message"]

    async def test_a_duplicate_reference_is_a_conflict_whatever_its_case(self, as_broker: httpx.AsyncClient) -> None:
        assert (await as_broker.post("/v1/properties", json=LISTING)).status_code == 201
        response = await as_broker.post("/v1/properties", json={**LISTING, "reference": "AP-0001 "})
        assert response.status_code == 409
        assert _fields(response) == ["reference"]

    async def test_the_reference_of_a_deleted_property_stays_taken(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        prop = await factories.make_property(db, tenant, reference="AP-0001")
        assert (await as_manager.delete(f"/v1/properties/{prop.id}")).status_code == 204
        response = await as_manager.post("/v1/properties", json=LISTING)
        assert response.status_code == 409
        assert "restore" in response.json()["detail"]

    async def test_more_suites_than_bedrooms_is_refused(self, as_broker: httpx.AsyncClient) -> None:
        response = await as_broker.post("/v1/properties", json={**LISTING, "bedrooms": 1, "suites": 2})
        assert response.status_code == 422
        assert _fields(response) == ["suites"]

    async def test_an_unknown_field_is_refused(self, as_broker: httpx.AsyncClient) -> None:
        response = await as_broker.post("/v1/properties", json={**LISTING, "preco": 1})
        assert response.status_code == 422

    async def test_an_inactive_listing_broker_is_refused(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        gone = await factories.make_user(db, tenant, role=Role.BROKER)
        await as_manager.patch(f"/v1/users/{gone.id}", json={"is_active": False})
        response = await as_manager.post("/v1/properties", json={**LISTING, "listing_broker_id": str(gone.id)})
        assert response.status_code == 422
        assert _fields(response) == ["listing_broker_id"]

    async def test_an_unknown_owner_person_is_404_naming_the_field(self, as_broker: httpx.AsyncClient) -> None:
        response = await as_broker.post(
            "/v1/properties", json={**LISTING, "owner_person_id": "0190a0a0-0000-7000-8000-000000000000"}
        )
        assert response.status_code == 404
        assert _fields(response) == ["owner_person_id"]

    async def test_the_owner_person_is_linked(self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant) -> None:
        owner = await factories.make_person(db, tenant, name="João Proprietário")
        response = await as_broker.post("/v1/properties", json={**LISTING, "owner_person_id": str(owner.id)})
        assert response.json()["owner_person_id"] == str(owner.id)

    async def test_a_viewer_cannot_create(self, as_viewer: httpx.AsyncClient) -> None:
        assert (await as_viewer.post("/v1/properties", json=LISTING)).status_code == 403


class TestCustomFields:
    @pytest.fixture
    async def aceita_permuta(self, db: Database, tenant: Tenant) -> None:
        async with db.session(factories.owner_scope(tenant)) as session:
            session.add(
                CustomFieldDefinition(
                    entity="property", key="aceita_permuta", label="Aceita permuta", type=CustomFieldType.BOOLEAN
                )
            )

    async def test_valid_custom_fields_are_kept(self, as_broker: httpx.AsyncClient, aceita_permuta: None) -> None:
        response = await as_broker.post("/v1/properties", json={**LISTING, "custom_fields": {"aceita_permuta": True}})
        assert response.json()["custom_fields"] == {"aceita_permuta": True}

    async def test_an_invalid_custom_field_is_refused_naming_its_key(
        self, as_broker: httpx.AsyncClient, aceita_permuta: None
    ) -> None:
        response = await as_broker.post("/v1/properties", json={**LISTING, "custom_fields": {"aceita_permuta": "sim"}})
        assert response.status_code == 422
        assert _fields(response) == ["custom_fields.aceita_permuta"]

    async def test_an_update_merges_custom_fields_and_null_removes_one(
        self, as_broker: httpx.AsyncClient, aceita_permuta: None
    ) -> None:
        created = (
            await as_broker.post("/v1/properties", json={**LISTING, "custom_fields": {"aceita_permuta": True}})
        ).json()
        kept = await as_broker.patch(f"/v1/properties/{created['id']}", json={"custom_fields": {}})
        assert kept.json()["custom_fields"] == {"aceita_permuta": True}
        removed = await as_broker.patch(
            f"/v1/properties/{created['id']}", json={"custom_fields": {"aceita_permuta": None}}
        )
        assert removed.json()["custom_fields"] == {}


class TestChangingAProperty:
    async def test_a_broker_changes_price_and_status(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        prop = await factories.make_property(db, tenant)
        response = await as_broker.patch(
            f"/v1/properties/{prop.id}", json={"price_cents": 630_000_00, "status": "reservado"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["price_cents"] == 630_000_00
        assert response.json()["status"] == "reservado"

    async def test_a_required_field_cannot_be_nulled(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        prop = await factories.make_property(db, tenant)
        response = await as_broker.patch(f"/v1/properties/{prop.id}", json={"type": None, "title": None})
        assert response.status_code == 422
        assert _fields(response) == ["type"]

    async def test_taking_another_listings_reference_is_a_conflict(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        await factories.make_property(db, tenant, reference="AP-0001")
        other = await factories.make_property(db, tenant, reference="CA-0002")
        response = await as_broker.patch(f"/v1/properties/{other.id}", json={"reference": "ap-0001"})
        assert response.status_code == 409

    async def test_a_bad_uf_in_a_change_is_refused(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        prop = await factories.make_property(db, tenant)
        response = await as_broker.patch(f"/v1/properties/{prop.id}", json={"uf": "São Paulo"})
        assert response.status_code == 422
        assert _fields(response) == ["uf"]

    async def test_latitude_without_longitude_is_refused(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        prop = await factories.make_property(db, tenant)
        response = await as_broker.patch(f"/v1/properties/{prop.id}", json={"latitude": -23.5})
        assert response.status_code == 422
        assert _fields(response) == ["longitude"]


class TestDeletingAProperty:
    async def test_deleting_is_soft_audited_and_restorable(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        prop = await factories.make_property(db, tenant)
        assert (await as_manager.delete(f"/v1/properties/{prop.id}")).status_code == 204
        assert (await as_manager.get(f"/v1/properties/{prop.id}")).status_code == 404
        assert (await as_manager.get("/v1/properties")).json()["items"] == []
        restored = await as_manager.post(f"/v1/properties/{prop.id}/restore")
        assert restored.status_code == 200
        assert restored.json()["deleted_at"] is None
        audit = (await as_manager.get("/v1/audit", params={"entity_id": str(prop.id)})).json()["items"]
        assert [e["action"] for e in audit][:2] == ["restore", "delete"]

    async def test_a_broker_cannot_delete(self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant) -> None:
        prop = await factories.make_property(db, tenant)
        assert (await as_broker.delete(f"/v1/properties/{prop.id}")).status_code == 403

    async def test_restoring_an_unknown_property_is_404(self, as_manager: httpx.AsyncClient) -> None:
        response = await as_manager.post("/v1/properties/0190a0a0-0000-7000-8000-000000000000/restore")
        assert response.status_code == 404


class TestListingProperties:
    @pytest.fixture
    async def catalogue(self, db: Database, tenant: Tenant, broker: User) -> dict[str, str]:
        rows = [
            ("AP-0001", {"price_cents": 650_000_00, "bedrooms": 2, "suites": 1, "parking": 1, "private_area": 70}),
            ("AP-0002", {"price_cents": 980_000_00, "bedrooms": 3, "suites": 2, "parking": 2, "private_area": 110,
                         "listing_broker_id": broker.id, "title": "Cobertura com vista"}),
            ("CA-0003", {"type": "casa", "purpose": "locacao", "price_cents": 6_500_00, "bedrooms": 3,
                         "neighbourhood": "Cambuí", "city": "Campinas", "street": "Rua Coronel Quirino"}),
            ("SL-0004", {"type": "sala_comercial", "price_cents": None, "bedrooms": None,
                         "status": PropertyStatus.SOLD, "neighbourhood": "Vila Madalena"}),
        ]  # fmt: skip
        ids = {}
        for reference, fields in rows:
            ids[reference] = str((await factories.make_property(db, tenant, reference=reference, **fields)).id)
        return ids

    async def _references(self, client: httpx.AsyncClient, **params: Any) -> list[str]:
        response = await client.get("/v1/properties", params=params)
        assert response.status_code == 200, response.text
        return [p["reference"] for p in response.json()["items"]]

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"type": "casa"}, {"CA-0003"}),
            ({"purpose": "locacao"}, {"CA-0003"}),
            ({"status": "vendido"}, {"SL-0004"}),
            ({"city": "campinas"}, {"CA-0003"}),
            ({"city": "sao paulo"}, {"AP-0001", "AP-0002", "SL-0004"}),
            ({"neighbourhood": "PINHEIROS"}, {"AP-0001", "AP-0002"}),
            ({"neighbourhood": "CAMBUI"}, {"CA-0003"}),
            ({"uf": "sp"}, {"AP-0001", "AP-0002", "CA-0003", "SL-0004"}),
            ({"price_min": 500_000_00, "price_max": 700_000_00}, {"AP-0001"}),
            ({"bedrooms_min": 3}, {"AP-0002", "CA-0003"}),
            ({"suites_min": 2}, {"AP-0002"}),
            ({"parking_min": 2}, {"AP-0002"}),
            ({"area_min": 100}, {"AP-0002"}),
            ({"area_max": 80}, {"AP-0001"}),
            ({"q": "sl-00"}, {"SL-0004"}),
            ({"q": "cobertura"}, {"AP-0002"}),
            ({"q": "quirino"}, {"CA-0003"}),
            ({"q": "madalena"}, {"SL-0004"}),
            ({"q": "100%"}, set()),
        ],
    )
    async def test_each_filter_narrows_the_list(
        self, as_viewer: httpx.AsyncClient, catalogue: dict[str, str], params: dict[str, Any], expected: set[str]
    ) -> None:
        assert set(await self._references(as_viewer, **params)) == expected

    async def test_filtering_by_listing_broker(
        self, as_viewer: httpx.AsyncClient, catalogue: dict[str, str], broker: User
    ) -> None:
        assert await self._references(as_viewer, listing_broker_id=str(broker.id)) == ["AP-0002"]

    async def test_sorting_by_price_puts_unpriced_listings_last_and_paginates(
        self, as_viewer: httpx.AsyncClient, catalogue: dict[str, str]
    ) -> None:
        seen: list[str] = []
        cursor = None
        for _ in range(4):
            params: dict[str, Any] = {"sort": "price_cents", "limit": 1} | ({"cursor": cursor} if cursor else {})
            page = (await as_viewer.get("/v1/properties", params=params)).json()
            seen += [p["reference"] for p in page["items"]]
            cursor = page["next_cursor"]
        assert seen == ["CA-0003", "AP-0001", "AP-0002", "SL-0004"]
        assert cursor is None

    async def test_sorting_by_price_descending(self, as_viewer: httpx.AsyncClient, catalogue: dict[str, str]) -> None:
        assert await self._references(as_viewer, sort="-price_cents") == ["AP-0002", "AP-0001", "CA-0003", "SL-0004"]

    async def test_the_default_sort_is_newest_first_with_a_stable_cursor(
        self, as_viewer: httpx.AsyncClient, catalogue: dict[str, str]
    ) -> None:
        first = (await as_viewer.get("/v1/properties", params={"limit": 3})).json()
        second = (await as_viewer.get("/v1/properties", params={"limit": 3, "cursor": first["next_cursor"]})).json()
        references = [p["reference"] for p in first["items"] + second["items"]]
        assert references == ["SL-0004", "CA-0003", "AP-0002", "AP-0001"]

    async def test_a_cursor_of_another_sort_is_a_bad_request(
        self, as_viewer: httpx.AsyncClient, catalogue: dict[str, str]
    ) -> None:
        cursor = (await as_viewer.get("/v1/properties", params={"limit": 1})).json()["next_cursor"]
        response = await as_viewer.get("/v1/properties", params={"sort": "price_cents", "cursor": cursor})
        assert response.status_code == 400

    async def test_an_unknown_sort_is_refused(self, as_viewer: httpx.AsyncClient) -> None:
        assert (await as_viewer.get("/v1/properties", params={"sort": "title"})).status_code == 422


class TestFindingByReference:
    async def test_the_portal_finds_a_listing_by_its_code_in_any_case(self, db: Database, tenant: Tenant) -> None:
        prop = await factories.make_property(db, tenant, reference="AP-0001")
        async with db.session(factories.owner_scope(tenant)) as session:
            found = await service.find_property_by_reference(
                session, factories.owner_scope(tenant), reference=" ap-0001"
            )
            missing = await service.find_property_by_reference(session, factories.owner_scope(tenant), reference="X-1")
        assert found is not None
        assert found.id == prop.id
        assert missing is None

    async def test_another_tenants_reference_is_not_found(
        self, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        await factories.make_property(db, other_tenant, reference="AP-0001")
        async with db.session(factories.owner_scope(tenant)) as session:
            found = await service.find_property_by_reference(
                session, factories.owner_scope(tenant), reference="AP-0001"
            )
        assert found is None
