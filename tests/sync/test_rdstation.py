"""RD Station CRM sync: no native upsert, so a contact is searched by our person id (held in a custom field), then
created or updated under a per-person lock, against a fake RD Station over real HTTP. One contact per person
whatever happens (duplicate events, a crash between the create and our ref, a create answered 500), the tenant's
field mapping, 429/5xx retried honouring Retry-After, a refused token marking the connection unhealthy, re-sync,
and tenants isolated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select

from leadflow.bus.dispatcher import Dispatcher
from leadflow.integrations.rdstation.client import RdStationClient, RdStationError
from leadflow.kit.db import Database
from leadflow.kit.http import RetryPolicy, SsrfPolicy
from leadflow.kit.scope import Scope
from leadflow.models import CrmConnection, ExternalRef, OutboxMessage, Role, Tenant
from tests import factories
from tests.bus.conftest import Clock
from tests.loopback import Received, Reply
from tests.sync.conftest import drain
from tests.sync.fake_rdstation import ID_FIELD, TOKEN, FakeRdStation

LOOPBACK = SsrfPolicy(allow_loopback=True)
CHANNEL_FIELD = "64b7f0c2a1b2c3d4e5f60799"


async def connect(client: httpx.AsyncClient, rd: FakeRdStation, **settings: Any) -> dict[str, Any]:
    body = {"base_url": rd.url, "api_token": rd.token, "id_field_id": ID_FIELD, **settings}
    response = await client.put("/v1/sync/rdstation", json=body)
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


def custom(contact: dict[str, Any]) -> dict[str, Any]:
    return {c["custom_field_id"]: c["value"] for c in contact.get("contact_custom_fields", [])}


def query_of(request: Received) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.path).query)


@pytest.fixture
async def funnel(db: Database, tenant: Tenant) -> None:
    await factories.make_pipeline(db, tenant)


@pytest.fixture
async def rival_rd() -> AsyncIterator[FakeRdStation]:
    rd = FakeRdStation(token="rd-crm-token-of-the-rival-tenant")
    rd.server.start()
    try:
        yield rd
    finally:
        rd.server.stop()


class TestRdStationClient:
    def _client(self, rd: FakeRdStation, token: str = TOKEN) -> tuple[RdStationClient, list[float]]:
        delays: list[float] = []

        async def sleep(seconds: float) -> None:
            delays.append(seconds)

        return RdStationClient(rd.url, token, policy=LOOPBACK, retry=RetryPolicy(attempts=3), sleep=sleep), delays

    async def test_finds_only_the_contact_whose_id_field_holds_our_id(self, rdstation: FakeRdStation) -> None:
        rdstation.add({"name": "p-1 in a name only", "contact_custom_fields": []})
        ours = rdstation.add({"name": "Ana", "contact_custom_fields": [{"custom_field_id": ID_FIELD, "value": "p-1"}]})
        client, _ = self._client(rdstation)
        assert await client.find_contact(ID_FIELD, "p-1") == ours
        [search] = rdstation.calls("GET")
        assert query_of(search)["token"] == [TOKEN]
        assert query_of(search)["q"] == ["p-1"]

    async def test_creates_and_updates_wrapped_in_contact(self, rdstation: FakeRdStation) -> None:
        client, _ = self._client(rdstation)
        created = await client.create_contact({"name": "Maria", "emails": [{"email": "maria@example.com"}]})
        assert await client.update_contact(created, {"name": "Maria Clara"}) == created
        assert [r.json() for r in rdstation.server.received] == [
            {"contact": {"name": "Maria", "emails": [{"email": "maria@example.com"}]}},
            {"contact": {"name": "Maria Clara"}},
        ]
        assert rdstation.contacts[created]["name"] == "Maria Clara"

    async def test_an_update_of_a_contact_rd_no_longer_has_says_so(self, rdstation: FakeRdStation) -> None:
        client, _ = self._client(rdstation)
        assert await client.update_contact("64b7f0c2a1b2c3d4e5f6ffff", {"name": "x"}) is None

    async def test_a_429_is_retried_after_its_retry_after(self, rdstation: FakeRdStation) -> None:
        rdstation.failures.append(Reply(429, {"errors": "Too Many Requests"}, {"Retry-After": "7"}))
        client, delays = self._client(rdstation)
        assert await client.find_contact(ID_FIELD, "p-1") is None
        assert len(delays) == 1
        assert delays[0] >= 7

    async def test_a_5xx_is_retried(self, rdstation: FakeRdStation) -> None:
        rdstation.failures.extend([Reply(502), Reply(503, {"errors": "unavailable"})])
        client, delays = self._client(rdstation)
        assert await client.find_contact(ID_FIELD, "p-1") is None
        assert len(delays) == 2

    async def test_a_create_is_sent_once_and_a_5xx_left_to_a_retry_that_searches_first(
        self, rdstation: FakeRdStation
    ) -> None:
        rdstation.failures.append(Reply(500, {"errors": "Internal Server Error"}))
        client, delays = self._client(rdstation)
        with pytest.raises(RdStationError) as failed:
            await client.create_contact({"name": "Maria"})
        assert (failed.value.status, failed.value.retryable) == (500, True)
        assert (len(rdstation.calls("POST")), delays) == (1, [])

    async def test_a_refused_token_is_final_and_says_so(self, rdstation: FakeRdStation) -> None:
        client, delays = self._client(rdstation, token="revoked-token-123")
        with pytest.raises(RdStationError) as failed:
            await client.find_contact(ID_FIELD, "p-1")
        assert (failed.value.status, failed.value.retryable, failed.value.auth_failed) == (401, False, True)
        assert "Unauthorized" in str(failed.value)
        assert delays == []

    async def test_two_contacts_with_our_id_are_a_final_error_asking_for_a_merge(
        self, rdstation: FakeRdStation
    ) -> None:
        for name in ("A", "B"):
            rdstation.add({"name": name, "contact_custom_fields": [{"custom_field_id": ID_FIELD, "value": "p-1"}]})
        client, _ = self._client(rdstation)
        with pytest.raises(RdStationError, match="merge") as failed:
            await client.find_contact(ID_FIELD, "p-1")
        assert failed.value.retryable is False

    @pytest.mark.parametrize("reply", [Reply(200, "<html>gateway</html>"), Reply(200, {"data": []})])
    async def test_an_unreadable_search_is_retryable_never_nobody(self, rdstation: FakeRdStation, reply: Reply) -> None:
        rdstation.failures.append(reply)
        client, _ = self._client(rdstation)
        with pytest.raises(RdStationError) as failed:
            await client.find_contact(ID_FIELD, "p-1")
        assert failed.value.retryable is True

    async def test_a_create_answered_without_an_id_is_retryable(self, rdstation: FakeRdStation) -> None:
        rdstation.failures.append(Reply(200, {"name": "Maria"}))
        client, _ = self._client(rdstation)
        with pytest.raises(RdStationError) as failed:
            await client.create_contact({"name": "Maria"})
        assert failed.value.retryable is True


class TestRdStationConnection:
    async def test_the_token_is_sealed_and_never_shown(
        self, db: Database, tenant: Tenant, rdstation: FakeRdStation, as_manager: httpx.AsyncClient
    ) -> None:
        connected = await connect(as_manager, rdstation)
        shown = (await as_manager.get("/v1/sync/rdstation")).json()
        assert TOKEN not in str(connected) + str(shown)
        assert (shown["settings"]["base_url"], shown["settings"]["id_field_id"]) == (rdstation.url, ID_FIELD)
        assert shown["healthy"] is True
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            [row] = (await session.scalars(select(CrmConnection))).all()
        assert TOKEN.encode() not in row.credentials

    async def test_refuses_a_mapping_of_unknown_fields(
        self, rdstation: FakeRdStation, as_manager: httpx.AsyncClient
    ) -> None:
        response = await as_manager.put(
            "/v1/sync/rdstation",
            json={"base_url": rdstation.url, "api_token": TOKEN, "id_field_id": ID_FIELD, "field_mapping": {"x": "y"}},
        )
        assert response.status_code == 422
        assert "field_mapping.x" in response.text

    async def test_refuses_a_base_url_on_a_private_address(self, as_manager: httpx.AsyncClient) -> None:
        response = await as_manager.put(
            "/v1/sync/rdstation", json={"base_url": "http://10.0.0.7", "api_token": TOKEN, "id_field_id": ID_FIELD}
        )
        assert response.status_code == 422
        assert "base_url" in response.text


@pytest.mark.usefixtures("funnel")
class TestRdStationSync:
    async def test_an_unknown_person_is_searched_then_created_with_our_id(
        self, db: Database, tenant: Tenant, worker: Dispatcher, rdstation: FakeRdStation, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager, rdstation)
        lead = await create_lead(as_manager)
        await drain(worker)
        [search] = rdstation.calls("GET")
        assert query_of(search)["q"] == [lead["person_id"]]
        [created] = rdstation.calls("POST")
        contact = created.json()["contact"]
        assert contact["name"] == "Maria Silva"
        assert contact["emails"] == [{"email": "maria@example.com"}]
        assert contact["phones"] == [{"phone": "+5511987654321"}]
        assert custom(contact) == {ID_FIELD: lead["person_id"]}
        [ref] = await refs_of(db, tenant)
        assert (ref.provider, ref.external_type, str(ref.entity_id)) == ("rdstation", "contact", lead["person_id"])
        assert ref.external_id in rdstation.contacts

    async def test_a_linked_person_is_updated_directly(
        self, worker: Dispatcher, rdstation: FakeRdStation, as_manager: httpx.AsyncClient, broker: Any
    ) -> None:
        await connect(as_manager, rdstation, field_mapping={"owner_email": CHANNEL_FIELD})
        lead = await create_lead(as_manager)
        await drain(worker)
        await as_manager.post(f"/v1/leads/{lead['id']}/assign", json={"owner_id": str(broker.id)})
        await drain(worker)
        assert (len(rdstation.calls("GET")), len(rdstation.calls("POST"))) == (1, 1)
        [update] = rdstation.calls("PUT")
        assert custom(update.json()["contact"])[CHANNEL_FIELD] == broker.email
        assert len(rdstation.contacts) == 1

    async def test_a_person_without_email_is_still_pushed(
        self, worker: Dispatcher, rdstation: FakeRdStation, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager, rdstation)
        response = await as_manager.post("/v1/leads", json={"person": {"name": "Zé", "phones": ["11987650000"]}})
        await drain(worker)
        [contact] = rdstation.contacts.values()
        assert "emails" not in contact
        assert (contact["name"], contact["phones"]) == ("Zé", [{"phone": "+5511987650000"}])
        assert custom(contact)[ID_FIELD] == response.json()["person_id"]

    async def test_the_tenants_field_mapping_decides_the_custom_fields(
        self, worker: Dispatcher, rdstation: FakeRdStation, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager, rdstation, field_mapping={"lead_status": CHANNEL_FIELD})
        lead = await create_lead(as_manager)
        await drain(worker)
        [created] = rdstation.calls("POST")
        assert custom(created.json()["contact"]) == {CHANNEL_FIELD: "open", ID_FIELD: lead["person_id"]}

    async def test_a_duplicate_event_and_a_crash_before_the_ref_leave_one_contact(
        self, db: Database, tenant: Tenant, worker: Dispatcher, rdstation: FakeRdStation, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager, rdstation)
        await create_lead(as_manager)
        await drain(worker)
        async with db.session(Scope.for_tenant(tenant.id)) as session:  # as if the commit after the create was lost
            await session.execute(delete(ExternalRef))
        await as_manager.post("/v1/sync/rdstation/resync", json={})
        await as_manager.post("/v1/sync/rdstation/resync", json={"force": True})
        await drain(worker)
        assert len(rdstation.contacts) == 1
        assert len(rdstation.calls("POST")) == 1
        assert len(rdstation.calls("PUT")) == 2
        [ref] = await refs_of(db, tenant)
        assert ref.external_id in rdstation.contacts

    async def test_a_create_answered_500_is_found_by_the_retry_not_duplicated(
        self, db: Database, tenant: Tenant, worker: Dispatcher, rdstation: FakeRdStation, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager, rdstation)
        rdstation.after_write.append(Reply(500, {"errors": "Internal Server Error"}))
        await create_lead(as_manager)
        await drain(worker)
        assert len(rdstation.contacts) == 1
        assert await refs_of(db, tenant) == []
        assert isinstance(worker.clock, Clock)
        worker.clock.advance(timedelta(minutes=10))
        await drain(worker)
        assert len(rdstation.contacts) == 1
        assert (len(rdstation.calls("POST")), len(rdstation.calls("PUT"))) == (1, 1)
        [ref] = await refs_of(db, tenant)
        assert ref.external_id in rdstation.contacts

    async def test_a_contact_deleted_in_rd_station_is_created_again(
        self, db: Database, tenant: Tenant, worker: Dispatcher, rdstation: FakeRdStation, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager, rdstation)
        await create_lead(as_manager)
        await drain(worker)
        rdstation.contacts.clear()
        await as_manager.post("/v1/sync/rdstation/resync", json={"force": True})
        await drain(worker)
        assert len(rdstation.contacts) == 1
        [ref] = await refs_of(db, tenant)
        assert ref.external_id in rdstation.contacts

    async def test_a_429_is_retried_after_its_retry_after(
        self, worker: Dispatcher, rdstation: FakeRdStation, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager, rdstation)
        rdstation.failures.append(Reply(429, {"errors": "Too Many Requests"}, {"Retry-After": "1"}))
        await create_lead(as_manager)
        await drain(worker)
        first, second = rdstation.calls("GET")
        assert second.at - first.at >= 1.0
        assert len(rdstation.contacts) == 1

    async def test_a_5xx_is_retried(
        self, worker: Dispatcher, rdstation: FakeRdStation, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager, rdstation)
        rdstation.failures.append(Reply(503, "<html>Service Unavailable</html>"))
        await create_lead(as_manager)
        await drain(worker)
        assert len(rdstation.calls("GET")) == 2
        assert len(rdstation.contacts) == 1

    async def test_a_refused_token_marks_the_connection_unhealthy_without_blocking_the_bus(
        self, db: Database, tenant: Tenant, worker: Dispatcher, rdstation: FakeRdStation, as_manager: httpx.AsyncClient
    ) -> None:
        await create_lead(as_manager)
        await create_lead(as_manager, name="João Souza", emails=["joao@example.com"], phones=["11912345678"])
        await drain(worker)
        await connect(as_manager, rdstation, api_token="revoked-token-123")
        await as_manager.post("/v1/sync/rdstation/resync", json={})
        await drain(worker)
        shown = (await as_manager.get("/v1/sync/rdstation")).json()
        assert shown["healthy"] is False
        assert "Unauthorized" in shown["last_error"]
        assert len(rdstation.server.received) == 1  # the refusal stopped the push: no second person tried
        assert await refs_of(db, tenant) == []
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            stuck = (await session.scalars(select(OutboxMessage).where(OutboxMessage.status != "done"))).all()
        assert stuck == []

    async def test_a_resync_sends_only_what_changed_unless_forced(
        self, worker: Dispatcher, rdstation: FakeRdStation, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager, rdstation)
        await create_lead(as_manager)
        await drain(worker)
        before = len(rdstation.server.received)
        assert (await as_manager.post("/v1/sync/rdstation/resync", json={})).status_code == 202
        await drain(worker)
        assert len(rdstation.server.received) == before
        await as_manager.post("/v1/sync/rdstation/resync", json={"force": True})
        await drain(worker)
        assert len(rdstation.calls("PUT")) == 1
        assert len(rdstation.contacts) == 1

    async def test_each_tenant_pushes_only_its_people_with_its_own_token(
        self,
        app: FastAPI,
        db: Database,
        other_tenant: Tenant,
        worker: Dispatcher,
        rdstation: FakeRdStation,
        rival_rd: FakeRdStation,
        as_manager: httpx.AsyncClient,
    ) -> None:
        await factories.make_pipeline(db, other_tenant)
        rival = await factories.make_user(db, other_tenant, role=Role.MANAGER, email="g@rival.example.com")
        await connect(as_manager, rdstation)
        async with factories.logged_in(app, other_tenant, rival) as as_rival:
            await connect(as_rival, rival_rd)
            theirs = await create_lead(as_rival, name="Rival Lead", emails=["r@rival.example.com"])
        ours = await create_lead(as_manager)
        await drain(worker)
        await as_manager.post("/v1/sync/rdstation/resync", json={"person_ids": [theirs["person_id"]], "force": True})
        await drain(worker)
        assert [custom(c)[ID_FIELD] for c in rdstation.contacts.values()] == [ours["person_id"]]
        assert [custom(c)[ID_FIELD] for c in rival_rd.contacts.values()] == [theirs["person_id"]]
        assert all(query_of(r)["token"] == [TOKEN] for r in rdstation.server.received)
