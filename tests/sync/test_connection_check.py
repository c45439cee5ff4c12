"""Checking a CRM connection (``POST /v1/sync/{provider}/test``): the CRM is asked, over real HTTP, whether the token
opens the account and whether the field our pushes key on exists; the answer says what to fix and becomes the
connection's health. A manager's action; another tenant's connection is not found."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from leadflow.kit.db import Database
from leadflow.models import Role, Tenant
from tests import factories
from tests.sync import test_hubspot, test_pipedrive, test_rdstation, test_salesforce
from tests.sync.fake_hubspot import FakeHubSpot
from tests.sync.fake_pipedrive import ID_FIELD, FakePipedrive
from tests.sync.fake_rdstation import FakeRdStation
from tests.sync.fake_salesforce import EXTERNAL_ID, FakeSalesforce


async def check(client: httpx.AsyncClient, provider: str) -> dict[str, Any]:
    response = await client.post(f"/v1/sync/{provider}/test")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def health(client: httpx.AsyncClient, provider: str) -> dict[str, Any]:
    shown: dict[str, Any] = (await client.get(f"/v1/sync/{provider}")).json()
    return shown


class TestHubSpot:
    async def test_a_working_token_and_unique_id_property_pass(
        self, as_manager: httpx.AsyncClient, hubspot: FakeHubSpot
    ) -> None:
        await test_hubspot.connect(as_manager)
        assert await check(as_manager, "hubspot") == {"ok": True, "detail": None}
        assert (await health(as_manager, "hubspot"))["last_success_at"] is not None
        [asked] = [r for r in hubspot.server.received if r.method == "GET"]
        assert asked.path == "/crm/v3/properties/contacts/leadflow_id"

    async def test_a_missing_id_property_says_to_create_it(
        self, as_manager: httpx.AsyncClient, hubspot: FakeHubSpot
    ) -> None:
        await test_hubspot.connect(as_manager, id_property="leadflow_person_id")
        result = await check(as_manager, "hubspot")
        assert result["ok"] is False
        assert "leadflow_person_id does not exist in HubSpot" in result["detail"]
        assert (await health(as_manager, "hubspot"))["last_error"] == result["detail"]

    async def test_an_id_property_without_unique_values_is_refused(
        self, as_manager: httpx.AsyncClient, hubspot: FakeHubSpot
    ) -> None:
        await test_hubspot.connect(as_manager, id_property="phone")
        result = await check(as_manager, "hubspot")
        assert (result["ok"], result["detail"]) == (
            False,
            "the contact property phone must have unique values in HubSpot",
        )

    async def test_a_revoked_token_is_hubspots_own_refusal(
        self, as_manager: httpx.AsyncClient, hubspot: FakeHubSpot
    ) -> None:
        response = await as_manager.put("/v1/sync/hubspot", json={"access_token": "pat-revoked-token"})
        assert response.status_code == 200
        result = await check(as_manager, "hubspot")
        assert (result["ok"], result["detail"]) == (
            False,
            "INVALID_AUTHENTICATION: Authentication credentials not found.",
        )


class TestPipedrive:
    async def test_a_working_token_and_id_field_pass(
        self, as_manager: httpx.AsyncClient, pipedrive: FakePipedrive
    ) -> None:
        await test_pipedrive.connect(as_manager)
        assert await check(as_manager, "pipedrive") == {"ok": True, "detail": None}

    async def test_an_unknown_id_field_says_to_create_it(
        self, as_manager: httpx.AsyncClient, pipedrive: FakePipedrive
    ) -> None:
        pipedrive.person_fields = [f for f in pipedrive.person_fields if f["key"] != ID_FIELD]
        await test_pipedrive.connect(as_manager)
        result = await check(as_manager, "pipedrive")
        assert result["ok"] is False
        assert f"no person field with key {ID_FIELD}" in result["detail"]


class TestSalesforce:
    async def test_an_external_id_field_passes(self, as_manager: httpx.AsyncClient, salesforce: FakeSalesforce) -> None:
        await test_salesforce.connect(as_manager, salesforce)
        assert await check(as_manager, "salesforce") == {"ok": True, "detail": None}

    async def test_a_field_that_is_not_an_external_id_is_named(
        self, as_manager: httpx.AsyncClient, salesforce: FakeSalesforce
    ) -> None:
        salesforce.plain_fields.add("Codigo_Interno__c")
        await test_salesforce.connect(as_manager, salesforce, external_id_field="Codigo_Interno__c")
        result = await check(as_manager, "salesforce")
        assert result == {"ok": False, "detail": "Lead.Codigo_Interno__c is not marked External ID in Salesforce"}

    async def test_a_missing_field_says_to_create_it(
        self, as_manager: httpx.AsyncClient, salesforce: FakeSalesforce
    ) -> None:
        await test_salesforce.connect(as_manager, salesforce, external_id_field="Origem_Leadflow__c")
        result = await check(as_manager, "salesforce")
        assert result["ok"] is False
        assert "Lead has no field Origem_Leadflow__c" in result["detail"]
        assert EXTERNAL_ID not in result["detail"]

    async def test_an_expired_session_is_salesforces_own_refusal(
        self, as_manager: httpx.AsyncClient, salesforce: FakeSalesforce
    ) -> None:
        await test_salesforce.connect(as_manager, salesforce)
        salesforce.token = "00D5g000004Wxyz!rotated"
        result = await check(as_manager, "salesforce")
        assert (result["ok"], result["detail"]) == (False, "INVALID_SESSION_ID: Session expired or invalid")


class TestRdStation:
    async def test_a_working_token_and_id_field_pass(
        self, as_manager: httpx.AsyncClient, rdstation: FakeRdStation
    ) -> None:
        await test_rdstation.connect(as_manager, rdstation)
        assert await check(as_manager, "rdstation") == {"ok": True, "detail": None}

    async def test_a_deal_field_is_not_a_contact_field(
        self, as_manager: httpx.AsyncClient, rdstation: FakeRdStation
    ) -> None:
        await test_rdstation.connect(as_manager, rdstation, id_field_id=test_rdstation.CHANNEL_FIELD)
        result = await check(as_manager, "rdstation")
        assert result["ok"] is False
        assert f"no contact custom field {test_rdstation.CHANNEL_FIELD}" in result["detail"]


class TestHealth:
    async def test_shows_the_pushes_waiting_as_the_backlog(
        self, as_manager: httpx.AsyncClient, hubspot: FakeHubSpot
    ) -> None:
        await test_hubspot.connect(as_manager)
        assert (await health(as_manager, "hubspot"))["backlog"] == 0
        await as_manager.post("/v1/sync/hubspot/resync", json={})  # queued, the worker has not taken it
        assert (await health(as_manager, "hubspot"))["backlog"] == 1


class TestWhoMayCheck:
    async def test_without_a_connection_it_is_not_found(self, as_manager: httpx.AsyncClient) -> None:
        assert (await as_manager.post("/v1/sync/hubspot/test")).status_code == 404

    async def test_a_broker_may_not(self, as_manager: httpx.AsyncClient, as_broker: httpx.AsyncClient) -> None:
        await test_hubspot.connect(as_manager)
        assert (await as_broker.post("/v1/sync/hubspot/test")).status_code == 403

    async def test_another_tenants_connection_is_not_found(
        self, app: FastAPI, db: Database, as_manager: httpx.AsyncClient, other_tenant: Tenant, hubspot: FakeHubSpot
    ) -> None:
        await test_hubspot.connect(as_manager)
        rival = await factories.make_user(db, other_tenant, role=Role.MANAGER)
        async with factories.logged_in(app, other_tenant, rival) as client:
            assert (await client.post("/v1/sync/hubspot/test")).status_code == 404
        assert [r for r in hubspot.server.received if r.method == "GET"] == []
