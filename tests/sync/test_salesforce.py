"""Salesforce CRM sync: records upserted by an External ID field holding our person id, against a fake org over
real HTTP. One record per person whatever happens (duplicate events, a crash after the write), the tenant's field
mapping, 429/5xx retried honouring Retry-After, a refused token marking the connection unhealthy, re-sync, and
tenants isolated (each tenant's connection, and only it, carries its people)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select

from leadflow.bus.dispatcher import Dispatcher
from leadflow.integrations.salesforce.client import SalesforceClient, SalesforceError
from leadflow.kit.db import Database
from leadflow.kit.http import RetryPolicy, SsrfPolicy
from leadflow.kit.scope import Scope
from leadflow.models import CrmConnection, ExternalRef, OutboxMessage, Role, Tenant
from tests import factories
from tests.bus.conftest import Clock
from tests.loopback import Reply
from tests.sync.conftest import drain
from tests.sync.fake_salesforce import (
    CLIENT_ID,
    CLIENT_SECRET,
    EXTERNAL_ID,
    REFRESH_TOKEN,
    TOKEN,
    FakeSalesforce,
    errors,
)

LOOPBACK = SsrfPolicy(allow_loopback=True)


async def connect(client: httpx.AsyncClient, org: FakeSalesforce, **settings: Any) -> dict[str, Any]:
    body = {"instance_url": org.url, "access_token": org.token, **settings}
    response = await client.put("/v1/sync/salesforce", json=body)
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()
    return shown


async def create_lead(client: httpx.AsyncClient, name: str = "Maria Silva", **person: Any) -> dict[str, Any]:
    response = await client.post(
        "/v1/leads",
        json={"person": {"name": name, "emails": ["maria@example.com"], "phones": ["(11) 98765-4321"], **person}},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def refs_of(db: Database, tenant: Tenant) -> list[ExternalRef]:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        return list((await session.scalars(select(ExternalRef))).all())


def fields_of(org: FakeSalesforce, person_id: str) -> dict[str, Any]:
    [record_id] = org.matching("Lead", EXTERNAL_ID, person_id)
    fields: dict[str, Any] = org.records[record_id]["fields"]
    return fields


@pytest.fixture
async def funnel(db: Database, tenant: Tenant) -> None:
    await factories.make_pipeline(db, tenant)


@pytest.fixture
async def rival_org() -> AsyncIterator[FakeSalesforce]:
    org = FakeSalesforce(token="00D5g000009Rival!other.tenant.token")
    org.server.start()
    try:
        yield org
    finally:
        org.server.stop()


class TestSalesforceClient:
    def _client(self, org: FakeSalesforce, token: str = TOKEN) -> tuple[SalesforceClient, list[float]]:
        delays: list[float] = []

        async def sleep(seconds: float) -> None:
            delays.append(seconds)

        client = SalesforceClient(org.url, token, policy=LOOPBACK, retry=RetryPolicy(attempts=3), sleep=sleep)
        return client, delays

    async def test_upserts_by_the_external_id_with_a_bearer_token(self, salesforce: FakeSalesforce) -> None:
        client, _ = self._client(salesforce)
        created = await client.upsert("Lead", EXTERNAL_ID, "p-1", {"LastName": "Silva", "Company": "PF"})
        assert created.created
        [request] = salesforce.upserts
        assert request.path == f"/services/data/v62.0/sobjects/Lead/{EXTERNAL_ID}/p-1"
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.json() == {"LastName": "Silva", "Company": "PF"}

    async def test_a_second_upsert_updates_the_same_record(self, salesforce: FakeSalesforce) -> None:
        client, _ = self._client(salesforce)
        first = await client.upsert("Lead", EXTERNAL_ID, "p-1", {"LastName": "Silva", "Company": "PF"})
        second = await client.upsert("Lead", EXTERNAL_ID, "p-1", {"LastName": "Souza"})
        assert (second.record_id, second.created) == (first.record_id, False)
        assert len(salesforce.records) == 1
        assert salesforce.records[first.record_id]["fields"]["LastName"] == "Souza"

    async def test_an_update_answered_204_reads_the_record_id_back(self, salesforce: FakeSalesforce) -> None:
        client, _ = self._client(salesforce)
        first = await client.upsert("Lead", EXTERNAL_ID, "p-1", {"LastName": "Silva", "Company": "PF"})
        salesforce.legacy_updates = True
        second = await client.upsert("Lead", EXTERNAL_ID, "p-1", {"LastName": "Souza"})
        assert (second.record_id, second.created) == (first.record_id, False)
        assert [r.method for r in salesforce.server.received] == ["PATCH", "PATCH", "GET"]

    async def test_a_429_is_retried_after_its_retry_after(self, salesforce: FakeSalesforce) -> None:
        salesforce.failures.append(
            Reply(429, [{"message": "Too many requests", "errorCode": "REQUEST_LIMIT_EXCEEDED"}], {"Retry-After": "7"})
        )
        client, delays = self._client(salesforce)
        assert (await client.upsert("Lead", EXTERNAL_ID, "p-1", {"LastName": "S", "Company": "PF"})).created
        assert len(delays) == 1
        assert delays[0] >= 7

    async def test_a_5xx_is_retried(self, salesforce: FakeSalesforce) -> None:
        salesforce.failures.extend([Reply(502), errors(503, "SERVER_UNAVAILABLE", "try later")])
        client, delays = self._client(salesforce)
        assert (await client.upsert("Lead", EXTERNAL_ID, "p-1", {"LastName": "S", "Company": "PF"})).created
        assert len(delays) == 2

    async def test_a_refused_token_is_final_and_says_so(self, salesforce: FakeSalesforce) -> None:
        client, delays = self._client(salesforce, token="expired-token-123")
        with pytest.raises(SalesforceError) as failed:
            await client.upsert("Lead", EXTERNAL_ID, "p-1", {"LastName": "S", "Company": "PF"})
        assert (failed.value.status, failed.value.retryable, failed.value.auth_failed) == (401, False, True)
        assert "INVALID_SESSION_ID" in str(failed.value)
        assert delays == []

    async def test_several_records_with_our_id_write_nothing_and_ask_for_a_merge(
        self, salesforce: FakeSalesforce
    ) -> None:
        salesforce.add("Lead", {EXTERNAL_ID: "p-1", "LastName": "A"})
        salesforce.add("Lead", {EXTERNAL_ID: "p-1", "LastName": "B"})
        client, _ = self._client(salesforce)
        with pytest.raises(SalesforceError) as failed:
            await client.upsert("Lead", EXTERNAL_ID, "p-1", {"LastName": "C"})
        assert (failed.value.status, failed.value.retryable) == (300, False)
        assert sorted(r["fields"]["LastName"] for r in salesforce.records.values()) == ["A", "B"]

    async def test_the_daily_api_limit_is_left_to_a_later_retry(self, salesforce: FakeSalesforce) -> None:
        salesforce.failures.append(errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."))
        client, delays = self._client(salesforce)
        with pytest.raises(SalesforceError) as failed:
            await client.upsert("Lead", EXTERNAL_ID, "p-1", {"LastName": "S", "Company": "PF"})
        assert (failed.value.status, failed.value.retryable, failed.value.error_code) == (
            403,
            True,
            "REQUEST_LIMIT_EXCEEDED",
        )
        assert delays == []

    async def test_a_missing_required_field_is_a_final_error_naming_it(self, salesforce: FakeSalesforce) -> None:
        client, _ = self._client(salesforce)
        with pytest.raises(SalesforceError) as failed:
            await client.upsert("Lead", EXTERNAL_ID, "p-1", {"LastName": "Silva"})
        assert failed.value.retryable is False
        assert "REQUIRED_FIELD_MISSING" in str(failed.value)

    async def test_a_malformed_success_is_retryable(self, salesforce: FakeSalesforce) -> None:
        salesforce.failures.append(Reply(201, "<html>proxy</html>"))
        client, _ = self._client(salesforce)
        with pytest.raises(SalesforceError) as failed:
            await client.upsert("Lead", EXTERNAL_ID, "p-1", {"LastName": "S", "Company": "PF"})
        assert failed.value.retryable is True


class TestSalesforceConnection:
    async def test_the_token_is_sealed_and_never_shown(
        self, db: Database, tenant: Tenant, salesforce: FakeSalesforce, as_manager: httpx.AsyncClient
    ) -> None:
        connected = await connect(as_manager, salesforce)
        shown = (await as_manager.get("/v1/sync/salesforce")).json()
        assert TOKEN not in str(connected) + str(shown)
        assert shown["settings"]["instance_url"] == salesforce.url
        assert shown["settings"]["external_id_field"] == EXTERNAL_ID
        assert shown["healthy"] is True
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            [row] = (await session.scalars(select(CrmConnection))).all()
        assert TOKEN.encode() not in row.credentials

    async def test_refuses_a_mapping_of_unknown_fields(
        self, salesforce: FakeSalesforce, as_manager: httpx.AsyncClient
    ) -> None:
        response = await as_manager.put(
            "/v1/sync/salesforce",
            json={"instance_url": salesforce.url, "access_token": TOKEN, "field_mapping": {"shoe_size": "X__c"}},
        )
        assert response.status_code == 422
        assert "field_mapping.shoe_size" in response.text

    async def test_refuses_an_instance_url_on_a_private_address(self, as_manager: httpx.AsyncClient) -> None:
        response = await as_manager.put(
            "/v1/sync/salesforce", json={"instance_url": "http://169.254.169.254", "access_token": TOKEN}
        )
        assert response.status_code == 422
        assert "instance_url" in response.text

    async def test_brokers_may_not_connect(self, salesforce: FakeSalesforce, as_broker: httpx.AsyncClient) -> None:
        body = {"instance_url": salesforce.url, "access_token": TOKEN}
        response = await as_broker.put("/v1/sync/salesforce", json=body)
        assert response.status_code == 403


@pytest.mark.usefixtures("funnel")
class TestSalesforceSync:
    async def test_a_new_lead_becomes_a_record_keyed_by_our_person_id(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        salesforce: FakeSalesforce,
        as_manager: httpx.AsyncClient,
    ) -> None:
        await connect(as_manager, salesforce)
        lead = await create_lead(as_manager)
        await drain(worker)
        [request] = salesforce.upserts
        assert request.path.endswith(f"/sobjects/Lead/{EXTERNAL_ID}/{lead['person_id']}")
        fields = fields_of(salesforce, lead["person_id"])
        assert (fields["FirstName"], fields["LastName"], fields["Company"]) == ("Maria", "Silva", "Pessoa Física")
        assert (fields["Email"], fields["MobilePhone"]) == ("maria@example.com", "+5511987654321")
        assert fields["Leadflow_Lead_Id__c"] == lead["id"]
        [ref] = await refs_of(db, tenant)
        assert (ref.provider, ref.external_type, str(ref.entity_id)) == ("salesforce", "Lead", lead["person_id"])
        assert ref.external_id == salesforce.matching("Lead", EXTERNAL_ID, lead["person_id"])[0]

    async def test_a_change_updates_the_same_record(
        self, worker: Dispatcher, salesforce: FakeSalesforce, as_manager: httpx.AsyncClient, broker: Any
    ) -> None:
        await connect(as_manager, salesforce)
        lead = await create_lead(as_manager)
        await drain(worker)
        await as_manager.post(f"/v1/leads/{lead['id']}/assign", json={"owner_id": str(broker.id)})
        await drain(worker)
        assert len(salesforce.upserts) == 2
        assert len(salesforce.records) == 1
        assert fields_of(salesforce, lead["person_id"])["Leadflow_Owner_Email__c"] == broker.email

    async def test_a_person_without_email_and_with_one_name_is_still_pushed(
        self, worker: Dispatcher, salesforce: FakeSalesforce, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager, salesforce)
        response = await as_manager.post("/v1/leads", json={"person": {"name": "Zé", "phones": ["11987650000"]}})
        await drain(worker)
        fields = fields_of(salesforce, response.json()["person_id"])
        assert "Email" not in fields
        assert (fields["LastName"], fields["MobilePhone"]) == ("Zé", "+5511987650000")
        assert "FirstName" not in fields

    async def test_the_tenants_field_mapping_decides_what_is_sent(
        self, worker: Dispatcher, salesforce: FakeSalesforce, as_manager: httpx.AsyncClient
    ) -> None:
        mapping = {"name": "LastName", "channel": "Canal__c", "phone": "Phone"}
        await connect(as_manager, salesforce, sobject="Contact", field_mapping=mapping)
        lead = await create_lead(as_manager)
        await drain(worker)
        [request] = salesforce.upserts
        assert request.path.endswith(f"/sobjects/Contact/{EXTERNAL_ID}/{lead['person_id']}")
        assert request.json() == {"LastName": "Maria Silva", "Phone": "+5511987654321"}

    async def test_a_duplicate_event_and_a_crash_before_the_ref_leave_one_record(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        salesforce: FakeSalesforce,
        as_manager: httpx.AsyncClient,
    ) -> None:
        await connect(as_manager, salesforce)
        lead = await create_lead(as_manager)
        await drain(worker)
        async with db.session(Scope.for_tenant(tenant.id)) as session:  # as if the commit after the write was lost
            await session.execute(delete(ExternalRef))
        await as_manager.post("/v1/sync/salesforce/resync", json={})
        await as_manager.post("/v1/sync/salesforce/resync", json={"force": True})
        await drain(worker)
        assert len(salesforce.upserts) == 3
        assert len(salesforce.records) == 1
        [ref] = await refs_of(db, tenant)
        assert ref.external_id == salesforce.matching("Lead", EXTERNAL_ID, lead["person_id"])[0]

    async def test_a_write_answered_with_a_5xx_is_retried_onto_the_same_record(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        salesforce: FakeSalesforce,
        as_manager: httpx.AsyncClient,
    ) -> None:
        await connect(as_manager, salesforce)
        salesforce.after_write.append(errors(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred"))
        await create_lead(as_manager)
        await drain(worker)
        assert len(salesforce.upserts) == 2
        assert len(salesforce.records) == 1
        assert len(await refs_of(db, tenant)) == 1

    async def test_a_429_is_retried_after_its_retry_after(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        salesforce: FakeSalesforce,
        as_manager: httpx.AsyncClient,
    ) -> None:
        await connect(as_manager, salesforce)
        salesforce.failures.append(
            Reply(429, [{"message": "Too many requests", "errorCode": "REQUEST_LIMIT_EXCEEDED"}], {"Retry-After": "1"})
        )
        await create_lead(as_manager)
        await drain(worker)
        first, second = salesforce.upserts
        assert second.at - first.at >= 1.0
        assert len(salesforce.records) == 1
        assert len(await refs_of(db, tenant)) == 1

    async def test_a_refused_token_marks_the_connection_unhealthy_without_blocking_the_bus(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        salesforce: FakeSalesforce,
        as_manager: httpx.AsyncClient,
    ) -> None:
        await connect(as_manager, salesforce, access_token="expired-token-123")
        await create_lead(as_manager)
        await drain(worker)
        shown = (await as_manager.get("/v1/sync/salesforce")).json()
        assert shown["healthy"] is False
        assert "INVALID_SESSION_ID" in shown["last_error"]
        assert await refs_of(db, tenant) == []
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            stuck = (await session.scalars(select(OutboxMessage).where(OutboxMessage.status != "done"))).all()
        assert stuck == []

        await connect(as_manager, salesforce)  # the manager reconnects with a good token
        shown = (await as_manager.get("/v1/sync/salesforce")).json()
        assert (shown["healthy"], shown["last_error"]) == (True, None)

    async def test_a_refused_token_stops_the_push_at_the_first_person(
        self, worker: Dispatcher, salesforce: FakeSalesforce, as_manager: httpx.AsyncClient
    ) -> None:
        await create_lead(as_manager)
        await create_lead(as_manager, name="João Souza", emails=["joao@example.com"], phones=["11912345678"])
        await drain(worker)
        await connect(as_manager, salesforce, access_token="expired-token-123")
        await as_manager.post("/v1/sync/salesforce/resync", json={})
        await drain(worker)
        assert len(salesforce.server.received) == 1

    async def test_reconnecting_with_a_good_token_heals_the_connection(
        self, worker: Dispatcher, salesforce: FakeSalesforce, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager, salesforce, access_token="expired-token-123")
        await create_lead(as_manager)
        await drain(worker)
        await connect(as_manager, salesforce)
        assert (await as_manager.post("/v1/sync/salesforce/resync", json={})).status_code == 202
        await drain(worker)
        assert (await as_manager.get("/v1/sync/salesforce")).json()["healthy"] is True
        assert len(salesforce.records) == 1

    async def test_a_resync_sends_only_what_changed_unless_forced(
        self, worker: Dispatcher, salesforce: FakeSalesforce, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager, salesforce)
        await create_lead(as_manager)
        await drain(worker)
        await as_manager.post("/v1/sync/salesforce/resync", json={})
        await drain(worker)
        assert len(salesforce.upserts) == 1
        await as_manager.post("/v1/sync/salesforce/resync", json={"force": True})
        await drain(worker)
        assert len(salesforce.upserts) == 2
        assert len(salesforce.records) == 1

    async def test_the_daily_limit_leaves_the_push_to_the_bus_retries(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        salesforce: FakeSalesforce,
        as_manager: httpx.AsyncClient,
    ) -> None:
        await connect(as_manager, salesforce)
        salesforce.failures.append(errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."))
        await create_lead(as_manager)
        await drain(worker)
        assert salesforce.records == {}
        assert isinstance(worker.clock, Clock)
        worker.clock.advance(timedelta(minutes=10))
        await drain(worker)
        assert len(salesforce.records) == 1
        assert len(await refs_of(db, tenant)) == 1

    async def test_each_tenant_pushes_only_its_people_to_its_own_org(
        self,
        app: FastAPI,
        db: Database,
        other_tenant: Tenant,
        worker: Dispatcher,
        salesforce: FakeSalesforce,
        rival_org: FakeSalesforce,
        as_manager: httpx.AsyncClient,
    ) -> None:
        await factories.make_pipeline(db, other_tenant)
        rival = await factories.make_user(db, other_tenant, role=Role.MANAGER, email="g@rival.example.com")
        await connect(as_manager, salesforce)
        async with factories.logged_in(app, other_tenant, rival) as as_rival:
            await connect(as_rival, rival_org)
            theirs = await create_lead(as_rival, name="Rival Lead", emails=["r@rival.example.com"])
            assert (await as_rival.get("/v1/sync/salesforce")).json()["settings"]["instance_url"] == rival_org.url
        ours = await create_lead(as_manager)
        await drain(worker)
        await as_manager.post("/v1/sync/salesforce/resync", json={"person_ids": [theirs["person_id"]], "force": True})
        await drain(worker)
        assert [r["fields"][EXTERNAL_ID] for r in salesforce.records.values()] == [ours["person_id"]]
        assert [r["fields"][EXTERNAL_ID] for r in rival_org.records.values()] == [theirs["person_id"]]


def renewable(org: FakeSalesforce, **overrides: str) -> dict[str, str]:
    """Settings of a connection that may renew its access token (a connected app with a refresh token)."""
    return {
        "refresh_token": REFRESH_TOKEN, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "login_url": org.url, **overrides,
    }  # fmt: skip


@pytest.mark.usefixtures("funnel")
class TestAnExpiredAccessToken:
    """OAuth 2.0 refresh token flow: a session that expired is renewed once, on the way, and the new access token
    is sealed for the next pushes; a refresh token Salesforce refuses asks for a reconnect."""

    async def test_is_renewed_and_the_push_goes_through(
        self,
        db: Database,
        tenant: Tenant,
        worker: Dispatcher,
        salesforce: FakeSalesforce,
        as_manager: httpx.AsyncClient,
    ) -> None:
        await connect(as_manager, salesforce, **renewable(salesforce))
        salesforce.expire()
        lead = await create_lead(as_manager)
        await drain(worker)
        assert salesforce.renewals == 1
        assert fields_of(salesforce, lead["person_id"])["LastName"] == "Silva"
        assert (await as_manager.get("/v1/sync/salesforce")).json()["healthy"] is True
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            [row] = (await session.scalars(select(CrmConnection))).all()
        for secret in (salesforce.token, REFRESH_TOKEN, CLIENT_SECRET):
            assert secret.encode() not in row.credentials  # sealed, the renewed token included

    async def test_the_renewed_token_is_kept_for_the_next_push(
        self, worker: Dispatcher, salesforce: FakeSalesforce, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager, salesforce, **renewable(salesforce))
        salesforce.expire()
        await create_lead(as_manager)
        await drain(worker)
        await create_lead(as_manager, name="João Souza", emails=["joao@example.com"], phones=["(21) 99999-0000"])
        await drain(worker)
        assert (salesforce.renewals, len(salesforce.records)) == (1, 2)

    async def test_a_refused_refresh_token_asks_for_a_reconnect(
        self, worker: Dispatcher, salesforce: FakeSalesforce, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager, salesforce, **renewable(salesforce, refresh_token="5Aep861revoked.refresh"))
        salesforce.expire()
        await create_lead(as_manager)
        await drain(worker)
        shown = (await as_manager.get("/v1/sync/salesforce")).json()
        assert shown["healthy"] is False
        assert "invalid_grant" in shown["last_error"]
        assert "reconnect" in shown["last_error"]
        assert salesforce.records == {}

    async def test_without_a_refresh_token_the_session_error_stands(
        self, worker: Dispatcher, salesforce: FakeSalesforce, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager, salesforce)
        salesforce.expire()
        await create_lead(as_manager)
        await drain(worker)
        assert salesforce.renewals == 0
        assert "INVALID_SESSION_ID" in (await as_manager.get("/v1/sync/salesforce")).json()["last_error"]

    async def test_the_connection_check_renews_too(
        self, salesforce: FakeSalesforce, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager, salesforce, **renewable(salesforce))
        salesforce.expire()
        assert (await as_manager.post("/v1/sync/salesforce/test")).json() == {"ok": True, "detail": None}
        assert salesforce.renewals == 1


class TestRenewalSettings:
    async def test_a_refresh_token_needs_the_apps_client_id(
        self, salesforce: FakeSalesforce, as_manager: httpx.AsyncClient
    ) -> None:
        body = {"instance_url": salesforce.url, "access_token": TOKEN, "refresh_token": REFRESH_TOKEN}
        response = await as_manager.put("/v1/sync/salesforce", json=body)
        assert response.status_code == 422
        assert "client_id" in response.text

    async def test_the_refresh_token_and_app_secret_are_never_shown(
        self, salesforce: FakeSalesforce, as_manager: httpx.AsyncClient
    ) -> None:
        connected = await connect(as_manager, salesforce, **renewable(salesforce))
        shown = (await as_manager.get("/v1/sync/salesforce")).text
        for secret in (REFRESH_TOKEN, CLIENT_SECRET):
            assert secret not in str(connected) + shown
        assert CLIENT_ID in shown  # the consumer key is not a secret

    async def test_a_login_url_on_a_metadata_address_is_refused(
        self, salesforce: FakeSalesforce, as_manager: httpx.AsyncClient
    ) -> None:
        body = {"instance_url": salesforce.url, "access_token": TOKEN, **renewable(salesforce)}
        body["login_url"] = "http://169.254.169.254"
        response = await as_manager.put("/v1/sync/salesforce", json=body)
        assert response.status_code == 422
        assert "login_url" in response.text
