"""Chatwoot webhooks (contracts §2.5): tied to the visitor by t.js's tracking id or to the person by phone/e-mail;
messages become chat interactions, so an agent's reply is the lead's first response."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import select

from leadflow.bus.dispatcher import Dispatcher
from leadflow.integrations.chatwoot.inbound import signature_of
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import Interaction, Person, PersonIdentity, Tenant
from tests import factories
from tests.integrations.conftest import connect, drain_now
from tests.pipeline.conftest import SalesTeam, leads_of

SECRET = "chatwoot-webhook-secret"
TRACKING_ID = "trk_01HZX5R8Q2W9K3M7N4P6T1V0Y2"


@pytest_asyncio.fixture
async def chatwoot(as_sales_manager: httpx.AsyncClient, sales: SalesTeam) -> dict[str, Any]:
    settings = {"base_url": "https://chat.acme.example.com", "account_id": 1, "webhook_secret": SECRET}
    return await connect(as_sales_manager, "chatwoot", "acme-chat", settings, team_id=str(sales.team.id))


def sender(**fields: Any) -> dict[str, Any]:
    return {
        "id": 14,
        "name": "Maria Silva",
        "email": None,
        "phone_number": None,
        "identifier": None,
        "custom_attributes": {"tracking_id": TRACKING_ID},
        "type": "contact",
        **fields,
    }


def message_created(
    message_id: int,
    content: str,
    *,
    incoming: bool = True,
    private: bool = False,
    contact: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "event": "message_created",
        "id": message_id,
        "content": content,
        "created_at": "2026-05-04T13:25:48.000Z",
        "message_type": "incoming" if incoming else "outgoing",
        "content_type": "text",
        "private": private,
        "sender": {"id": 14, "name": "Maria Silva", "type": "contact"} if incoming else {"id": 2, "type": "user"},
        "inbox": {"id": 3, "name": "Site Aurora"},
        "conversation": {
            "id": 10,
            "inbox_id": 3,
            "channel": "Channel::WebWidget",
            "status": "open",
            "additional_attributes": {
                "referer": "https://aurora.example.com/residencial?utm_source=facebook&utm_medium=paid"
            },
            "meta": {"sender": contact or sender(), "assignee": None},
            "timestamp": 1746365148,
        },
        "account": {"id": 1, "name": "Imobiliária Exemplo"},
    }


async def post(
    client: httpx.AsyncClient, body: dict[str, Any], *, secret: str = SECRET, timestamp: int | None = None
) -> httpx.Response:
    raw = json.dumps(body).encode()
    ts = str(timestamp if timestamp is not None else int(time.time()))
    headers = {
        "content-type": "application/json",
        "x-chatwoot-signature": signature_of(secret, ts, raw),
        "x-chatwoot-timestamp": ts,
        "x-chatwoot-delivery": "5c1f0a4e-2f0e-4f7e-9d1e-6f6a7b8c9d0e",
    }
    return await client.post("/hooks/chatwoot/acme-chat", content=raw, headers=headers)


async def interactions(db: Database, tenant: Tenant) -> list[Interaction]:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        return list((await session.scalars(select(Interaction).order_by(Interaction.occurred_at))).all())


class TestChatMessages:
    async def test_a_visitor_chat_becomes_a_routed_lead_tied_to_its_tracking_id_and_the_reply_is_first_response(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        chatwoot: dict[str, Any],
        sales: SalesTeam,
        worker: Dispatcher,
        db: Database,
        tenant: Tenant,
    ) -> None:
        assert (await post(anonymous, message_created(118, "Ainda tem o apto de 2 quartos?"))).status_code == 200
        await drain_now(worker)
        await post(anonymous, message_created(119, "Tem sim! Posso te ligar?", incoming=False))
        await drain_now(worker)
        [lead] = await leads_of(as_sales_manager)
        assert lead["owner_id"] in {str(b.id) for b in sales.brokers}
        assert lead["source"] == "facebook"
        assert lead["first_responded_at"] is not None
        assert [(i.direction, i.body) for i in await interactions(db, tenant)] == [
            ("inbound", "Ainda tem o apto de 2 quartos?"),
            ("outbound", "Tem sim! Posso te ligar?"),
        ]
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            kinds = (
                await session.scalars(select(PersonIdentity.value).where(PersonIdentity.kind == "tracking_id"))
            ).all()
        assert list(kinds) == [TRACKING_ID]

    async def test_a_chat_contact_with_a_known_phone_joins_that_person(
        self,
        anonymous: httpx.AsyncClient,
        chatwoot: dict[str, Any],
        worker: Dispatcher,
        db: Database,
        tenant: Tenant,
    ) -> None:
        known = await factories.make_person(db, tenant, name="Maria Silva", phone="+5511987654321")
        contact = sender(phone_number="+551187654321", custom_attributes={})
        await post(anonymous, message_created(120, "Oi", contact=contact))
        await drain_now(worker)
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            people = (await session.scalars(select(Person))).all()
        assert [p.id for p in people] == [known.id]

    async def test_private_notes_stay_in_chatwoot(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        chatwoot: dict[str, Any],
        worker: Dispatcher,
    ) -> None:
        await post(anonymous, message_created(121, "cliente parece quente", incoming=False, private=True))
        await drain_now(worker)
        assert await leads_of(as_sales_manager) == []

    async def test_a_contact_alone_is_not_a_lead(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        chatwoot: dict[str, Any],
        worker: Dispatcher,
    ) -> None:
        body = {"event": "contact_created", **sender(), "account": {"id": 1}}
        assert (await post(anonymous, body)).status_code == 200
        await drain_now(worker)
        assert await leads_of(as_sales_manager) == []

    async def test_a_status_change_is_noted_on_the_lead(
        self,
        anonymous: httpx.AsyncClient,
        chatwoot: dict[str, Any],
        worker: Dispatcher,
        db: Database,
        tenant: Tenant,
    ) -> None:
        await post(anonymous, message_created(118, "Oi"))
        status = {
            "event": "conversation_status_changed",
            "id": 10,
            "status": "resolved",
            "timestamp": 1746365999,
            "meta": {"sender": sender()},
            "changed_attributes": [{"status": {"previous_value": "open", "current_value": "resolved"}}],
        }
        await post(anonymous, status)
        await drain_now(worker)
        assert [i.subject for i in await interactions(db, tenant)][-1] == "Conversa 10 no Chatwoot: resolved"


class TestChatwootSignature:
    async def test_a_wrong_signature_is_401(self, anonymous: httpx.AsyncClient, chatwoot: dict[str, Any]) -> None:
        assert (await post(anonymous, message_created(118, "Oi"), secret="wrong-secret")).status_code == 401

    async def test_an_old_timestamp_is_refused_as_a_replay(
        self, anonymous: httpx.AsyncClient, chatwoot: dict[str, Any]
    ) -> None:
        response = await post(anonymous, message_created(118, "Oi"), timestamp=int(time.time()) - 3600)
        assert response.status_code == 401

    async def test_an_unsigned_delivery_is_401(self, anonymous: httpx.AsyncClient, chatwoot: dict[str, Any]) -> None:
        assert (await anonymous.post("/hooks/chatwoot/acme-chat", json=message_created(118, "Oi"))).status_code == 401
