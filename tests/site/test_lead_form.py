"""A visitor sends a landing page's form without JavaScript: the capture pipeline makes it a routed lead with the
visit's first touch and the listing it came for."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from sqlalchemy import select
from tests.site.conftest import Listings, drain, form_tag, hidden_fields, leads_of

from leadflow.bus.dispatcher import Dispatcher
from leadflow.capture.sealing import open_event
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import Event, EventType, Tenant

UTMS = "utm_source=google&utm_medium=cpc&utm_campaign=jardins&gclid=EAIaIQobChMI"


async def submit_from_page(client: httpx.AsyncClient, path: str, **contact: str) -> httpx.Response:
    """Does what a browser without JavaScript does: reads the form off the page and posts its fields."""
    page = (await client.get(path, headers={"Referer": "https://www.google.com/"})).text
    action = re.search(r'action="([^"]+)"', form_tag(page))
    assert action
    fields = {name: html.unescape(value) for name, value in hidden_fields(page).items()}
    message = re.search(r'<textarea id="lf-message" name="message" maxlength="5000">([^<]*)</textarea>', page)
    assert message
    fields.update({"lf_hp": "", "message": html.unescape(message.group(1)), **contact})
    return await client.post(action.group(1), data=fields, headers={"Referer": f"http://acme.localhost{path}"})


class TestLeadForm:
    async def test_a_property_pages_form_becomes_a_lead_given_to_the_captador_with_its_first_touch(
        self, anonymous: httpx.AsyncClient, worker: Dispatcher, db: Database, tenant: Tenant, listings: Listings
    ) -> None:
        response = await submit_from_page(
            anonymous, f"/imoveis/ap-0001?{UTMS}", name="Maria Silva", phone="(11) 98765-4321"
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/obrigado"
        await drain(worker)
        [lead] = await leads_of(db, tenant)
        assert lead.property_id == listings.standalone.id
        assert lead.owner_id == listings.captador.id
        assert lead.first_touch["utm_source"] == "google"
        assert lead.first_touch["utm_medium"] == "cpc"
        assert lead.first_touch["utm_campaign"] == "jardins"
        assert lead.first_touch["gclid"] == "EAIaIQobChMI"
        assert lead.first_touch["referrer"] == "https://www.google.com/"
        assert lead.channel == "Paid Search"

    async def test_a_development_pages_form_is_routed_by_the_roleta_and_keeps_the_development_in_the_event(
        self, anonymous: httpx.AsyncClient, worker: Dispatcher, db: Database, tenant: Tenant, listings: Listings
    ) -> None:
        path = f"/empreendimentos/residencial-jardim-das-acacias?{UTMS}"
        response = await submit_from_page(anonymous, path, name="João Lima", email="joao.lima@example.com")
        assert response.status_code == 303
        await drain(worker)
        [lead] = await leads_of(db, tenant)
        assert lead.owner_id in {listings.captador.id, listings.other_broker.id}
        assert lead.first_touch["utm_campaign"] == "jardins"
        event = await _form_event(db, tenant)
        assert event["fields"]["development"] == "residencial-jardim-das-acacias"
        assert event["fields"]["message"] == "Olá! Gostaria de saber mais sobre o Residencial Jardim das Acácias."

    @pytest.mark.usefixtures("listings")
    async def test_a_filled_honeypot_makes_no_lead(
        self, anonymous: httpx.AsyncClient, worker: Dispatcher, db: Database, tenant: Tenant
    ) -> None:
        spam = {"name": "Bot", "phone": "11987654321", "lf_hp": "http://spam.example.com"}
        response = await submit_from_page(anonymous, "/imoveis/ap-0001", **spam)
        assert response.status_code == 303
        await drain(worker)
        assert await leads_of(db, tenant) == []


async def _form_event(db: Database, tenant: Tenant) -> dict[str, object]:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        event = (await session.scalars(select(Event).where(Event.type == EventType.FORM))).one()
        payload: dict[str, object] = (await open_event(session, Scope.for_tenant(tenant.id), event)).payload
        return payload
