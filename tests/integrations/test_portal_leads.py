"""Grupo ZAP/OLX lead webhook (contracts §6.1) through real HTTP requests: Basic auth, originLeadId as the
idempotency key, clientListingId resolved to our property and its captador."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from leadflow.bus.dispatcher import Dispatcher
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import Event, FailureType, Property, Tenant
from tests.capture.factories import rejected_of
from tests.integrations.conftest import basic, drain_now, portal_lead, post_portal_lead
from tests.pipeline.conftest import SalesTeam, leads_of


async def rows(db: Database, tenant: Tenant, model: Any) -> list[Any]:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        return list((await session.scalars(select(model))).all())


class TestPortalLead:
    async def test_a_portal_lead_delivered_twice_creates_one_lead(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        zap: dict[str, Any],
        listing: Property,
        worker: Dispatcher,
    ) -> None:
        first = await post_portal_lead(anonymous, portal_lead())
        await drain_now(worker)
        second = await post_portal_lead(anonymous, portal_lead())
        await drain_now(worker)
        assert first.status_code == 200
        assert second.status_code == 200
        assert second.json()["duplicate"] is True
        assert len(await leads_of(as_sales_manager)) == 1

    async def test_the_lead_is_on_the_listing_and_goes_to_its_captador_first(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        zap: dict[str, Any],
        listing: Property,
        sales: SalesTeam,
        worker: Dispatcher,
    ) -> None:
        await post_portal_lead(anonymous, portal_lead())
        await drain_now(worker)
        [lead] = await leads_of(as_sales_manager)
        assert lead["property_id"] == str(listing.id)
        assert lead["owner_id"] == str(sales.brokers[1].id)
        assert lead["channel"] == "Portals"
        assert lead["source"] == "olx"

    async def test_two_different_portal_leads_of_the_same_person_reconvert_one_lead(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        zap: dict[str, Any],
        listing: Property,
        worker: Dispatcher,
    ) -> None:
        await post_portal_lead(anonymous, portal_lead("lead-1"))
        await post_portal_lead(anonymous, portal_lead("lead-2"))
        await drain_now(worker)
        assert len(await leads_of(as_sales_manager)) == 1

    async def test_wrong_basic_credentials_are_401_and_kept_as_rejected(
        self, anonymous: httpx.AsyncClient, zap: dict[str, Any], listing: Property, db: Database, tenant: Tenant
    ) -> None:
        response = await post_portal_lead(anonymous, portal_lead(), headers=basic(password="wrong-password"))
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic")
        [rejected] = await rejected_of(db, tenant)
        assert rejected.failure_type is FailureType.AUTHENTICATION
        assert rejected.source == "zap"
        assert await rows(db, tenant, Event) == []

    async def test_no_authorization_at_all_is_401(
        self, anonymous: httpx.AsyncClient, zap: dict[str, Any], listing: Property
    ) -> None:
        response = await post_portal_lead(anonymous, portal_lead(), headers={})
        assert response.status_code == 401

    async def test_an_unknown_listing_is_a_4xx_so_the_portal_keeps_and_redelivers_it(
        self, anonymous: httpx.AsyncClient, zap: dict[str, Any], listing: Property, db: Database, tenant: Tenant
    ) -> None:
        response = await post_portal_lead(anonymous, portal_lead(clientListingId="XX-9999"))
        assert response.status_code == 404
        [rejected] = await rejected_of(db, tenant)
        assert rejected.failure_type is FailureType.UNKNOWN_REFERENCE
        assert "XX-9999" in rejected.raw

    async def test_a_missing_listing_id_is_400(
        self, anonymous: httpx.AsyncClient, zap: dict[str, Any], listing: Property
    ) -> None:
        body = portal_lead()
        del body["clientListingId"]
        response = await post_portal_lead(anonymous, body)
        assert response.status_code == 400

    async def test_a_body_that_is_not_json_is_400_and_kept(
        self, anonymous: httpx.AsyncClient, zap: dict[str, Any], db: Database, tenant: Tenant
    ) -> None:
        response = await anonymous.post("/hooks/zap/acme-zap", content=b"{not json", headers=basic())
        assert response.status_code == 400
        [rejected] = await rejected_of(db, tenant)
        assert rejected.failure_type is FailureType.MALFORMED_JSON
        assert rejected.raw == "{not json"
