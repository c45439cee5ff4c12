"""A broker writes to a lead on WhatsApp through the fake Graph API: text inside the 24-hour window, templates
any time, the wa_id exactly as received, statuses moving the message forward, provider failures answered."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select, update

from leadflow.bus.dispatcher import Dispatcher
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import ChannelContact, Interaction, Tenant
from tests import factories
from tests.console.conftest import logged_in_console
from tests.integrations.conftest import deliver, drain_now, status_update, text_message
from tests.integrations.fakes.graph import FakeGraph
from tests.pipeline.conftest import SalesTeam, leads_of

WA_ID_WITHOUT_NINTH_DIGIT = "551187654321"


@pytest_asyncio.fixture
async def lead(
    anonymous: httpx.AsyncClient, as_sales_manager: httpx.AsyncClient, whatsapp: dict[str, Any], worker: Dispatcher
) -> dict[str, Any]:
    """A lead that wrote in from a number registered without the ninth digit."""
    await deliver(anonymous, text_message(wa_id=WA_ID_WITHOUT_NINTH_DIGIT))
    await drain_now(worker)
    [found] = await leads_of(as_sales_manager)
    return found


async def outbound(db: Database, tenant: Tenant) -> list[Interaction]:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        stmt = select(Interaction).where(Interaction.direction == "outbound")
        return list((await session.scalars(stmt)).all())


class TestSendText:
    async def test_a_text_inside_the_window_goes_to_the_wa_id_as_received_and_is_logged(
        self,
        app: FastAPI,
        tenant: Tenant,
        sales: SalesTeam,
        lead: dict[str, Any],
        graph: FakeGraph,
        db: Database,
    ) -> None:
        owner = next(b for b in sales.brokers if str(b.id) == lead["owner_id"])
        async with factories.logged_in(app, tenant, owner) as broker:
            response = await broker.post(f"/v1/leads/{lead['id']}/whatsapp", json={"text": "Oi Maria! Sou a Ana."})
        assert response.status_code == 200, response.text
        [sent] = graph.sent_messages()
        assert sent.body["to"] == WA_ID_WITHOUT_NINTH_DIGIT
        assert sent.body["text"]["body"] == "Oi Maria! Sou a Ana."
        assert sent.headers["Authorization"] == f"Bearer {graph.token}"
        [interaction] = await outbound(db, tenant)
        assert interaction.external_id == response.json()["external_id"]
        assert interaction.delivery_status == "accepted"

    async def test_a_text_after_24_hours_is_refused_with_a_clear_409(
        self,
        as_sales_manager: httpx.AsyncClient,
        lead: dict[str, Any],
        graph: FakeGraph,
        db: Database,
        tenant: Tenant,
    ) -> None:
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            await session.execute(update(ChannelContact).values(last_inbound_at=utcnow() - timedelta(hours=25)))
        response = await as_sales_manager.post(f"/v1/leads/{lead['id']}/whatsapp", json={"text": "Oi?"})
        assert response.status_code == 409
        assert "24 hours" in response.json()["detail"]
        assert graph.sent_messages() == []

    async def test_a_template_may_be_sent_after_24_hours(
        self,
        as_sales_manager: httpx.AsyncClient,
        lead: dict[str, Any],
        graph: FakeGraph,
        db: Database,
        tenant: Tenant,
    ) -> None:
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            await session.execute(update(ChannelContact).values(last_inbound_at=utcnow() - timedelta(days=3)))
        body = {"template": {"name": "retomar_contato", "language": "pt_BR"}}
        response = await as_sales_manager.post(f"/v1/leads/{lead['id']}/whatsapp", json=body)
        assert response.status_code == 200, response.text
        [sent] = graph.sent_messages()
        assert sent.body["type"] == "template"
        assert sent.body["template"] == {"name": "retomar_contato", "language": {"code": "pt_BR"}}

    async def test_a_429_with_retry_after_is_honoured_then_the_send_succeeds(
        self, as_sales_manager: httpx.AsyncClient, lead: dict[str, Any], graph: FakeGraph
    ) -> None:
        graph.fail_next(429, {"error": {"message": "Rate limit hit", "code": 130429}}, {"Retry-After": "1"})
        response = await as_sales_manager.post(f"/v1/leads/{lead['id']}/whatsapp", json={"text": "Oi!"})
        assert response.status_code == 200, response.text
        assert len(graph.sent_messages()) == 2

    async def test_a_5xx_on_send_is_a_502_not_retried_since_the_message_may_have_gone_out(
        self,
        as_sales_manager: httpx.AsyncClient,
        lead: dict[str, Any],
        graph: FakeGraph,
        db: Database,
        tenant: Tenant,
    ) -> None:
        graph.fail_next(500, b"<html>oops</html>", {"content-type": "text/html"})
        response = await as_sales_manager.post(f"/v1/leads/{lead['id']}/whatsapp", json={"text": "Oi!"})
        assert response.status_code == 502
        assert len(graph.sent_messages()) == 1
        assert await outbound(db, tenant) == []

    async def test_a_malformed_success_body_is_a_502(
        self, as_sales_manager: httpx.AsyncClient, lead: dict[str, Any], graph: FakeGraph
    ) -> None:
        graph.fail_next(200, b"not json")
        response = await as_sales_manager.post(f"/v1/leads/{lead['id']}/whatsapp", json={"text": "Oi!"})
        assert response.status_code == 502

    async def test_a_broker_cannot_write_on_a_lead_that_is_not_theirs(
        self, app: FastAPI, tenant: Tenant, sales: SalesTeam, lead: dict[str, Any], graph: FakeGraph
    ) -> None:
        other = next(b for b in sales.brokers if str(b.id) != lead["owner_id"])
        async with factories.logged_in(app, tenant, other) as broker:
            response = await broker.post(f"/v1/leads/{lead['id']}/whatsapp", json={"text": "Oi"})
        assert response.status_code == 404
        assert graph.sent_messages() == []

    async def test_text_and_template_together_are_422(
        self, as_sales_manager: httpx.AsyncClient, lead: dict[str, Any]
    ) -> None:
        body = {"text": "Oi", "template": {"name": "x"}}
        assert (await as_sales_manager.post(f"/v1/leads/{lead['id']}/whatsapp", json=body)).status_code == 422


class TestStatuses:
    async def test_statuses_move_the_message_forward_and_never_back(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        lead: dict[str, Any],
        worker: Dispatcher,
        db: Database,
        tenant: Tenant,
    ) -> None:
        sent = await as_sales_manager.post(f"/v1/leads/{lead['id']}/whatsapp", json={"text": "Oi!"})
        wamid = sent.json()["external_id"]
        for status in ("read", "delivered", "sent"):  # out of order, as Meta may deliver them
            await deliver(anonymous, status_update(wamid, status))
        await drain_now(worker)
        [interaction] = await outbound(db, tenant)
        assert interaction.delivery_status == "read"

    async def test_a_failed_status_keeps_the_error(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        lead: dict[str, Any],
        worker: Dispatcher,
        db: Database,
        tenant: Tenant,
    ) -> None:
        sent = await as_sales_manager.post(f"/v1/leads/{lead['id']}/whatsapp", json={"text": "Oi!"})
        errors = [{"code": 131047, "title": "Re-engagement message"}]
        await deliver(anonymous, status_update(sent.json()["external_id"], "failed", errors=errors))
        await drain_now(worker)
        [interaction] = await outbound(db, tenant)
        assert interaction.delivery_status == "failed"
        assert interaction.meta["statuses"][-1]["error"] == "131047 Re-engagement message"


class TestFromTheConsole:
    """The lead page's "Enviar no WhatsApp": the same service as the API, so the same window and the same log."""

    async def test_a_broker_sends_a_text_and_it_lands_on_the_timeline(
        self, app: FastAPI, tenant: Tenant, sales: SalesTeam, lead: dict[str, Any], graph: FakeGraph
    ) -> None:
        owner = next(b for b in sales.brokers if str(b.id) == lead["owner_id"])
        async with logged_in_console(app, tenant, owner) as console:
            page = (await console.get(f"/app/leads/{lead['id']}")).text
            assert 'id="send-whatsapp"' in page
            response = await console.post(f"/app/leads/{lead['id']}/whatsapp", {"text": "Oi Maria! Sou a Ana."})
            assert response.status_code == 303, response.text
            timeline = (await console.get(f"/app/leads/{lead['id']}")).text
        [sent] = graph.sent_messages()
        assert (sent.body["to"], sent.body["text"]["body"]) == (WA_ID_WITHOUT_NINTH_DIGIT, "Oi Maria! Sou a Ana.")
        assert "Oi Maria! Sou a Ana." in timeline

    async def test_a_text_after_24_hours_is_refused_in_portuguese(
        self,
        app: FastAPI,
        tenant: Tenant,
        sales: SalesTeam,
        lead: dict[str, Any],
        graph: FakeGraph,
        db: Database,
    ) -> None:
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            await session.execute(update(ChannelContact).values(last_inbound_at=utcnow() - timedelta(hours=25)))
        async with logged_in_console(app, tenant, sales.manager) as console:
            await console.get(f"/app/leads/{lead['id']}")
            response = await console.post(f"/app/leads/{lead['id']}/whatsapp", {"text": "Oi?"})
        assert response.status_code == 409
        assert "A última mensagem da pessoa tem mais de 24 horas: envie um modelo aprovado." in response.text
        assert graph.sent_messages() == []
