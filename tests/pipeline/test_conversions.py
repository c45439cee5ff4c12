"""A form post becomes a lead with its first touch, routed by the roleta with a stored explanation."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from leadflow.bus.dispatcher import Dispatcher
from leadflow.models import Tenant
from tests.pipeline.conftest import SalesTeam, drain

FORM = {
    "name": "Maria Silva",
    "email": "Maria.Silva@Gmail.com",
    "phone": "(11) 98765-4321",
    "message": "Quero visitar o decorado no sábado.",
    "lf_tracking_id": "trk-visitor-1",
    "utm_source": "google",
    "utm_medium": "cpc",
    "utm_campaign": "lancamento-jardins",
    "gclid": "TeSt123",
    "page_url": "http://demo.localhost:8000/jardins?utm_source=google",
    "referrer": "https://www.google.com/",
    "lf_hp": "",
}


async def _leads(client: httpx.AsyncClient) -> list[dict[str, object]]:
    response = await client.get("/v1/leads")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


class TestAFormBecomesARoutedLead:
    async def test_an_html_post_redirects_to_the_thank_you_page(
        self, anonymous: httpx.AsyncClient, sales: SalesTeam
    ) -> None:
        response = await anonymous.post("/v1/forms/contato", data=FORM)
        assert response.status_code == 303
        assert response.headers["location"] == "/obrigado"

    async def test_the_lead_carries_the_first_touch_and_goes_to_a_broker_of_the_team(
        self, anonymous: httpx.AsyncClient, as_owner: httpx.AsyncClient, sales: SalesTeam, worker: Dispatcher
    ) -> None:
        await anonymous.post("/v1/forms/contato", data=FORM)
        await drain(worker)
        [lead] = await _leads(as_owner)
        assert lead["first_touch"]["utm_source"] == "google"
        assert lead["first_touch"]["utm_campaign"] == "lancamento-jardins"
        assert lead["first_touch"]["gclid"] == "TeSt123"
        assert lead["channel"] == "Paid Search"
        assert lead["team_id"] == str(sales.team.id)
        assert lead["owner_id"] in {str(b.id) for b in sales.brokers}
        assert lead["first_response_due_at"] is not None

    async def test_the_routing_explanation_names_the_candidates_and_the_winner(
        self, anonymous: httpx.AsyncClient, as_owner: httpx.AsyncClient, sales: SalesTeam, worker: Dispatcher
    ) -> None:
        await anonymous.post("/v1/forms/contato", data=FORM)
        await drain(worker)
        [lead] = await _leads(as_owner)
        [decision] = (await as_owner.get(f"/v1/leads/{lead['id']}/routing")).json()
        assert decision["assignee_id"] == lead["owner_id"]
        assert decision["step"] == "team"
        assert "round-robin" in decision["why"]
        team_step = next(s for s in decision["roleta"]["steps"] if s["step"] == "team")
        skipped = {c["name"]: c["skipped_because"] for c in team_step["considered"]}
        assert skipped == {"Ana Corretora": None, "Bruno Corretor": None, "Gerente Vendas": "reserved_for_escalation"}

    async def test_the_visitors_message_is_logged_on_the_lead_as_written(
        self, anonymous: httpx.AsyncClient, as_owner: httpx.AsyncClient, sales: SalesTeam, worker: Dispatcher
    ) -> None:
        await anonymous.post("/v1/forms/contato", json={**FORM, "message": "Bom dia!\nPrefiro contato à tarde."})
        await drain(worker)
        [lead] = await _leads(as_owner)
        [note] = (await as_owner.get("/v1/interactions", params={"lead_id": lead["id"]})).json()["items"]
        assert (note["direction"], note["body"]) == ("inbound", "Bom dia!\nPrefiro contato à tarde.")

    async def test_brokers_take_turns(
        self, anonymous: httpx.AsyncClient, as_owner: httpx.AsyncClient, sales: SalesTeam, worker: Dispatcher
    ) -> None:
        for n in range(4):
            visitor = {"email": f"p{n}@x.com", "phone": f"1198765000{n}", "lf_tracking_id": f"trk-{n}"}
            await anonymous.post("/v1/forms/contato", data={**FORM, **visitor})
        await drain(worker)
        owners = [lead["owner_id"] for lead in await _leads(as_owner)]
        assert sorted(owners) == sorted([str(b.id) for b in sales.brokers] * 2)

    async def test_a_second_delivery_of_the_same_event_changes_nothing(
        self, anonymous: httpx.AsyncClient, as_owner: httpx.AsyncClient, sales: SalesTeam, worker: Dispatcher
    ) -> None:
        first = await anonymous.post("/v1/forms/contato", json=FORM)
        again = await anonymous.post("/v1/forms/contato", json=FORM)
        assert again.json() == {**first.json(), "duplicate": True}
        await drain(worker)
        assert len(await _leads(as_owner)) == 1


class TestReconversion:
    async def test_a_visitor_known_by_tracking_id_reconverts_with_a_new_email(
        self, anonymous: httpx.AsyncClient, as_owner: httpx.AsyncClient, sales: SalesTeam, worker: Dispatcher
    ) -> None:
        await anonymous.post("/v1/forms/contato", json=FORM)
        await drain(worker)
        await anonymous.post("/v1/forms/contato", json={**FORM, "email": "outro@x.com", "phone": ""})
        await drain(worker)
        [lead] = await _leads(as_owner)
        person = (await as_owner.get(f"/v1/people/{lead['person_id']}")).json()
        assert sorted(person["emails"]) == ["maria.silva@gmail.com", "outro@x.com"]

    async def test_the_same_person_again_reconverts_the_open_lead(
        self, anonymous: httpx.AsyncClient, as_owner: httpx.AsyncClient, sales: SalesTeam, worker: Dispatcher
    ) -> None:
        await anonymous.post("/v1/forms/contato", json=FORM)
        await drain(worker)
        later = {**FORM, "phone": "+55 11 8765-4321", "utm_source": "facebook", "utm_medium": "paid", "gclid": ""}
        await anonymous.post("/v1/forms/contato", json={**later, "lf_last_touch": '{"utm_source": "facebook"}'})
        await drain(worker)
        [lead] = await _leads(as_owner)
        assert lead["first_touch"]["utm_source"] == "google"
        assert lead["last_touch"]["utm_source"] == "facebook"


class TestBadInputIsKept:
    async def test_a_post_without_email_or_phone_is_a_422_kept_as_rejected(
        self, anonymous: httpx.AsyncClient, as_owner: httpx.AsyncClient, sales: SalesTeam
    ) -> None:
        response = await anonymous.post("/v1/forms/contato", json={"name": "Sem contato"})
        assert response.status_code == 422
        [rejected] = (await as_owner.get("/v1/rejected-events", params={"source": "form"})).json()["items"]
        assert "e-mail or a phone" in rejected["failure"][0]["message"]

    async def test_the_honeypot_looks_accepted_but_is_kept_as_spam(
        self, anonymous: httpx.AsyncClient, as_owner: httpx.AsyncClient, sales: SalesTeam, worker: Dispatcher
    ) -> None:
        response = await anonymous.post("/v1/forms/contato", json={**FORM, "lf_hp": "http://spam"})
        assert response.status_code == 202
        await drain(worker)
        assert await _leads(as_owner) == []
        [rejected] = (await as_owner.get("/v1/rejected-events", params={"source": "form"})).json()["items"]
        assert "honeypot" in rejected["failure"][0]["message"]

    async def test_an_unknown_form_is_a_404(self, anonymous: httpx.AsyncClient, sales: SalesTeam) -> None:
        assert (await anonymous.post("/v1/forms/nao-existe", json=FORM)).status_code == 404

    async def test_another_tenants_form_is_not_found_here(
        self, app: FastAPI, other_tenant: Tenant, sales: SalesTeam
    ) -> None:
        from tests import factories

        async with factories.client(app, other_tenant) as client:
            assert (await client.post("/v1/forms/contato", json=FORM)).status_code == 404


class TestSpamGuard:
    async def test_an_ip_posting_too_often_gets_a_429_with_retry_after(
        self, anonymous: httpx.AsyncClient, sales: SalesTeam
    ) -> None:
        answers = [
            (await anonymous.post("/v1/forms/contato", json={**FORM, "email": f"s{n}@x.com"})).status_code
            for n in range(11)
        ]
        assert answers == [202] * 10 + [429]
        refused = await anonymous.post("/v1/forms/contato", json=FORM)
        assert int(refused.headers["retry-after"]) >= 1
