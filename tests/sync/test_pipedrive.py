"""Pipedrive CRM sync: no native upsert, so a person is found by our id in a custom field, then created or
updated under a per-person lock; refs keep it idempotent and heal a crash between create and commit."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select

from leadflow.bus.dispatcher import Dispatcher
from leadflow.integrations.pipedrive.client import PipedriveClient, PipedriveError
from leadflow.kit.db import Database
from leadflow.kit.http import RetryPolicy
from leadflow.kit.scope import Scope
from leadflow.models import ExternalRef, Tenant
from tests import factories
from tests.loopback import Reply
from tests.sync.conftest import drain
from tests.sync.fake_pipedrive import ID_FIELD, TOKEN, FakePipedrive


async def connect(client: httpx.AsyncClient, **settings: Any) -> None:
    response = await client.put("/v1/sync/pipedrive", json={"api_token": TOKEN, "id_field_key": ID_FIELD, **settings})
    assert response.status_code == 200, response.text
    assert TOKEN not in response.text


async def create_lead(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post(
        "/v1/leads",
        json={"person": {"name": "Maria Silva", "emails": ["maria@example.com"], "phones": ["11987654321"]}},
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


class TestPipedriveClient:
    async def test_a_429_is_retried_after_its_retry_after(self, pipedrive: FakePipedrive) -> None:
        delays: list[float] = []

        async def sleep(seconds: float) -> None:
            delays.append(seconds)

        pipedrive.failures.append(Reply(429, {"success": False, "error": "Too many requests"}, {"Retry-After": "2"}))
        client = PipedriveClient(pipedrive.url, TOKEN, retry=RetryPolicy(attempts=3), sleep=sleep)
        assert await client.find_person(ID_FIELD, "nobody") is None
        assert len(delays) == 1
        assert delays[0] >= 2

    async def test_a_bad_token_is_a_final_error(self, pipedrive: FakePipedrive) -> None:
        client = PipedriveClient(pipedrive.url, "not-the-token")
        with pytest.raises(PipedriveError) as failed:
            await client.create_person({"name": "x"})
        assert (failed.value.status, failed.value.retryable) == (401, False)


@pytest.mark.usefixtures("funnel")
class TestPipedriveSync:
    async def test_an_unknown_person_is_searched_then_created_with_our_id(
        self, db: Database, tenant: Tenant, worker: Dispatcher, pipedrive: FakePipedrive, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager, field_mapping={"channel": "b" * 40})
        lead = await create_lead(as_manager)
        await drain(worker)
        assert len(pipedrive.calls("GET", "/api/v2/persons/search")) == 1
        [created] = pipedrive.calls("POST")
        body = created.json()
        assert body["name"] == "Maria Silva"
        assert body["emails"] == [{"value": "maria@example.com", "primary": True, "label": "work"}]
        assert body["phones"][0]["value"] == "+5511987654321"
        assert body["custom_fields"][ID_FIELD] == lead["person_id"]
        [ref] = await refs_of(db, tenant)
        assert (ref.provider, str(ref.entity_id)) == ("pipedrive", lead["person_id"])
        assert ref.external_id in pipedrive.persons

    async def test_a_linked_person_is_updated_directly(
        self, worker: Dispatcher, pipedrive: FakePipedrive, as_manager: httpx.AsyncClient, broker: Any
    ) -> None:
        await connect(as_manager, field_mapping={"owner_email": "c" * 40})
        lead = await create_lead(as_manager)
        await drain(worker)
        await as_manager.post(f"/v1/leads/{lead['id']}/assign", json={"owner_id": str(broker.id)})
        await drain(worker)
        assert len(pipedrive.calls("POST")) == 1
        assert len(pipedrive.calls("GET", "/api/v2/persons/search")) == 1
        [update] = pipedrive.calls("PATCH")
        assert update.json()["custom_fields"]["c" * 40] == broker.email
        assert len(pipedrive.persons) == 1

    async def test_nothing_unchanged_is_sent_again(
        self, worker: Dispatcher, pipedrive: FakePipedrive, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager)
        await create_lead(as_manager)
        await drain(worker)
        before = len(pipedrive.server.received)
        await as_manager.post("/v1/sync/pipedrive/resync", json={})
        await drain(worker)
        assert len(pipedrive.server.received) == before

    async def test_a_person_created_before_a_crash_is_found_not_duplicated(
        self, db: Database, tenant: Tenant, worker: Dispatcher, pipedrive: FakePipedrive, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager)
        await create_lead(as_manager)
        await drain(worker)
        async with db.session(Scope.for_tenant(tenant.id)) as session:  # as if the commit after the create was lost
            await session.execute(delete(ExternalRef))
        await as_manager.post("/v1/sync/pipedrive/resync", json={})
        await drain(worker)
        assert len(pipedrive.persons) == 1
        assert len(pipedrive.calls("POST")) == 1
        assert len(pipedrive.calls("PATCH")) == 1
        assert len(await refs_of(db, tenant)) == 1

    async def test_a_person_deleted_in_pipedrive_is_created_again(
        self, db: Database, tenant: Tenant, worker: Dispatcher, pipedrive: FakePipedrive, as_manager: httpx.AsyncClient
    ) -> None:
        await connect(as_manager)
        await create_lead(as_manager)
        await drain(worker)
        pipedrive.persons.clear()
        await as_manager.post("/v1/sync/pipedrive/resync", json={"force": True})
        await drain(worker)
        assert len(pipedrive.persons) == 1
        [ref] = await refs_of(db, tenant)
        assert ref.external_id in pipedrive.persons

    async def test_a_refused_token_is_recorded_on_the_connection(
        self, db: Database, tenant: Tenant, worker: Dispatcher, pipedrive: FakePipedrive, as_manager: httpx.AsyncClient
    ) -> None:
        response = await as_manager.put(
            "/v1/sync/pipedrive", json={"api_token": "revoked-token-123", "id_field_key": ID_FIELD}
        )
        assert response.status_code == 200
        await create_lead(as_manager)
        await drain(worker)
        shown = (await as_manager.get("/v1/sync/pipedrive")).json()
        assert "unauthorized" in shown["last_error"]
        assert await refs_of(db, tenant) == []
