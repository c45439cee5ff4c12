"""HubSpot CRM sync: contacts upserted by our id against a fake HubSpot over real HTTP, idempotent through
external_refs, mapped per tenant, retried on 429/5xx, refusals recorded, tenants isolated."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from leadflow.bus.dispatcher import Dispatcher
from leadflow.integrations.hubspot.client import ContactUpsert, HubSpotClient, HubSpotError
from leadflow.kit.db import Database
from leadflow.kit.http import RetryPolicy
from leadflow.kit.scope import Scope
from leadflow.models import CrmConnection, ExternalRef, OutboxMessage, Role, Tenant
from tests import factories
from tests.loopback import Reply
from tests.sync.conftest import drain
from tests.sync.fake_hubspot import TOKEN, FakeHubSpot


async def connect(client: httpx.AsyncClient, **settings: Any) -> dict[str, Any]:
    response = await client.put("/v1/sync/hubspot", json={"access_token": TOKEN, **settings})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


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


@pytest.fixture
async def funnel(db: Database, tenant: Tenant) -> None:
    await factories.make_pipeline(db, tenant)


class TestHubSpotClient:
    def _client(self, hubspot: FakeHubSpot, token: str = TOKEN) -> tuple[HubSpotClient, list[float]]:
        delays: list[float] = []

        async def sleep(seconds: float) -> None:
            delays.append(seconds)

        return HubSpotClient(hubspot.url, token, retry=RetryPolicy(attempts=3), sleep=sleep), delays

    async def test_upserts_by_the_unique_id_property_with_a_bearer_token(self, hubspot: FakeHubSpot) -> None:
        client, _ = self._client(hubspot)
        result = await client.upsert_contacts([ContactUpsert("p-1", {"firstname": "Maria"}, "t-1")])
        assert result.created == {"p-1": ("51", True)}
        [request] = hubspot.upserts
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.json() == {
            "inputs": [
                {
                    "idProperty": "leadflow_id",
                    "id": "p-1",
                    "properties": {"firstname": "Maria"},
                    "objectWriteTraceId": "t-1",
                }
            ]
        }

    async def test_a_second_upsert_updates_the_same_contact(self, hubspot: FakeHubSpot) -> None:
        client, _ = self._client(hubspot)
        await client.upsert_contacts([ContactUpsert("p-1", {"firstname": "Maria"}, "t-1")])
        result = await client.upsert_contacts([ContactUpsert("p-1", {"firstname": "Maria Clara"}, "t-2")])
        assert result.created == {"p-1": ("51", False)}
        assert hubspot.contacts["p-1"]["properties"]["firstname"] == "Maria Clara"

    async def test_a_429_is_retried_after_its_retry_after(self, hubspot: FakeHubSpot) -> None:
        hubspot.failures.append(Reply(429, {"status": "error", "category": "RATE_LIMITS"}, {"Retry-After": "7"}))
        client, delays = self._client(hubspot)
        result = await client.upsert_contacts([ContactUpsert("p-1", {}, "t-1")])
        assert "p-1" in result.created
        assert len(delays) == 1
        assert delays[0] >= 7

    async def test_a_5xx_is_retried(self, hubspot: FakeHubSpot) -> None:
        hubspot.failures.extend([Reply(502), Reply(503)])
        client, delays = self._client(hubspot)
        result = await client.upsert_contacts([ContactUpsert("p-1", {}, "t-1")])
        assert "p-1" in result.created
        assert len(delays) == 2

    async def test_persistent_5xx_is_a_retryable_error(self, hubspot: FakeHubSpot) -> None:
        hubspot.failures.extend([Reply(500)] * 3)
        client, _ = self._client(hubspot)
        with pytest.raises(HubSpotError) as failed:
            await client.upsert_contacts([ContactUpsert("p-1", {}, "t-1")])
        assert (failed.value.status, failed.value.retryable) == (500, True)

    async def test_a_bad_token_is_a_final_error_with_hubspots_category(self, hubspot: FakeHubSpot) -> None:
        client, delays = self._client(hubspot, token="wrong-token")
        with pytest.raises(HubSpotError) as failed:
            await client.upsert_contacts([ContactUpsert("p-1", {}, "t-1")])
        assert (failed.value.status, failed.value.retryable) == (401, False)
        assert "INVALID_AUTHENTICATION" in str(failed.value)
        assert delays == []

    async def test_a_partial_failure_names_the_refused_contacts(self, hubspot: FakeHubSpot) -> None:
        client, _ = self._client(hubspot)
        result = await client.upsert_contacts(
            [ContactUpsert("p-1", {"email": "ok@example.com"}, "t-1"), ContactUpsert("p-2", {"email": "nope"}, "t-2")]
        )
        assert set(result.created) == {"p-1"}
        assert "VALIDATION_ERROR" in result.failed["p-2"]

    async def test_refuses_more_than_a_batch(self, hubspot: FakeHubSpot) -> None:
        client, _ = self._client(hubspot)
        with pytest.raises(ValueError, match="100"):
            await client.upsert_contacts([ContactUpsert(f"p-{i}", {}, f"t-{i}") for i in range(101)])


class TestConnection:
    async def test_the_token_is_sealed_and_never_shown(
        self, db: Database, tenant: Tenant, as_manager: httpx.AsyncClient
    ) -> None:
        connected = await connect(as_manager)
        shown = (await as_manager.get("/v1/sync/hubspot")).json()
        assert TOKEN not in str(connected)
        assert TOKEN not in str(shown)
        assert shown["settings"]["id_property"] == "leadflow_id"
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            [row] = (await session.scalars(select(CrmConnection))).all()
        assert TOKEN.encode() not in row.credentials

    async def test_refuses_a_mapping_of_unknown_fields(self, as_manager: httpx.AsyncClient) -> None:
        response = await as_manager.put(
            "/v1/sync/hubspot", json={"access_token": TOKEN, "field_mapping": {"shoe_size": "x"}}
        )
        assert response.status_code == 422
        assert "field_mapping.shoe_size" in response.text

    async def test_brokers_may_not_connect(self, as_broker: httpx.AsyncClient) -> None:
        response = await as_broker.put("/v1/sync/hubspot", json={"access_token": TOKEN})
        assert response.status_code == 403

    async def test_another_tenant_does_not_see_the_connection(
        self, as_manager: httpx.AsyncClient, app: Any, other_tenant: Tenant, db: Database
    ) -> None:
        await connect(as_manager)
        rival = await factories.make_user(db, other_tenant, role=Role.MANAGER, email="g@rival.example.com")
        async with factories.logged_in(app, other_tenant, rival) as as_rival:
            assert (await as_rival.get("/v1/sync/hubspot")).status_code == 404
            assert (await as_rival.post("/v1/sync/hubspot/resync", json={})).status_code == 404


@pytest.mark.usefixtures("funnel")
class TestPushOnLeadEvents:
    async def test_a_new_lead_becomes_a_contact_keyed_by_our_person_id(
        self, db: Database, tenant: Tenant, worker: Dispatcher, hubspot: FakeHubSpot, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager)
        lead = await create_lead(as_manager)
        await drain(worker)
        person_id = lead["person_id"]
        contact = hubspot.contacts[person_id]
        assert contact["properties"]["firstname"] == "Maria"
        assert contact["properties"]["lastname"] == "Silva"
        assert contact["properties"]["email"] == "maria@example.com"
        assert contact["properties"]["phone"] == "+5511987654321"
        assert contact["properties"]["leadflow_lead_id"] == lead["id"]
        assert contact["properties"]["leadflow_lead_status"] == "open"
        [ref] = await refs_of(db, tenant)
        assert (ref.entity_type, str(ref.entity_id), ref.external_id) == ("person", person_id, contact["id"])

    async def test_a_person_without_email_is_still_pushed(
        self, worker: Dispatcher, hubspot: FakeHubSpot, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager)
        response = await as_manager.post("/v1/leads", json={"person": {"name": "Zé", "phones": ["11987650000"]}})
        await drain(worker)
        contact = hubspot.contacts[response.json()["person_id"]]
        assert "email" not in contact["properties"]

    async def test_nothing_unchanged_is_sent_twice(
        self, worker: Dispatcher, hubspot: FakeHubSpot, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager)
        await create_lead(as_manager)
        await drain(worker)
        assert len(hubspot.upserts) == 1
        assert (await as_manager.post("/v1/sync/hubspot/resync", json={})).status_code == 202
        await drain(worker)
        assert len(hubspot.upserts) == 1

    async def test_a_forced_resync_sends_again_to_the_same_contact(
        self, db: Database, tenant: Tenant, worker: Dispatcher, hubspot: FakeHubSpot, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager)
        await create_lead(as_manager)
        await drain(worker)
        await as_manager.post("/v1/sync/hubspot/resync", json={"force": True})
        await drain(worker)
        assert len(hubspot.upserts) == 2
        assert len(hubspot.contacts) == 1
        assert len(await refs_of(db, tenant)) == 1

    async def test_a_change_is_pushed_to_the_same_contact(
        self, worker: Dispatcher, hubspot: FakeHubSpot, as_manager: httpx.AsyncClient, broker: Any
    ) -> None:
        await connect(as_manager)
        lead = await create_lead(as_manager)
        await drain(worker)
        response = await as_manager.post(f"/v1/leads/{lead['id']}/assign", json={"owner_id": str(broker.id)})
        assert response.status_code == 200, response.text
        await drain(worker)
        assert len(hubspot.upserts) == 2
        assert hubspot.contacts[lead["person_id"]]["properties"]["leadflow_owner_email"] == broker.email

    async def test_a_correction_of_the_person_reaches_the_same_contact(
        self, worker: Dispatcher, hubspot: FakeHubSpot, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager)
        lead = await create_lead(as_manager)
        await drain(worker)
        corrected = await as_manager.patch(
            f"/v1/people/{lead['person_id']}", json={"name": "Maria Souza", "emails": ["maria.souza@example.com"]}
        )
        assert corrected.status_code == 200, corrected.text
        await drain(worker)
        assert len(hubspot.contacts) == 1
        properties = hubspot.contacts[lead["person_id"]]["properties"]
        assert (properties["lastname"], properties["email"]) == ("Souza", "maria.souza@example.com")

    async def test_the_tenants_field_mapping_decides_what_is_sent(
        self, worker: Dispatcher, hubspot: FakeHubSpot, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager, id_property="lf_person", field_mapping={"name": "nome_completo", "channel": "canal"})
        lead = await create_lead(as_manager)
        await drain(worker)
        [request] = hubspot.upserts
        [item] = request.json()["inputs"]
        assert item["idProperty"] == "lf_person"
        assert item["properties"] == {"nome_completo": "Maria Silva", "lf_person": lead["person_id"]}

    async def test_a_refused_token_is_recorded_on_the_connection_without_blocking_the_bus(
        self, db: Database, tenant: Tenant, worker: Dispatcher, hubspot: FakeHubSpot, as_manager: httpx.AsyncClient
    ) -> None:
        response = await as_manager.put("/v1/sync/hubspot", json={"access_token": "pat-revoked-token"})
        assert response.status_code == 200
        await create_lead(as_manager)
        await drain(worker)
        shown = (await as_manager.get("/v1/sync/hubspot")).json()
        assert "INVALID_AUTHENTICATION" in shown["last_error"]
        assert await refs_of(db, tenant) == []
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            stuck = (await session.scalars(select(OutboxMessage).where(OutboxMessage.status != "done"))).all()
        assert stuck == []

    async def test_a_rate_limit_longer_than_a_worker_waits_leaves_the_push_to_the_bus_retries(
        self, db: Database, tenant: Tenant, worker: Dispatcher, hubspot: FakeHubSpot, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager)
        hubspot.failures.extend([Reply(429, {"category": "RATE_LIMITS"}, {"Retry-After": "3600"})] * 5)
        await create_lead(as_manager)
        await drain(worker)
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            [message] = (
                await session.scalars(select(OutboxMessage).where(OutboxMessage.event_name == "lead.created"))
            ).all()
        assert (message.status, message.attempts) == ("pending", 1)
        assert "HTTP 429" in (message.last_error or "") or "RATE_LIMITS" in (message.last_error or "")
        assert len(hubspot.upserts) == 1  # the client did not sleep an hour in the worker
        assert await refs_of(db, tenant) == []

    async def test_a_resync_of_chosen_people_pushes_only_them(
        self, worker: Dispatcher, hubspot: FakeHubSpot, as_manager: httpx.AsyncClient
    ) -> None:
        first = await create_lead(as_manager)
        await create_lead(as_manager, name="João Souza", emails=["joao@example.com"], phones=["11912345678"])
        await drain(worker)
        await connect(as_manager)
        response = await as_manager.post("/v1/sync/hubspot/resync", json={"person_ids": [first["person_id"]]})
        assert response.status_code == 202
        await drain(worker)
        assert list(hubspot.contacts) == [first["person_id"]]

    async def test_another_tenants_people_are_never_pushed_with_this_tenants_token(
        self,
        db: Database,
        other_tenant: Tenant,
        worker: Dispatcher,
        hubspot: FakeHubSpot,
        as_manager: httpx.AsyncClient,
    ) -> None:
        _, stages = await factories.make_pipeline(db, other_tenant)
        person = await factories.make_person(db, other_tenant, name="Rival", email="r@rival.example.com")
        await factories.make_lead(db, other_tenant, person=person, stage=stages[0])
        await connect(as_manager)
        await as_manager.post("/v1/sync/hubspot/resync", json={"person_ids": [str(person.id)]})
        await as_manager.post("/v1/sync/hubspot/resync", json={})
        await drain(worker)
        assert str(person.id) not in hubspot.contacts
        assert hubspot.upserts == []
