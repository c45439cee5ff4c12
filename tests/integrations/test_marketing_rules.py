"""Marketing rules respect the person's consents (LGPD art. 7 I and 18 §2): a rule's ``marketing`` action (an
approved WhatsApp template) goes out only to someone who may receive marketing on WhatsApp, and the lead's decision
log says for each message whether it went and why. The send happens on the bus, through the fake Graph API, and
reads the consents again, so a withdrawal in between wins."""

from __future__ import annotations

from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI

from leadflow.bus.dispatcher import Dispatcher
from leadflow.kit.db import Database
from leadflow.models import OutboxStatus, Tenant
from tests.console.conftest import logged_in_console
from tests.integrations.fakes.graph import FakeGraph
from tests.pipeline.conftest import SalesTeam, convert, drain_now, leads_of, outbox_of, visitor

WELCOME = {
    "id": "lancamento-aurora",
    "name": "Quem veio da campanha Aurora recebe o convite do lançamento",
    "when": {"field": "event.utm_campaign", "op": "eq", "value": "aurora"},
    "actions": [{"marketing": {"channel": "whatsapp", "template": "convite_aurora", "language": "pt_BR"}}],
}


@pytest_asyncio.fixture(autouse=True)
async def rules(as_sales_manager: httpx.AsyncClient, whatsapp: dict[str, Any]) -> None:
    response = await as_sales_manager.post("/v1/rule-sets", json={"rules": [WELCOME], "note": "convite Aurora"})
    assert response.status_code == 201, response.text


async def known_person(client: httpx.AsyncClient, n: int, *, consent: bool | None) -> str:
    """Visitor ``n`` known before converting, with a marketing consent on WhatsApp given, refused or never asked."""
    post = visitor(n)
    body = {"name": post["name"], "emails": [post["email"]], "phones": [post["phone"]]}
    response = await client.post("/v1/people", json=body)
    assert response.status_code == 201, response.text
    person_id: str = response.json()["id"]
    if consent is not None:
        choice = {"purpose": "marketing", "channel": "whatsapp", "granted": consent, "source": "form:cadastro"}
        given = await client.post(f"/v1/people/{person_id}/privacy/consents", json=choice)
        assert given.status_code == 201, given.text
    return person_id


async def marketing_log(client: httpx.AsyncClient, lead: dict[str, Any]) -> list[dict[str, Any]]:
    [decision] = (await client.get(f"/v1/leads/{lead['id']}/routing")).json()
    steps: list[dict[str, Any]] = decision["rules"]["marketing"]
    return steps


class TestAMarketingRule:
    async def test_sends_the_template_to_someone_who_consented_and_logs_why(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        worker: Dispatcher,
        graph: FakeGraph,
    ) -> None:
        await known_person(as_sales_manager, 1, consent=True)
        await convert(anonymous, worker, visitor(1, utm_campaign="aurora"))
        [lead] = await leads_of(as_sales_manager)
        [step] = await marketing_log(as_sales_manager, lead)
        assert (step["rule_id"], step["template"], step["allowed"]) == ("lancamento-aurora", "convite_aurora", True)
        assert step["why"] == "consent for marketing on whatsapp"
        [sent] = graph.sent_messages()
        assert sent.body["to"] == "5511987650001"  # a business-initiated conversation: the person never wrote
        assert (sent.body["type"], sent.body["template"]["name"]) == ("template", "convite_aurora")

    async def test_withholds_it_from_someone_who_never_consented_and_says_so(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        worker: Dispatcher,
        graph: FakeGraph,
    ) -> None:
        await convert(anonymous, worker, visitor(2, utm_campaign="aurora"))
        [lead] = await leads_of(as_sales_manager)
        [step] = await marketing_log(as_sales_manager, lead)
        assert (step["allowed"], step["why"]) == (False, "no consent for marketing on whatsapp")
        assert graph.sent_messages() == []

    async def test_withholds_it_from_someone_who_refused(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        worker: Dispatcher,
        graph: FakeGraph,
    ) -> None:
        await known_person(as_sales_manager, 3, consent=False)
        await convert(anonymous, worker, visitor(3, utm_campaign="aurora"))
        [lead] = await leads_of(as_sales_manager)
        [step] = await marketing_log(as_sales_manager, lead)
        assert (step["allowed"], step["why"]) == (False, "consent for marketing withdrawn on whatsapp")
        assert graph.sent_messages() == []

    async def test_a_withdrawal_before_the_send_wins(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        worker: Dispatcher,
        graph: FakeGraph,
        db: Database,
        tenant: Tenant,
    ) -> None:
        person_id = await known_person(as_sales_manager, 4, consent=True)
        response = await anonymous.post("/v1/forms/contato", json=visitor(4, utm_campaign="aurora"))
        assert response.status_code == 202, response.text
        # One batch at a time until the conversion has queued the send, not yet delivered.
        while not await outbox_of(db, tenant, "lead.marketing_due"):
            assert await worker.dispatch_once(), "the conversion never queued the marketing message"
        choice = {"purpose": "marketing", "channel": "whatsapp", "granted": False, "source": "whatsapp:SAIR"}
        withdrawn = await as_sales_manager.post(f"/v1/people/{person_id}/privacy/consents", json=choice)
        assert withdrawn.status_code == 201, withdrawn.text
        await drain_now(worker)
        [due] = await outbox_of(db, tenant, "lead.marketing_due")
        assert due.status == OutboxStatus.DONE  # handled: withheld, not failed
        assert graph.sent_messages() == []

    async def test_the_lead_page_shows_the_verdict_in_portuguese(
        self,
        app: FastAPI,
        tenant: Tenant,
        sales: SalesTeam,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        worker: Dispatcher,
    ) -> None:
        await convert(anonymous, worker, visitor(6, utm_campaign="aurora"))
        [lead] = await leads_of(as_sales_manager)
        async with logged_in_console(app, tenant, sales.manager) as console:
            html = (await console.get(f"/app/leads/{lead['id']}")).text
        assert "convite_aurora" in html
        assert "retido: a pessoa não consentiu ou se opôs" in html

    async def test_a_rule_that_does_not_match_asks_for_nothing(
        self,
        anonymous: httpx.AsyncClient,
        as_sales_manager: httpx.AsyncClient,
        worker: Dispatcher,
        graph: FakeGraph,
    ) -> None:
        await known_person(as_sales_manager, 5, consent=True)
        await convert(anonymous, worker, visitor(5, utm_campaign="outra"))
        [lead] = await leads_of(as_sales_manager)
        assert await marketing_log(as_sales_manager, lead) == []
        assert graph.sent_messages() == []
