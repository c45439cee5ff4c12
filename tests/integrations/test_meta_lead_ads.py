"""Meta Lead Ads: a signed leadgen notification, the lead fetched from the fake Graph API, mapped to person and
lead with campaign, ad set, ad and form as attribution; fetch failures retried by the bus, never dropped."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import select

from leadflow.bus.dispatcher import Dispatcher
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import LeadConversion, OutboxMessage, Tenant
from leadflow.models.bus import OutboxStatus
from tests.integrations.conftest import APP_SECRET, VERIFY_TOKEN, connect, deliver, drain_now
from tests.integrations.fakes.graph import FakeGraph
from tests.pipeline.conftest import SalesTeam, leads_of

LEADGEN_ID = "1234567890123456"


@pytest_asyncio.fixture
async def lead_ads(as_sales_manager: httpx.AsyncClient, sales: SalesTeam, graph: FakeGraph) -> dict[str, Any]:
    settings = {
        "page_id": "104000000000001",
        "graph_base_url": graph.base_url,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "page_access_token": graph.token,
    }
    graph.leads[LEADGEN_ID] = {
        "id": LEADGEN_ID,
        "created_time": "2026-05-04T13:28:19+0000",
        "form_id": "987654321098765",
        "ad_id": "120210000000000001",
        "ad_name": "Carrossel 2 quartos",
        "adset_id": "120210000000000002",
        "campaign_id": "120210000000000000",
        "campaign_name": "aurora-lancamento",
        "is_organic": False,
        "platform": "ig",
        "field_data": [
            {"name": "full_name", "values": ["Maria Silva"]},
            {"name": "email", "values": ["maria@example.com"]},
            {"name": "phone_number", "values": ["+5511987654321"]},
            {"name": "qual_o_seu_orçamento?", "values": ["de_600_mil_a_800_mil"]},
        ],
    }
    return await connect(as_sales_manager, "meta_leads", "acme-leads", settings, team_id=str(sales.team.id))


def leadgen(*ids: str) -> dict[str, Any]:
    changes = [
        {
            "field": "leadgen",
            "value": {
                "leadgen_id": i,
                "form_id": "987654321098765",
                "page_id": "104000000000001",
                "ad_id": "120210000000000001",
                "adgroup_id": "120210000000000002",
                "created_time": 1746365299,
            },
        }
        for i in ids
    ]
    return {"object": "page", "entry": [{"id": "104000000000001", "time": 1746365300, "changes": changes}]}


async def send(client: httpx.AsyncClient, body: dict[str, Any], **kw: Any) -> httpx.Response:
    return await deliver(client, body, key="acme-leads", provider="meta_leads", **kw)


class TestLeadgen:
    async def test_a_leadgen_notification_becomes_a_routed_lead_with_its_ad_attribution(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        lead_ads: dict[str, Any],
        sales: SalesTeam,
        worker: Dispatcher,
        db: Database,
        tenant: Tenant,
    ) -> None:
        assert (await send(anonymous, leadgen(LEADGEN_ID))).status_code == 200
        await drain_now(worker)
        [lead] = await leads_of(as_sales_manager)
        assert lead["person_name"] == "Maria Silva"
        assert lead["owner_id"] in {str(b.id) for b in sales.brokers}
        assert lead["channel"] == "Lead Ads"
        assert lead["first_touch"]["utm_campaign"] == "aurora-lancamento"
        assert lead["first_touch"]["meta_form_id"] == "987654321098765"
        assert lead["first_touch"]["meta_adset_id"] == "120210000000000002"
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            [conversion] = (await session.scalars(select(LeadConversion))).all()
        assert conversion.attribution["lead_ads"]["ad_name"] == "Carrossel 2 quartos"

    async def test_a_bad_signature_is_401(self, anonymous: httpx.AsyncClient, lead_ads: dict[str, Any]) -> None:
        assert (await send(anonymous, leadgen(LEADGEN_ID), secret="wrong")).status_code == 401

    async def test_the_same_leadgen_delivered_twice_is_one_lead(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        lead_ads: dict[str, Any],
        worker: Dispatcher,
    ) -> None:
        await send(anonymous, leadgen(LEADGEN_ID))
        await send(anonymous, leadgen(LEADGEN_ID, LEADGEN_ID))
        await drain_now(worker)
        assert len(await leads_of(as_sales_manager)) == 1

    async def test_a_graph_outage_is_retried_by_the_bus_until_the_lead_arrives(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        lead_ads: dict[str, Any],
        worker: Dispatcher,
        graph: FakeGraph,
    ) -> None:
        for _ in range(3):  # every attempt of the client's first try
            graph.fail_next(503, {"error": {"message": "Service temporarily unavailable"}})
        await send(anonymous, leadgen(LEADGEN_ID))
        await drain_now(worker)
        assert await leads_of(as_sales_manager) == []
        worker.clock.advance(timedelta(minutes=10))  # type: ignore[attr-defined]
        await drain_now(worker)
        assert len(await leads_of(as_sales_manager)) == 1

    async def test_a_lead_that_cannot_be_fetched_is_dead_lettered_not_dropped(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        lead_ads: dict[str, Any],
        worker: Dispatcher,
        graph: FakeGraph,
        db: Database,
        tenant: Tenant,
    ) -> None:
        graph.leads.clear()
        graph.token = "rotated"  # our token is refused: 401 on every attempt
        await send(anonymous, leadgen(LEADGEN_ID))
        for _ in range(4):
            await drain_now(worker)
            worker.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
        assert await leads_of(as_sales_manager) == []
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            stmt = select(OutboxMessage).where(OutboxMessage.event_name == "integrations.leadgen_received")
            [message] = (await session.scalars(stmt)).all()
        assert message.status is OutboxStatus.DEAD
        assert "401" in (message.last_error or "")

    async def test_a_malformed_graph_answer_is_retried(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        lead_ads: dict[str, Any],
        worker: Dispatcher,
        graph: FakeGraph,
    ) -> None:
        graph.fail_next(200, b"<html>not json</html>")
        await send(anonymous, leadgen(LEADGEN_ID))
        await drain_now(worker)
        worker.clock.advance(timedelta(minutes=10))  # type: ignore[attr-defined]
        await drain_now(worker)
        assert len(await leads_of(as_sales_manager)) == 1
