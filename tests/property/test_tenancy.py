"""Cross-tenant twins: another tenant's properties, developments and leads are 404 on every route, are never
matched, and their ids in a body are 404 naming the field."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from leadflow.kit.db import Database
from leadflow.models import Development, Lead, Property, Role, Tenant, User
from tests import factories
from tests.property.factories import make_development, make_interest, make_open_lead

LISTING: dict[str, Any] = {"reference": "AP-0100", "type": "apartamento", "purpose": "venda"}


class Rival:
    def __init__(self, prop: Property, development: Development, lead: Lead, broker: User) -> None:
        self.prop, self.development, self.lead, self.broker = prop, development, lead, broker


@pytest.fixture
async def rival(db: Database, other_tenant: Tenant) -> Rival:
    development = await make_development(db, other_tenant)
    prop = await factories.make_property(db, other_tenant, reference="AP-RIVAL", development_id=development.id)
    broker = await factories.make_user(db, other_tenant, role=Role.BROKER)
    lead = await make_open_lead(db, other_tenant, owner=broker, property_id=prop.id)
    await make_interest(db, other_tenant, lead, property_types=["apartamento"], cities=["São Paulo"])
    return Rival(prop, development, lead, broker)


def _routes(r: Rival) -> list[tuple[str, str, dict[str, Any] | None]]:
    p, d = r.prop.id, r.development.id
    return [
        ("GET", f"/v1/properties/{p}", None),
        ("PATCH", f"/v1/properties/{p}", {"title": "Invadido"}),
        ("DELETE", f"/v1/properties/{p}", None),
        ("POST", f"/v1/properties/{p}/restore", None),
        ("GET", f"/v1/properties/{p}/matches", None),
        ("GET", f"/v1/developments/{d}", None),
        ("PATCH", f"/v1/developments/{d}", {"name": "Invadido"}),
        ("DELETE", f"/v1/developments/{d}", None),
        ("POST", f"/v1/developments/{d}/restore", None),
        ("GET", f"/v1/developments/{d}/units", None),
        ("POST", f"/v1/developments/{d}/units", {**LISTING, "reference": "AP-0101"}),
        ("GET", f"/v1/leads/{r.lead.id}/matches", None),
    ]


class TestAnotherTenantsRows:
    async def test_every_route_answers_404_for_another_tenants_ids(
        self, as_owner: httpx.AsyncClient, rival: Rival
    ) -> None:
        for method, path, body in _routes(rival):
            response = await as_owner.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
            assert "AP-RIVAL" not in response.text

    async def test_another_tenants_rows_are_untouched(
        self, as_owner: httpx.AsyncClient, rival: Rival, db: Database, other_tenant: Tenant
    ) -> None:
        for method, path, body in _routes(rival):
            await as_owner.request(method, path, json=body)
        async with db.session(factories.owner_scope(other_tenant)) as session:
            prop = await session.get_one(Property, rival.prop.id)
            development = await session.get_one(Development, rival.development.id)
        assert (prop.title, prop.deleted_at) == (None, None)
        assert (development.name, development.deleted_at) == ("Residencial Aurora", None)

    async def test_lists_show_nothing_of_another_tenant(self, as_owner: httpx.AsyncClient, rival: Rival) -> None:
        assert (await as_owner.get("/v1/properties")).json()["items"] == []
        assert (await as_owner.get("/v1/developments")).json()["items"] == []
        assert (await as_owner.get("/v1/properties", params={"q": "rival"})).json()["items"] == []

    async def test_a_reference_used_by_another_tenant_is_free_here(
        self, as_owner: httpx.AsyncClient, rival: Rival
    ) -> None:
        response = await as_owner.post("/v1/properties", json={**LISTING, "reference": "AP-RIVAL"})
        assert response.status_code == 201

    async def test_a_slug_used_by_another_tenant_is_free_here(self, as_owner: httpx.AsyncClient, rival: Rival) -> None:
        response = await as_owner.post("/v1/developments", json={"name": "Residencial Aurora", "phase": "pronto"})
        assert response.json()["slug"] == "residencial-aurora"


class TestMatchingStaysInTheTenant:
    async def test_another_tenants_properties_are_never_matched(
        self, as_owner: httpx.AsyncClient, rival: Rival, db: Database, tenant: Tenant
    ) -> None:
        lead = await make_open_lead(db, tenant)
        await make_interest(db, tenant, lead, property_types=["apartamento"], cities=["São Paulo"])
        items = (await as_owner.get(f"/v1/leads/{lead.id}/matches")).json()["items"]
        assert items == []

    async def test_another_tenants_leads_are_never_matched(
        self, as_owner: httpx.AsyncClient, rival: Rival, db: Database, tenant: Tenant
    ) -> None:
        prop = await factories.make_property(db, tenant, reference="AP-0001")
        items = (await as_owner.get(f"/v1/properties/{prop.id}/matches")).json()["items"]
        assert items == []


class TestAnotherTenantsIdsInABody:
    @pytest.mark.parametrize("field", ["listing_broker_id", "owner_person_id", "development_id"])
    async def test_creating_with_another_tenants_id_is_404_naming_the_field(
        self, as_owner: httpx.AsyncClient, rival: Rival, field: str
    ) -> None:
        ids = {
            "listing_broker_id": rival.broker.id,
            "owner_person_id": rival.lead.person_id,
            "development_id": rival.development.id,
        }
        response = await as_owner.post("/v1/properties", json={**LISTING, field: str(ids[field])})
        assert response.status_code == 404
        assert [e["field"] for e in response.json()["errors"]] == [field]

    @pytest.mark.parametrize("field", ["listing_broker_id", "owner_person_id", "development_id"])
    async def test_changing_to_another_tenants_id_is_404_naming_the_field(
        self, as_owner: httpx.AsyncClient, rival: Rival, db: Database, tenant: Tenant, field: str
    ) -> None:
        prop = await factories.make_property(db, tenant)
        ids = {
            "listing_broker_id": rival.broker.id,
            "owner_person_id": rival.lead.person_id,
            "development_id": rival.development.id,
        }
        response = await as_owner.patch(f"/v1/properties/{prop.id}", json={field: str(ids[field])})
        assert response.status_code == 404
        assert [e["field"] for e in response.json()["errors"]] == [field]

    async def test_a_unit_with_another_tenants_broker_is_404(
        self, as_owner: httpx.AsyncClient, rival: Rival, db: Database, tenant: Tenant
    ) -> None:
        development = await make_development(db, tenant)
        response = await as_owner.post(
            f"/v1/developments/{development.id}/units", json={**LISTING, "listing_broker_id": str(rival.broker.id)}
        )
        assert response.status_code == 404
        assert response.json()["errors"][0]["field"] == "listing_broker_id"
