"""Every console page renders what the services return, to whom may see it, and nothing of another tenant."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from leadflow.kit.db import Database
from leadflow.kit.time import utcnow
from leadflow.models import (
    Direction,
    Event,
    EventType,
    IdentityKind,
    Interaction,
    InteractionChannel,
    Lead,
    LeadStatus,
    PersonIdentity,
    Role,
    Stage,
    Tenant,
    User,
    Visit,
)
from tests import factories
from tests.console.conftest import Console, logged_in_console

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
async def same_team(db: Database, tenant: Tenant, manager: User, broker: User) -> None:
    """The manager manages the broker (a manager sees the leads of their teams)."""
    await factories.make_team(db, tenant, "Vendas", [manager, broker])


@pytest.fixture
async def stages(db: Database, tenant: Tenant) -> list[Stage]:
    _, rows = await factories.make_pipeline(db, tenant)
    return rows


@pytest.fixture
async def new_lead(db: Database, tenant: Tenant, stages: list[Stage], broker: User) -> Lead:
    person = await factories.make_person(db, tenant, name="Maria Silva", phone="(11) 98765-4321")
    return await factories.make_lead(
        db,
        tenant,
        person=person,
        stage=stages[0],
        owner=broker,
        source="portal_zap",
        channel="Paid Search",
        utm_campaign="aurora-2026",
        first_touch={"utm_source": "google", "utm_campaign": "aurora-2026", "gclid": "abc123"},
        value_cents=65_000_000,
        first_response_due_at=utcnow() + timedelta(minutes=10),
    )


class TestMyDay:
    async def test_shows_a_brokers_new_lead_with_its_sla_countdown_and_one_tap_links(
        self, broker_console: Console, new_lead: Lead
    ) -> None:
        html = (await broker_console.get("/app")).text
        assert "Meu dia" in html
        assert "Maria Silva" in html
        assert f'data-due="{new_lead.first_response_due_at.isoformat()}"' in html  # type: ignore[union-attr]
        assert 'href="https://wa.me/5511987654321"' in html
        assert 'href="tel:+5511987654321"' in html

    async def test_a_one_tap_contact_is_logged_as_the_leads_first_response(
        self, broker_console: Console, new_lead: Lead
    ) -> None:
        await broker_console.get("/app")
        response = await broker_console.http.post(
            f"/app/leads/{new_lead.id}/contact",
            data={"channel": "whatsapp"},
            headers={"X-CSRF-Token": broker_console.csrf, "X-Requested-With": "fetch"},
        )
        assert response.status_code == 204
        assert "Maria Silva" not in (await broker_console.get("/app")).text  # answered: no longer awaiting
        api = await broker_console.http.get(f"/app/leads/{new_lead.id}")
        assert "WhatsApp" in api.text

    async def test_a_manager_gets_the_painel_as_home(self, manager_console: Console) -> None:
        html = (await manager_console.get("/app")).text
        assert "<h1>Painel</h1>" in html


class TestPainel:
    async def test_shows_leads_by_source_and_the_won_value_in_reais(
        self, manager_console: Console, db: Database, tenant: Tenant, stages: list[Stage], broker: User, new_lead: Lead
    ) -> None:
        person = await factories.make_person(db, tenant, name="João Comprador")
        await factories.make_lead(
            db,
            tenant,
            person=person,
            stage=stages[-2],
            owner=broker,
            status=LeadStatus.WON,
            value_cents=123_456_78,
            source="site",
            closed_at=utcnow(),
        )
        html = (await manager_console.get("/app/painel")).text
        assert "portal_zap" in html
        assert "site" in html
        assert re.search(r'id="won-value">R\$\xa0123\.456,78<', html)
        assert "Leads por origem" in html
        assert "Conversão por etapa" in html

    async def test_lists_the_leads_past_their_first_response_deadline(
        self, manager_console: Console, db: Database, tenant: Tenant, stages: list[Stage], broker: User
    ) -> None:
        person = await factories.make_person(db, tenant, name="Cliente Esquecido")
        await factories.make_lead(
            db,
            tenant,
            person=person,
            stage=stages[0],
            owner=broker,
            first_response_due_at=utcnow() - timedelta(minutes=30),
        )
        html = (await manager_console.get("/app/painel")).text
        assert "Cliente Esquecido" in html

    async def test_is_refused_to_a_broker(self, broker_console: Console) -> None:
        assert (await broker_console.get("/app/painel")).status_code == 403


class TestLeadList:
    async def test_lists_leads_with_their_stage_and_value(self, manager_console: Console, new_lead: Lead) -> None:
        html = (await manager_console.get("/app/leads")).text
        assert f'href="/app/leads/{new_lead.id}"' in html
        assert "Novo" in html
        assert "R$\xa0650.000,00" in html

    async def test_applies_the_apis_filters(self, manager_console: Console, new_lead: Lead) -> None:
        assert "Maria Silva" in (await manager_console.get("/app/leads?source=portal_zap")).text
        assert "Maria Silva" not in (await manager_console.get("/app/leads?source=site")).text
        assert "Maria Silva" in (await manager_console.get("/app/leads?q=98765-4321")).text

    async def test_refuses_an_invalid_filter_with_422(self, manager_console: Console) -> None:
        assert (await manager_console.get("/app/leads?status=maybe")).status_code == 422


class TestLeadPage:
    async def test_shows_the_first_touch_and_the_quick_actions(self, broker_console: Console, new_lead: Lead) -> None:
        html = (await broker_console.get(f"/app/leads/{new_lead.id}")).text
        assert "gclid" in html
        assert "abc123" in html
        assert "aurora-2026" in html
        assert 'id="log-interaction"' in html
        assert 'id="move-stage"' in html
        assert 'id="add-task"' in html

    async def test_logging_a_call_puts_it_on_the_timeline(self, broker_console: Console, new_lead: Lead) -> None:
        await broker_console.get(f"/app/leads/{new_lead.id}")
        response = await broker_console.post(
            f"/app/leads/{new_lead.id}/interactions", {"channel": "call", "outcome": "atendeu", "body": "Quer visitar"}
        )
        assert response.status_code == 303
        html = (await broker_console.get(f"/app/leads/{new_lead.id}")).text
        assert 'class="tl-interaction"' in html

    async def test_moving_to_the_next_stage_records_the_move(
        self, broker_console: Console, new_lead: Lead, stages: list[Stage]
    ) -> None:
        await broker_console.get(f"/app/leads/{new_lead.id}")
        response = await broker_console.post(f"/app/leads/{new_lead.id}/move", {"stage_id": str(stages[1].id)})
        assert response.status_code == 303
        html = (await broker_console.get(f"/app/leads/{new_lead.id}")).text
        assert 'class="tl-stage_move"' in html

    async def test_marking_lost_without_a_reason_is_refused_with_the_services_explanation(
        self, broker_console: Console, new_lead: Lead, stages: list[Stage]
    ) -> None:
        await broker_console.get(f"/app/leads/{new_lead.id}")
        response = await broker_console.http.post(
            f"/app/leads/{new_lead.id}/move",
            data={"stage_id": str(stages[-1].id)},
            headers={"X-CSRF-Token": broker_console.csrf, "X-Requested-With": "fetch"},
        )
        assert response.status_code == 422
        assert response.text == f"A etapa {stages[-1].name} é de perda: informe o motivo da perda."

    async def test_the_services_explanation_follows_the_readers_language(
        self, broker_console: Console, new_lead: Lead, stages: list[Stage]
    ) -> None:
        await broker_console.get(f"/app/leads/{new_lead.id}")
        await broker_console.post("/app/lang", {"lang": "en"})
        response = await broker_console.http.post(
            f"/app/leads/{new_lead.id}/move",
            data={"stage_id": str(stages[-1].id)},
            headers={"X-CSRF-Token": broker_console.csrf, "X-Requested-With": "fetch"},
        )
        assert response.status_code == 422
        assert response.text == f"stage {stages[-1].name} is a lost stage: give a loss_reason_id"

    async def test_adding_a_task_shows_it_on_the_timeline(self, broker_console: Console, new_lead: Lead) -> None:
        await broker_console.get(f"/app/leads/{new_lead.id}")
        response = await broker_console.post(
            f"/app/leads/{new_lead.id}/tasks", {"title": "Enviar proposta", "due_at": "2030-01-10T10:00"}
        )
        assert response.status_code == 303
        assert "Enviar proposta" in (await broker_console.get(f"/app/leads/{new_lead.id}")).text

    async def test_scheduling_a_visit_books_it_at_the_tenants_local_time(
        self, broker_console: Console, new_lead: Lead, broker: User, db: Database, tenant: Tenant
    ) -> None:
        prop = await factories.make_property(db, tenant, reference="AP-0042")
        await broker_console.get(f"/app/leads/{new_lead.id}")
        response = await broker_console.post(
            f"/app/leads/{new_lead.id}/visits",
            {"scheduled_at": "2030-01-10T10:00", "property_id": str(prop.id), "broker_id": str(broker.id),
             "notes": "Chaves na portaria"},
        )  # fmt: skip
        assert response.status_code == 303, response.text
        async with db.session(factories.owner_scope(tenant)) as session:
            [visit] = (await session.scalars(select(Visit))).all()
        assert (visit.lead_id, visit.property_id, visit.broker_id) == (new_lead.id, prop.id, broker.id)
        assert visit.scheduled_at == datetime(2030, 1, 10, 13, 0, tzinfo=UTC)  # 10:00 in São Paulo
        assert visit.notes == "Chaves na portaria"

    async def test_a_visit_without_a_time_is_refused(self, broker_console: Console, new_lead: Lead) -> None:
        await broker_console.get(f"/app/leads/{new_lead.id}")
        response = await broker_console.post(f"/app/leads/{new_lead.id}/visits", {"scheduled_at": "amanhã"})
        assert response.status_code == 422

    async def test_shows_the_property_the_lead_asked_about_among_the_matches(
        self, broker_console: Console, db: Database, tenant: Tenant, stages: list[Stage], broker: User
    ) -> None:
        prop = await factories.make_property(db, tenant, reference="AP-0007", title="Apartamento na Vila Mariana")
        person = await factories.make_person(db, tenant, name="Joana Prudente")
        lead = await factories.make_lead(db, tenant, person=person, stage=stages[0], owner=broker, property_id=prop.id)
        html = (await broker_console.get(f"/app/leads/{lead.id}")).text
        matches = html.split('id="matching-properties"', 1)[1].split("</ol>", 1)[0]
        assert f'href="/app/imoveis/{prop.id}"' in matches
        assert "Apartamento na Vila Mariana" in matches
        assert f'<option value="{prop.id}">AP-0007' in html  # offered for the visit

    async def test_without_a_whatsapp_number_there_is_no_send_form(
        self, broker_console: Console, new_lead: Lead
    ) -> None:
        assert 'id="send-whatsapp"' not in (await broker_console.get(f"/app/leads/{new_lead.id}")).text

    async def test_a_post_without_csrf_changes_nothing(self, broker_console: Console, new_lead: Lead) -> None:
        response = await broker_console.post(f"/app/leads/{new_lead.id}/interactions", {"channel": "call"}, csrf="")
        assert response.status_code == 403
        assert 'class="tl-interaction"' not in (await broker_console.get(f"/app/leads/{new_lead.id}")).text

    async def test_another_brokers_lead_is_not_found(
        self, app: FastAPI, db: Database, tenant: Tenant, new_lead: Lead
    ) -> None:
        other = await factories.make_user(db, tenant, role=Role.BROKER)
        async with logged_in_console(app, tenant, other) as console:
            assert (await console.get(f"/app/leads/{new_lead.id}")).status_code == 404

    async def test_another_tenants_lead_is_not_found(
        self, app: FastAPI, db: Database, other_tenant: Tenant, new_lead: Lead
    ) -> None:
        rival = await factories.make_user(db, other_tenant, role=Role.OWNER)
        async with logged_in_console(app, other_tenant, rival) as console:
            response = await console.get(f"/app/leads/{new_lead.id}")
        assert response.status_code == 404
        assert "Maria Silva" not in response.text


async def _visitor_of(db: Database, tenant: Tenant, lead: Lead, tracking_id: str) -> None:
    async with db.session(factories.owner_scope(tenant)) as session:
        session.add(
            PersonIdentity(
                person_id=lead.person_id,
                kind=IdentityKind.TRACKING_ID,
                value=tracking_id,
                match_key=tracking_id,
                is_primary=False,
            )
        )


async def _page_view(db: Database, tenant: Tenant, tracking_id: str, url: str, title: str, minutes_ago: int) -> None:
    moment = utcnow() - timedelta(minutes=minutes_ago)
    async with db.session(factories.owner_scope(tenant)) as session:
        session.add(
            Event(
                type=EventType.PAGE,
                source="t.js",
                message_id=str(uuid.uuid4()),
                tracking_id=tracking_id,
                received_at=moment,
                occurred_at=moment,
                payload={"type": "page", "properties": {"title": title, "url": url}},
                page_url=url,
            )
        )


@contextmanager
def _counting_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


class TestLeadTimeline:
    async def test_shows_the_pages_the_leads_visitor_viewed_before_and_after_converting(
        self, broker_console: Console, db: Database, tenant: Tenant, new_lead: Lead
    ) -> None:
        await _visitor_of(db, tenant, new_lead, "t-maria")
        await _page_view(db, tenant, "t-maria", "https://aurora.example.com/plantas", "Plantas do Aurora", 30)
        await _page_view(db, tenant, "t-maria", "https://aurora.example.com/precos", "Tabela de preços", 5)
        await _page_view(db, tenant, "t-someone-else", "https://aurora.example.com/segredo", "Outra visita", 3)
        html = (await broker_console.get(f"/app/leads/{new_lead.id}")).text
        assert html.count('class="tl-page"') == 2
        assert '<a href="https://aurora.example.com/plantas"' in html
        assert "Tabela de preços" in html
        assert "Página visitada" in html
        assert "Outra visita" not in html
        assert html.index("Tabela de preços") < html.index("Plantas do Aurora")  # newest first

    async def test_a_page_address_that_is_not_a_web_address_is_shown_but_not_linked(
        self, broker_console: Console, db: Database, tenant: Tenant, new_lead: Lead
    ) -> None:
        await _visitor_of(db, tenant, new_lead, "t-maria")
        await _page_view(db, tenant, "t-maria", "javascript:alert(1)", "", 5)
        html = (await broker_console.get(f"/app/leads/{new_lead.id}")).text
        assert 'class="tl-page"' in html
        assert 'href="javascript:' not in html

    async def test_shows_a_chatwoot_conversation_as_messages_in_full(
        self, broker_console: Console, db: Database, tenant: Tenant, new_lead: Lead
    ) -> None:
        question = "Olá! O apartamento de 2 dormitórios da torre B ainda está disponível? Posso visitar no sábado?"
        async with db.session(factories.owner_scope(tenant)) as session:
            session.add(
                Interaction(
                    lead_id=new_lead.id,
                    channel=InteractionChannel.CHAT,
                    direction=Direction.INBOUND,
                    occurred_at=utcnow(),
                    body=question,
                    external_id="chatwoot:4711",
                    meta={"conversation_id": 12},
                )
            )
        html = (await broker_console.get(f"/app/leads/{new_lead.id}")).text
        assert 'class="tl-message"' in html
        assert question in html  # the whole message, not the timeline's 80-character excerpt
        assert "recebida" in html

    async def test_a_logged_call_stays_a_contact_not_a_message(self, broker_console: Console, new_lead: Lead) -> None:
        await broker_console.get(f"/app/leads/{new_lead.id}")
        await broker_console.post(f"/app/leads/{new_lead.id}/interactions", {"channel": "call", "body": "Retornar"})
        html = (await broker_console.get(f"/app/leads/{new_lead.id}")).text
        assert 'class="tl-interaction"' in html
        assert 'class="tl-message"' not in html

    async def test_the_page_costs_the_same_queries_with_one_page_view_or_twenty(
        self, broker_console: Console, db: Database, engine: AsyncEngine, tenant: Tenant, new_lead: Lead
    ) -> None:
        await _visitor_of(db, tenant, new_lead, "t-maria")
        await _visitor_of(db, tenant, new_lead, "t-maria-phone")
        await _page_view(db, tenant, "t-maria", "https://aurora.example.com/", "Início", 60)
        with _counting_statements(engine) as few:
            await broker_console.get(f"/app/leads/{new_lead.id}")
        for minute in range(19):
            await _page_view(db, tenant, "t-maria-phone", f"https://aurora.example.com/p{minute}", f"P{minute}", minute)
        with _counting_statements(engine) as many:
            html = (await broker_console.get(f"/app/leads/{new_lead.id}")).text
        assert html.count('class="tl-page"') == 20
        assert len(many) == len(few)

    async def test_another_tenants_visitor_with_the_same_tracking_id_is_not_shown(
        self, broker_console: Console, db: Database, tenant: Tenant, other_tenant: Tenant, new_lead: Lead
    ) -> None:
        await _visitor_of(db, tenant, new_lead, "t-shared")
        await _page_view(db, other_tenant, "t-shared", "https://rival.example.com/", "Página da rival", 5)
        assert "Página da rival" not in (await broker_console.get(f"/app/leads/{new_lead.id}")).text


class TestFunil:
    async def test_shows_a_column_per_stage_with_the_cards(
        self, broker_console: Console, new_lead: Lead, stages: list[Stage]
    ) -> None:
        html = (await broker_console.get("/app/funil")).text
        for stage in stages:
            assert f'data-stage-id="{stage.id}"' in html
        assert f'data-lead-id="{new_lead.id}"' in html
        assert "Sortable.min.js" in html

    async def test_a_drop_on_the_next_stage_moves_the_lead(
        self, broker_console: Console, new_lead: Lead, stages: list[Stage]
    ) -> None:
        await broker_console.get("/app/funil")
        response = await broker_console.http.post(
            f"/app/leads/{new_lead.id}/move",
            data={"stage_id": str(stages[1].id)},
            headers={"X-CSRF-Token": broker_console.csrf, "X-Requested-With": "fetch"},
        )
        assert response.status_code == 204
        html = (await broker_console.get(f"/app/leads?stage_id={stages[1].id}")).text
        assert "Maria Silva" in html


class TestStaticFiles:
    async def test_serves_the_consoles_own_script_and_styles(self, visitor: Console) -> None:
        assert (await visitor.http.get("/app/static/console.js")).status_code == 200
        assert (await visitor.http.get("/app/static/console.css")).headers["content-type"].startswith("text/css")

    async def test_serves_only_the_named_vendor_files(self, visitor: Console) -> None:
        assert (await visitor.http.get("/app/static/vendor/package.json")).status_code == 404
        assert (await visitor.http.get("/app/static/..%2F..%2Fconfig.py")).status_code == 404
