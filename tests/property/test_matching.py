"""Matching both ways: properties for a lead and leads for a property, ranked, with the reasons shown."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from leadflow.kit.db import Database
from leadflow.models import Lead, LeadStatus, ListingPurpose, Property, PropertyStatus, Purpose, Role, Tenant, User
from tests import factories
from tests.property.factories import make_development, make_interest, make_open_lead

WANTS_PINHEIROS: dict[str, Any] = {
    "purpose": Purpose.BUY,
    "property_types": ["apartamento"],
    "price_min_cents": 500_000_00,
    "price_max_cents": 700_000_00,
    "bedrooms_min": 2,
    "suites_min": 1,
    "parking_min": 1,
    "area_min": Decimal(60),
    "neighbourhoods": ["Pinheiros", "Vila Madalena"],
    "cities": ["São Paulo"],
}
FITS: dict[str, Any] = {"price_cents": 650_000_00, "bedrooms": 2, "suites": 1, "parking": 1, "private_area": 70}


async def _exact_fit(db: Database, tenant: Tenant, reference: str = "AP-EXATO", **fields: Any) -> Property:
    return await factories.make_property(db, tenant, reference=reference, **{**FITS, **fields})


def _reasons(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["criterion"]: r for r in item["reasons"]}


@pytest.fixture
async def lead(db: Database, tenant: Tenant, broker: User) -> Lead:
    lead = await make_open_lead(db, tenant, owner=broker)
    await make_interest(db, tenant, lead, **WANTS_PINHEIROS)
    return lead


class TestPropertiesForALead:
    async def test_an_exact_fit_ranks_above_a_partial_one_with_the_reasons(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        partial = await _exact_fit(db, tenant, "AP-PARCIAL", price_cents=760_000_00, suites=0, neighbourhood="Perdizes")
        exact = await _exact_fit(db, tenant)
        response = await as_owner.get(f"/v1/leads/{lead.id}/matches")
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert [i["property"]["id"] for i in items] == [str(exact.id), str(partial.id)]
        assert items[0]["score"] == 100
        assert 0 < items[1]["score"] < items[0]["score"]
        price = _reasons(items[0])["price"]
        assert price == {
            "criterion": "price",
            "matched": True,
            "detail": "R$ 650.000 dentro da faixa de R$ 500.000 a R$ 700.000",
            "points": 6,
            "max_points": 6,
        }
        partial_reasons = _reasons(items[1])
        assert partial_reasons["price"]["matched"] is False
        assert partial_reasons["price"]["points"] == 3
        assert "até 10%" in partial_reasons["price"]["detail"]
        assert partial_reasons["suites"]["matched"] is False
        assert partial_reasons["neighbourhood"]["detail"].startswith("Perdizes; procura Pinheiros")

    async def test_a_price_beyond_the_tolerance_scores_nothing_for_price(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        await _exact_fit(db, tenant, price_cents=800_000_00)
        item = (await as_owner.get(f"/v1/leads/{lead.id}/matches")).json()["items"][0]
        assert _reasons(item)["price"]["points"] == 0

    async def test_sold_reserved_rented_and_other_purposes_or_cities_are_left_out(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        exact = await _exact_fit(db, tenant)
        await _exact_fit(db, tenant, "AP-VENDIDO", status=PropertyStatus.SOLD)
        await _exact_fit(db, tenant, "AP-RESERVADO", status=PropertyStatus.RESERVED)
        await _exact_fit(db, tenant, "AP-INATIVO", status=PropertyStatus.INACTIVE)
        await _exact_fit(db, tenant, "AP-LOCACAO", purpose=ListingPurpose.RENT)
        await _exact_fit(db, tenant, "AP-CAMPINAS", city="Campinas")
        items = (await as_owner.get(f"/v1/leads/{lead.id}/matches")).json()["items"]
        assert [i["property"]["id"] for i in items] == [str(exact.id)]

    async def test_the_city_is_compared_without_case(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        await _exact_fit(db, tenant, city="SÃO PAULO")
        items = (await as_owner.get(f"/v1/leads/{lead.id}/matches")).json()["items"]
        assert len(items) == 1

    async def test_units_of_the_development_of_interest_qualify_outside_the_wanted_cities(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, broker: User
    ) -> None:
        aurora = await make_development(db, tenant)  # in Campinas
        lead = await make_open_lead(db, tenant, owner=broker, development_id=aurora.id)
        await make_interest(db, tenant, lead, **WANTS_PINHEIROS)
        unit = await _exact_fit(db, tenant, "AUR-A-101", development_id=aurora.id, city="Campinas")
        item = (await as_owner.get(f"/v1/leads/{lead.id}/matches")).json()["items"][0]
        assert item["property"]["id"] == str(unit.id)
        assert _reasons(item)["development"] == {
            "criterion": "development",
            "matched": True,
            "detail": "unidade do empreendimento de interesse",
            "points": 6,
            "max_points": 6,
        }
        assert _reasons(item)["city"]["matched"] is False

    async def test_a_portal_lead_with_only_a_listing_gets_it_first_then_similar_ones(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, broker: User
    ) -> None:
        asked = await _exact_fit(db, tenant, "AP-PORTAL")
        similar = await _exact_fit(db, tenant, "AP-SIMILAR")
        await _exact_fit(db, tenant, "AP-ALUGUEL", purpose=ListingPurpose.RENT)
        lead = await make_open_lead(db, tenant, owner=broker, property_id=asked.id)
        items = (await as_owner.get(f"/v1/leads/{lead.id}/matches")).json()["items"]
        assert [i["property"]["id"] for i in items] == [str(asked.id), str(similar.id)]
        assert _reasons(items[0])["property"]["matched"] is True
        assert _reasons(items[1])["property"]["detail"] == "outro imóvel que não o de interesse (AP-PORTAL)"

    async def test_a_lead_with_no_interest_has_no_matches(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, broker: User
    ) -> None:
        await _exact_fit(db, tenant)
        lead = await make_open_lead(db, tenant, owner=broker)
        assert (await as_owner.get(f"/v1/leads/{lead.id}/matches")).json() == {"items": [], "next_cursor": None}

    async def test_limit_and_min_score_trim_the_list(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        await _exact_fit(db, tenant)
        await _exact_fit(db, tenant, "AP-2")
        await _exact_fit(db, tenant, "AP-FRACO", price_cents=2_000_000_00, bedrooms=1, suites=0, parking=0)
        url = f"/v1/leads/{lead.id}/matches"
        assert len((await as_owner.get(url, params={"limit": 1})).json()["items"]) == 1
        assert len((await as_owner.get(url, params={"min_score": 90})).json()["items"]) == 2
        assert (await as_owner.get(url, params={"limit": 0})).status_code == 422

    async def test_an_unknown_lead_is_404(self, as_owner: httpx.AsyncClient) -> None:
        response = await as_owner.get("/v1/leads/0190a0a0-0000-7000-8000-000000000000/matches")
        assert response.status_code == 404


class TestLeadsForAProperty:
    async def test_open_leads_whose_interest_fits_are_ranked_with_their_summary(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, broker: User, lead: Lead
    ) -> None:
        prop = await _exact_fit(db, tenant)
        partial = await make_open_lead(db, tenant, owner=broker)
        await make_interest(db, tenant, partial, **{**WANTS_PINHEIROS, "neighbourhoods": ["Moema"], "suites_min": 2})
        renter = await make_open_lead(db, tenant, owner=broker)
        await make_interest(db, tenant, renter, **{**WANTS_PINHEIROS, "purpose": Purpose.RENT})
        elsewhere = await make_open_lead(db, tenant, owner=broker)
        await make_interest(db, tenant, elsewhere, **{**WANTS_PINHEIROS, "cities": ["Campinas"]})
        lost = await make_open_lead(db, tenant, owner=broker, status=LeadStatus.LOST)
        await make_interest(db, tenant, lost, **WANTS_PINHEIROS)
        response = await as_owner.get(f"/v1/properties/{prop.id}/matches")
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert [i["lead"]["id"] for i in items] == [str(lead.id), str(partial.id)]
        assert items[0]["score"] == 100
        assert items[0]["lead"] == {
            "id": str(lead.id),
            "person_id": str(lead.person_id),
            "pipeline_id": str(lead.pipeline_id),
            "stage_id": str(lead.stage_id),
            "owner_id": str(broker.id),
            "status": "open",
            "title": None,
        }
        assert _reasons(items[1])["neighbourhood"]["matched"] is False

    async def test_a_lead_that_asked_about_the_property_fits_it_without_an_interest(
        self, as_owner: httpx.AsyncClient, db: Database, tenant: Tenant, broker: User
    ) -> None:
        prop = await _exact_fit(db, tenant)
        asked = await make_open_lead(db, tenant, owner=broker, property_id=prop.id)
        items = (await as_owner.get(f"/v1/properties/{prop.id}/matches")).json()["items"]
        assert [(i["lead"]["id"], i["score"]) for i in items] == [(str(asked.id), 100)]

    async def test_an_unknown_property_is_404(self, as_owner: httpx.AsyncClient) -> None:
        response = await as_owner.get("/v1/properties/0190a0a0-0000-7000-8000-000000000000/matches")
        assert response.status_code == 404


class TestLeadVisibility:
    """Matching reads leads through the scoped session, so the lead visibility rule (brokers see their own) applies."""

    @pytest.fixture
    async def colleagues_lead(self, db: Database, tenant: Tenant) -> Lead:
        colleague = await factories.make_user(db, tenant, role=Role.BROKER)
        lead = await make_open_lead(db, tenant, owner=colleague)
        await make_interest(db, tenant, lead, **WANTS_PINHEIROS)
        return lead

    async def test_a_broker_cannot_match_a_colleagues_lead(
        self, as_broker: httpx.AsyncClient, colleagues_lead: Lead
    ) -> None:
        assert (await as_broker.get(f"/v1/leads/{colleagues_lead.id}/matches")).status_code == 404

    async def test_a_broker_sees_only_their_own_leads_in_a_propertys_matches(
        self,
        as_broker: httpx.AsyncClient,
        as_owner: httpx.AsyncClient,
        db: Database,
        tenant: Tenant,
        lead: Lead,
        colleagues_lead: Lead,
    ) -> None:
        prop = await _exact_fit(db, tenant)
        mine = (await as_broker.get(f"/v1/properties/{prop.id}/matches")).json()["items"]
        everyone = (await as_owner.get(f"/v1/properties/{prop.id}/matches")).json()["items"]
        assert [i["lead"]["id"] for i in mine] == [str(lead.id)]
        assert {i["lead"]["id"] for i in everyone} == {str(lead.id), str(colleagues_lead.id)}

    async def test_a_broker_matches_their_own_lead(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, lead: Lead
    ) -> None:
        await _exact_fit(db, tenant)
        assert len((await as_broker.get(f"/v1/leads/{lead.id}/matches")).json()["items"]) == 1
