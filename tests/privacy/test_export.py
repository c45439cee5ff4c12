"""The subject export (LGPD art. 18 II and V): everything held about one person, as JSON or a zip of CSV files,
containing their data and nobody else's; only owners and managers may take it, and taking it is audited."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from leadflow.kit.db import Database
from leadflow.lead.events import LeadCreated
from leadflow.models import AuditEntry, DeliveryStatus, ExternalRef, Role, Tenant, WebhookDelivery, WebhookEndpoint
from leadflow.webhook.delivery import payload_of
from tests import factories
from tests.privacy.factories import JOANA, JOANA_TWIN, Subject, create_subject

SECTIONS = {
    "export", "person", "identities", "purposes", "consents", "current_consents", "leads", "stage_history",
    "conversions", "interactions", "tasks", "visits", "attachments", "events", "privacy_requests", "shared_with",
}  # fmt: skip
# The same Joana, in another real-estate agency: a different person the export must never reach.
JOANA_ELSEWHERE = Subject(
    name="Joana Prudente Vasconcelos Filha",
    email="joana.filha@exemplo.com.br",
    phone="(11) 98765-9999",
    cpf="714.602.380-01",
    notes="Cliente da concorrência",
)


@pytest.fixture
async def people(
    app: FastAPI, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> dict[str, Any]:
    await factories.make_pipeline(db, tenant)
    await factories.make_pipeline(db, other_tenant)
    joana = await create_subject(as_manager, JOANA)
    twin = await create_subject(as_manager, JOANA_TWIN)
    rival = await factories.make_user(db, other_tenant, role=Role.MANAGER, email="gestor@rival.example.com")
    async with factories.logged_in(app, other_tenant, rival) as as_rival:
        elsewhere = await create_subject(as_rival, JOANA_ELSEWHERE)
    consent = {"purpose": "marketing", "channel": "whatsapp", "granted": True, "source": "form:lancamento"}
    for who in (joana, twin):
        response = await as_manager.post(f"/v1/people/{who['person']['id']}/privacy/consents", json=consent)
        assert response.status_code == 201, response.text
    return {"joana": joana, "twin": twin, "elsewhere": elsewhere}


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False).casefold()


class TestTheJsonExport:
    async def test_holds_every_section_of_the_person(self, as_manager: httpx.AsyncClient, people: Any) -> None:
        response = await as_manager.get(f"/v1/people/{people['joana']['person']['id']}/export")
        assert response.status_code == 200, response.text
        export = response.json()
        assert set(export) == SECTIONS
        assert export["person"]["name"] == JOANA.name
        assert export["person"]["cpf_cnpj"] == "52998224725"
        assert sorted(i["kind"] for i in export["identities"]) == ["cpf", "email", "phone", "whatsapp"]
        assert [lead["id"] for lead in export["leads"]] == [people["joana"]["lead"]["id"]]
        assert [len(export[s]) for s in ("interactions", "tasks", "visits", "consents")] == [1, 1, 1, 1]
        assert export["current_consents"][0] | {"since": None, "entry_id": None} == {
            "purpose": "marketing", "channel": "whatsapp", "granted": True, "since": None, "entry_id": None,
        }  # fmt: skip
        assert export["shared_with"] == []

    async def test_contains_the_person_and_nobody_else(self, as_manager: httpx.AsyncClient, people: Any) -> None:
        export = (await as_manager.get(f"/v1/people/{people['joana']['person']['id']}/export")).json()
        text = _text(export)
        assert all(literal.casefold() in text for literal in (JOANA.name, JOANA.email, "52998224725"))
        for other in (JOANA_TWIN, JOANA_ELSEWHERE):
            leaked = [
                lit for lit in other.literals if lit.casefold() in text and lit.casefold() not in _text(JOANA.literals)
            ]
            assert leaked == [], f"{other.name}: {leaked}"
        ids = {people[k][part]["id"] for k in ("twin", "elsewhere") for part in ("person", "lead")}
        assert not any(i in text for i in ids)

    async def test_taking_it_is_audited(
        self, as_manager: httpx.AsyncClient, people: Any, db: Database, tenant: Tenant
    ) -> None:
        person_id = people["joana"]["person"]["id"]
        await as_manager.get(f"/v1/people/{person_id}/export")
        async with db.session(factories.owner_scope(tenant)) as session:
            stmt = select(AuditEntry.entity_id).where(AuditEntry.action == "export")
            assert [str(i) for i in (await session.execute(stmt)).scalars()] == [person_id]


class TestTheCsvExport:
    async def test_is_a_zip_with_one_csv_per_section(self, as_manager: httpx.AsyncClient, people: Any) -> None:
        response = await as_manager.get(f"/v1/people/{people['joana']['person']['id']}/export?format=csv")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        assert set(archive.namelist()) == {f"{s}.csv" for s in SECTIONS}
        [person] = list(csv.DictReader(io.StringIO(archive.read("person.csv").decode())))
        assert (person["name"], person["cpf_cnpj"]) == (JOANA.name, "52998224725")
        identities = list(csv.DictReader(io.StringIO(archive.read("identities.csv").decode())))
        assert {i["value"] for i in identities} >= {"joana.vasconcelos@exemplo.com.br", "+5511987651234"}
        everything = b"".join(archive.read(n) for n in archive.namelist()).decode().casefold()
        assert JOANA_TWIN.email.casefold() not in everything


SENT = datetime(2026, 11, 2, 14, 30, tzinfo=UTC)


async def share(
    db: Database, tenant: Tenant, endpoint: WebhookEndpoint, lead_id: str, *, sent: bool = True, **facts: str
) -> None:
    """A ``lead.created`` delivered (or still waiting) to the partner, with the body partners receive."""
    event = LeadCreated(tenant_id=tenant.id, payload={"lead_id": lead_id, **facts})
    delivery = WebhookDelivery(
        tenant_id=tenant.id, endpoint_id=endpoint.id, event_id=event.id, event_type="lead.created",
        body=payload_of(event), attempts=1 if sent else 0,
        status=DeliveryStatus.DELIVERED if sent else DeliveryStatus.PENDING, delivered_at=SENT if sent else None,
    )  # fmt: skip
    async with db.session(factories.owner_scope(tenant)) as session:
        session.add(delivery)
        await session.commit()


@pytest.fixture
async def partner(db: Database, tenant: Tenant) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        tenant_id=tenant.id, url="https://parceiro.example.com/leads", event_types=["lead.created"], secret=b"sealed"
    )
    async with db.session(factories.owner_scope(tenant)) as session:
        session.add(endpoint)
        await session.commit()
    return endpoint


class TestTheSharingRegister:
    """Art. 18 VII: the subject learns which CRMs and partners received their data, and nobody else's sharing."""

    async def test_names_the_crm_record_of_the_person(
        self, as_manager: httpx.AsyncClient, people: Any, db: Database, tenant: Tenant
    ) -> None:
        refs = [
            ExternalRef(tenant_id=tenant.id, provider="hubspot", entity_type="person",
                        entity_id=uuid.UUID(people[who]["person"]["id"]), external_type="contact",
                        external_id=external_id, last_pushed_at=SENT)
            for who, external_id in (("joana", "901"), ("twin", "902"))
        ]  # fmt: skip
        async with db.session(factories.owner_scope(tenant)) as session:
            session.add_all(refs)
            await session.commit()
        export = (await as_manager.get(f"/v1/people/{people['joana']['person']['id']}/export")).json()
        assert [(s["recipient_kind"], s["recipient"], s["external_record"]) for s in export["shared_with"]] == [
            ("crm", "hubspot", "contact:901")
        ]
        assert export["shared_with"][0]["last_shared_at"].startswith("2026-11-02T14:30")

    async def test_names_the_partner_and_what_it_received_about_her_leads(
        self, as_manager: httpx.AsyncClient, people: Any, db: Database, tenant: Tenant, partner: WebhookEndpoint
    ) -> None:
        joanas_lead, twins_lead = people["joana"]["lead"]["id"], people["twin"]["lead"]["id"]
        await share(db, tenant, partner, joanas_lead, person_id=people["joana"]["person"]["id"])
        await share(db, tenant, partner, joanas_lead, sent=False)  # queued, not sent: nothing shared yet
        await share(db, tenant, partner, twins_lead, person_id=people["twin"]["person"]["id"])
        export = (await as_manager.get(f"/v1/people/{people['joana']['person']['id']}/export")).json()
        [shared] = export["shared_with"]
        assert shared | {"first_shared_at": None, "last_shared_at": None} == {
            "recipient_kind": "partner_webhook", "recipient": "https://parceiro.example.com/leads",
            "endpoint_id": str(partner.id), "event_types": ["lead.created"], "deliveries": 1, "delivered": 1,
            "first_shared_at": None, "last_shared_at": None,
        }  # fmt: skip

    async def test_a_partner_that_received_only_other_people_is_not_named(
        self, as_manager: httpx.AsyncClient, people: Any, db: Database, tenant: Tenant, partner: WebhookEndpoint
    ) -> None:
        await share(db, tenant, partner, people["twin"]["lead"]["id"], person_id=people["twin"]["person"]["id"])
        export = (await as_manager.get(f"/v1/people/{people['joana']['person']['id']}/export")).json()
        assert export["shared_with"] == []


class TestWhoMayExport:
    async def test_a_broker_is_refused(self, as_broker: httpx.AsyncClient, people: Any) -> None:
        assert (await as_broker.get(f"/v1/people/{people['joana']['person']['id']}/export")).status_code == 403

    async def test_a_viewer_is_refused(self, as_viewer: httpx.AsyncClient, people: Any) -> None:
        assert (await as_viewer.get(f"/v1/people/{people['joana']['person']['id']}/export")).status_code == 403

    async def test_anonymous_callers_are_refused(self, anonymous: httpx.AsyncClient, people: Any) -> None:
        assert (await anonymous.get(f"/v1/people/{people['joana']['person']['id']}/export")).status_code == 401

    async def test_another_tenants_person_is_not_found(self, as_manager: httpx.AsyncClient, people: Any) -> None:
        response = await as_manager.get(f"/v1/people/{people['elsewhere']['person']['id']}/export")
        assert response.status_code == 404
        assert JOANA_ELSEWHERE.name not in response.text
