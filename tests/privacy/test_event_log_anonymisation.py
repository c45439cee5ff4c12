"""A subject who reached the tenant through the event log — a contact form with UTMs, a Segment ``identify`` from
another device, a WhatsApp message — is anonymised: the log's rows stay as written (immutable), yet a full
database dump holds none of their literals, because their personal part was sealed under data keys that
anonymisation destroyed. KPIs do not move, the other person's events still open, and a replay brings nothing back.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select

from leadflow.bus.dispatcher import Dispatcher
from leadflow.kit.db import Database
from leadflow.models import Person, Tenant
from tests import factories
from tests.integrations.conftest import deliver, graph, handlers_use_test_settings, text_message, whatsapp
from tests.pipeline.conftest import SalesTeam, as_sales_manager, drain_now, segment
from tests.privacy.factories import JOANA, JOANA_TWIN, Subject, dump_text, kpis, leaks, where

__all__ = ["as_sales_manager", "graph", "handlers_use_test_settings", "segment", "whatsapp"]

JOANA_IP = "203.0.113.77"
TWIN_IP = "198.51.100.23"


def _form(subject: Subject, tracking_id: str) -> dict[str, str]:
    """The contact form as a landing page posts it, from a Google Ads click whose page address carried the
    e-mail (a site that pre-fills forms from the query string)."""
    return {
        "name": subject.name,
        "email": subject.email,
        "phone": subject.phone,
        "message": subject.notes,
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "aurora-lancamento",
        "gclid": "Cj0KCQjw-aurora",
        "landing_page": f"https://aurora.exemplo.com.br/?utm_source=google&gclid=Cj0KCQjw-aurora&email={subject.email}",
        "lf_tracking_id": tracking_id,
    }


def _identify(subject: Subject, tracking_id: str, ip: str) -> dict[str, Any]:
    """Segment's identify from the subject's phone app: the site's user id is their e-mail."""
    return {
        "type": "identify",
        "messageId": f"identify-{tracking_id}",
        "anonymousId": tracking_id,
        "userId": subject.email,
        "traits": {"name": subject.name, "email": subject.email, "phone": subject.phone, "cpf": subject.cpf},
        "context": {"ip": ip, "campaign": {"source": "newsletter", "medium": "email", "name": "aurora-news"}},
        "timestamp": "2026-05-04T13:21:00Z",
    }


@pytest_asyncio.fixture
async def arrivals(
    anonymous: httpx.AsyncClient,
    segment: httpx.AsyncClient,
    whatsapp: dict[str, Any],
    worker: Dispatcher,
    sales: SalesTeam,
    db: Database,
    tenant: Tenant,
) -> dict[str, Person]:
    """Joana and her look-alike each send the form and identify from a second device; Joana also writes on
    WhatsApp. The pipeline handles everything; each becomes a person with a lead."""
    for subject, device in ((JOANA, "joana"), (JOANA_TWIN, "twin")):
        response = await anonymous.post("/v1/forms/contato", json=_form(subject, f"trk-{device}-site"))
        assert response.status_code == 202, response.text
        await drain_now(worker)
        ip = JOANA_IP if subject is JOANA else TWIN_IP
        response = await segment.post("/v1/identify", json=_identify(subject, f"trk-{device}-app", ip))
        assert response.json()["accepted"] == 1, response.text
        await drain_now(worker)
    refused = {
        "type": "track",
        "anonymousId": "trk-joana-site",
        "messageId": "no-name",
        "properties": {"email": JOANA.email},
    }
    assert (await segment.post("/v1/batch", json={"batch": [refused]})).json()["rejected"]  # kept, sealed
    message = text_message(wa_id="5511987651234", name=JOANA.name, text=f"Sou {JOANA.name}, CPF {JOANA.cpf}")
    assert (await deliver(anonymous, message)).status_code == 200
    await drain_now(worker)
    async with db.session(factories.owner_scope(tenant)) as session:
        found = list((await session.execute(select(Person).order_by(Person.created_at))).scalars())
    people = {p.name: p for p in found}
    assert sorted(p.name for p in found) == sorted([JOANA.name, JOANA_TWIN.name])  # WhatsApp found her by phone
    return {"joana": people[JOANA.name], "twin": people[JOANA_TWIN.name]}


async def _events(client: httpx.AsyncClient) -> str:
    response = await client.get("/v1/events", params={"limit": 200})
    assert response.status_code == 200, response.text
    return response.text


async def _anonymise(client: httpx.AsyncClient, person: Person) -> None:
    response = await client.post(f"/v1/people/{person.id}/anonymise")
    assert response.status_code == 200, response.text


