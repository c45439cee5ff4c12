"""A created or assigned lead is handed over to the tenant's Chatwoot (fake Chatwoot over real HTTP) through the
tenant's Chatwoot connection of the integrations core."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from leadflow.bus.dispatcher import Dispatcher
from leadflow.bus.outbox import enqueue
from leadflow.config import Settings
from leadflow.integrations.credentials import seal
from leadflow.kit.db import Database
from leadflow.kit.ids import new_id
from leadflow.kit.scope import Scope
from leadflow.kit.sealing import KeyRing
from leadflow.lead.events import LeadCreated
from leadflow.models import ExternalRef, IntegrationConnection, Tenant, User
from tests import factories
from tests.sync.conftest import drain
from tests.sync.fake_chatwoot import TOKEN, FakeChatwoot

INBOX = 3


@pytest.fixture
def chatwoot() -> Iterator[FakeChatwoot]:
    fake = FakeChatwoot()
    fake.server.start()
    try:
        yield fake
    finally:
        fake.server.stop()


async def connect_chatwoot(
    db: Database, tenant: Tenant, settings: Settings, chatwoot: FakeChatwoot, *, token: str | None = TOKEN
) -> None:
    connection_id = new_id()
    secrets: dict[str, Any] = {"webhook_secret": "chatwoot-hook-secret"}
    if token:
        secrets["api_access_token"] = token
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        session.add(
            IntegrationConnection(
                id=connection_id,
                provider="chatwoot",
                key="acme-chat",
                name="Chat do site",
                settings={"base_url": chatwoot.url, "account_id": 1, "inbox_id": INBOX},
                credentials=seal(KeyRing(settings.signing_keys()), connection_id, secrets),
            )
        )


@pytest.fixture
async def funnel(db: Database, tenant: Tenant) -> None:
    await factories.make_pipeline(db, tenant)


@pytest.mark.usefixtures("funnel")
class TestChatwootHandOver:
    async def test_a_new_lead_lands_in_the_inbox_assigned_to_the_brokers_agent_with_a_private_note(
        self,
        db: Database,
        tenant: Tenant,
        settings: Settings,
        worker: Dispatcher,
        chatwoot: FakeChatwoot,
        broker: User,
        as_manager: httpx.AsyncClient,
    ) -> None:
        await connect_chatwoot(db, tenant, settings, chatwoot)
        response = await as_manager.post(
            "/v1/leads",
            json={
                "person": {"name": "Maria Silva", "phones": ["11987654321"]},
                "owner_id": str(broker.id),
                "source": "portal_zap",
                "tags": ["Portal ZAP", "quente"],
            },
        )
        assert response.status_code == 201, response.text
        lead = response.json()
        await drain(worker)
        [contact] = chatwoot.contacts.values()
        assert contact["identifier"] == lead["person_id"]
        assert contact["phone_number"] == "+5511987654321"
        assert contact["custom_attributes"]["lead_id"] == lead["id"]
        [conversation] = chatwoot.conversations.values()
        assert (conversation["inbox_id"], conversation["assignee_id"]) == (INBOX, 7)
        assert conversation["labels"] == ["portal-zap", "quente"]
        notes = [n for n in chatwoot.notes if n["private"]]
        assert notes
        assert broker.email in notes[0]["content"]
        assert "portal_zap" in notes[0]["content"]
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            [ref] = (await session.scalars(select(ExternalRef).where(ExternalRef.provider == "chatwoot"))).all()
        assert ref.external_id == str(contact["id"])

    async def test_a_reassignment_reuses_the_contact_and_the_open_conversation(
        self,
        db: Database,
        tenant: Tenant,
        settings: Settings,
        worker: Dispatcher,
        chatwoot: FakeChatwoot,
        broker: User,
        as_manager: httpx.AsyncClient,
    ) -> None:
        await connect_chatwoot(db, tenant, settings, chatwoot)
        lead = (await as_manager.post("/v1/leads", json={"person": {"name": "Maria Silva"}})).json()
        await drain(worker)
        await as_manager.post(f"/v1/leads/{lead['id']}/assign", json={"owner_id": str(broker.id)})
        await drain(worker)
        assert len(chatwoot.contacts) == 1
        [conversation] = chatwoot.conversations.values()
        assert conversation["assignee_id"] == 7

    async def test_an_inbound_only_connection_sends_nothing(
        self,
        db: Database,
        tenant: Tenant,
        settings: Settings,
        worker: Dispatcher,
        chatwoot: FakeChatwoot,
        as_manager: httpx.AsyncClient,
    ) -> None:
        await connect_chatwoot(db, tenant, settings, chatwoot, token=None)
        await as_manager.post("/v1/leads", json={"person": {"name": "Maria Silva"}})
        await drain(worker)
        assert chatwoot.server.received == []

    async def test_another_tenants_lead_does_not_use_this_tenants_chatwoot(
        self,
        db: Database,
        tenant: Tenant,
        other_tenant: Tenant,
        settings: Settings,
        worker: Dispatcher,
        chatwoot: FakeChatwoot,
    ) -> None:
        await connect_chatwoot(db, tenant, settings, chatwoot)
        _, stages = await factories.make_pipeline(db, other_tenant)
        person = await factories.make_person(db, other_tenant, name="Rival")
        lead = await factories.make_lead(db, other_tenant, person=person, stage=stages[0])
        async with db.session(Scope.for_tenant(other_tenant.id)) as session:
            enqueue(session, LeadCreated(tenant_id=other_tenant.id, payload={"lead_id": str(lead.id)}))
        await drain(worker)
        assert chatwoot.server.received == []
