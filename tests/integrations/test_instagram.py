"""Instagram DMs: signed like WhatsApp, the person known by their Instagram-scoped id."""

from __future__ import annotations

from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import select

from leadflow.bus.dispatcher import Dispatcher
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import Interaction, Tenant
from tests.integrations.conftest import APP_SECRET, VERIFY_TOKEN, connect, deliver, drain_now
from tests.pipeline.conftest import SalesTeam, leads_of

IGSID = "5432109876543210"


@pytest_asyncio.fixture
async def instagram(as_sales_manager: httpx.AsyncClient, sales: SalesTeam) -> dict[str, Any]:
    settings = {"account_id": "17841400000000000", "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN}
    return await connect(as_sales_manager, "instagram", "acme-ig", settings, team_id=str(sales.team.id))


def direct(mid: str, text: str, *, sender: str = IGSID, echo: bool = False) -> dict[str, Any]:
    message: dict[str, Any] = {"mid": mid, "text": text}
    if echo:
        message["is_echo"] = True
    item = {
        "sender": {"id": sender},
        "recipient": {"id": "17841400000000000"},
        "timestamp": 1746365147990,
        "message": message,
    }
    return {"object": "instagram", "entry": [{"id": "17841400000000000", "time": 1746365148123, "messaging": [item]}]}


async def send(client: httpx.AsyncClient, body: dict[str, Any], **kw: Any) -> httpx.Response:
    return await deliver(client, body, key="acme-ig", provider="instagram", **kw)


class TestInstagramDirect:
    async def test_a_dm_from_an_unknown_account_becomes_a_routed_lead_and_the_next_one_joins_it(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        instagram: dict[str, Any],
        sales: SalesTeam,
        worker: Dispatcher,
        db: Database,
        tenant: Tenant,
    ) -> None:
        assert (await send(anonymous, direct("mid.1", "O apartamento do post está disponível?"))).status_code == 200
        await send(anonymous, direct("mid.2", "Tem vaga de garagem?"))
        await drain_now(worker)
        [lead] = await leads_of(as_sales_manager)
        assert lead["owner_id"] in {str(b.id) for b in sales.brokers}
        assert lead["source"] == "instagram"
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            interactions = (await session.scalars(select(Interaction))).all()
        assert sorted(i.body or "" for i in interactions) == [
            "O apartamento do post está disponível?",
            "Tem vaga de garagem?",
        ]
        assert {i.channel for i in interactions} == {"instagram"}

    async def test_echoes_of_our_own_messages_are_not_inbound(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        instagram: dict[str, Any],
        worker: Dispatcher,
    ) -> None:
        await send(anonymous, direct("mid.echo", "Olá! Como posso ajudar?", echo=True))
        await drain_now(worker)
        assert await leads_of(as_sales_manager) == []

    async def test_a_bad_signature_is_401(self, anonymous: httpx.AsyncClient, instagram: dict[str, Any]) -> None:
        assert (await send(anonymous, direct("mid.1", "Oi"), secret="wrong")).status_code == 401