class TestTheEventLogIsSealed:
    async def test_the_log_holds_no_literal_even_before_anonymisation_yet_its_readers_see_them(
        self, arrivals: dict[str, Person], as_manager: httpx.AsyncClient, db: Database
    ) -> None:
        dump = await dump_text(db)
        assert {
            t: tables for t, tables in leaks(dump, JOANA).items() if {"events", "rejected_events"} & set(tables)
        } == {}
        assert JOANA_IP not in dump["events"]
        listed = await _events(as_manager)
        assert [value for value in (JOANA.email, JOANA.notes, JOANA_IP) if value not in listed] == []

    async def test_routing_facts_stay_in_clear(self, arrivals: dict[str, Person], db: Database) -> None:
        events = (await dump_text(db))["events"]
        assert [value for value in ("aurora-lancamento", "Cj0KCQjw-aurora", "identify") if value not in events] == []


class TestAnonymisingASubjectOfTheEventLog:
    async def test_a_full_dump_holds_none_of_their_literals_and_the_kpis_are_unchanged(
        self, arrivals: dict[str, Person], as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        before = await kpis(db, tenant)
        await _anonymise(as_manager, arrivals["joana"])
        dump = await dump_text(db)
        assert leaks(dump, JOANA) == {}
        assert where(dump, JOANA_IP) == []
        assert await kpis(db, tenant) == before

    async def test_the_other_persons_events_still_open(
        self, arrivals: dict[str, Person], as_manager: httpx.AsyncClient, db: Database
    ) -> None:
        await _anonymise(as_manager, arrivals["joana"])
        listed = await _events(as_manager)
        assert [value for value in (JOANA_TWIN.email, JOANA_TWIN.notes, TWIN_IP) if value not in listed] == []
        assert [value for value in JOANA.literals if value.casefold() in listed.casefold()] == []
        assert "[anonimizado]" in listed  # her rows are still listed, their personal part as a placeholder
        assert where(await dump_text(db), JOANA_TWIN.email)  # the twin's person and identities are untouched

    async def test_a_replay_dry_run_brings_none_of_them_back(
        self, arrivals: dict[str, Person], as_manager: httpx.AsyncClient, db: Database
    ) -> None:
        await _anonymise(as_manager, arrivals["joana"])
        report = await as_manager.post("/v1/ops/replays", json={"dry_run": True})
        assert report.status_code == 200, report.text
        assert report.json()["events_considered"] == 2
        assert not [literal for literal in JOANA.literals if literal.casefold() in report.text.casefold()]
        assert leaks(await dump_text(db), JOANA) == {}

    async def test_her_subject_export_no_longer_holds_her_event_data(
        self, arrivals: dict[str, Person], as_manager: httpx.AsyncClient, app: FastAPI
    ) -> None:
        await _anonymise(as_manager, arrivals["joana"])
        export = await as_manager.get(f"/v1/people/{arrivals['joana'].id}/export")
        assert export.status_code == 200, export.text
        assert not [literal for literal in JOANA.literals if literal.casefold() in export.text.casefold()]


class TestAnIdentifyNamingHerBeforeSheWasKnown:
    async def test_closes_with_her_though_its_device_was_never_tied_to_her(
        self,
        anonymous: httpx.AsyncClient,
        segment: httpx.AsyncClient,
        worker: Dispatcher,
        sales: SalesTeam,
        as_manager: httpx.AsyncClient,
        db: Database,
        tenant: Tenant,
    ) -> None:
        early = _identify(JOANA, "trk-early-tablet", JOANA_IP)
        del early["userId"]  # only the traits name her: no user id, no person yet, nothing ties the device to her
        assert (await segment.post("/v1/identify", json=early)).json()["accepted"] == 1
        twin = _identify(JOANA_TWIN, "trk-twin-tablet", TWIN_IP)
        del twin["userId"]
        assert (await segment.post("/v1/identify", json=twin)).json()["accepted"] == 1
        await drain_now(worker)
        assert (await anonymous.post("/v1/forms/contato", json=_form(JOANA, "trk-joana-site"))).status_code == 202
        await drain_now(worker)
        async with db.session(factories.owner_scope(tenant)) as session:
            joana = (await session.execute(select(Person).where(Person.name == JOANA.name))).scalar_one()
        assert JOANA.phone.removeprefix("+") in (await _events(as_manager)).replace("+", "")  # readable until now

        await _anonymise(as_manager, joana)

        listed = await _events(as_manager)
        assert [value for value in (JOANA.email, JOANA.cpf, JOANA_IP) if value in listed] == []
        assert [value for value in (JOANA_TWIN.email, TWIN_IP) if value not in listed] == []  # the twin's still opens
