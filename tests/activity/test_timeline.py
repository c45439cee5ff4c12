"""The timeline of a lead and of a person: every source merged newest first, paginated without gaps or repeats."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from leadflow.kit.db import Database
from leadflow.kit.pagination import encode_cursor
from leadflow.kit.time import utcnow
from leadflow.models import Interaction, InteractionChannel, Lead, Person, Task, Tenant, User, VisitStatus
from tests import factories
from tests.activity.factories import (
    insert,
    make_assignment,
    make_attachment,
    make_funnel,
    make_interaction,
    make_open_lead,
    make_stage_move,
    make_visit,
)

# Newest first; ties on the moment are ordered by kind, descending ("stage_move" before "assignment").
EXPECTED_KINDS = [
    "audit",  # the lead's creation, now
    "interaction",  # T0 + 6h
    "attachment",  # T0 + 6h
    "task_done",  # T0 + 5h
    "visit",  # T0 + 4h
    "task_created",  # T0 + 3h
    "stage_move",  # T0 + 2h
    "assignment",  # T0 + 2h
    "interaction",  # T0 + 1h
]


@pytest.fixture
def t0() -> datetime:
    return (utcnow() - timedelta(days=1)).replace(microsecond=0)


@pytest.fixture
async def busy_lead(db: Database, tenant: Tenant, broker: User, t0: datetime) -> Lead:
    """A lead with one item of every kind, two pairs of them at the same moment."""
    stages = await make_funnel(db, tenant)
    person = await factories.make_person(db, tenant, name="Beatriz Rocha")
    lead = await factories.make_lead(db, tenant, person=person, stage=stages[0], owner=broker)
    await make_interaction(db, tenant, lead, occurred_at=t0 + timedelta(hours=1), subject="Primeiro contato")
    await make_stage_move(db, tenant, lead, to=stages[1], from_stage_id=stages[0].id, moved_at=t0 + timedelta(hours=2))
    await make_assignment(db, tenant, lead, to=broker, assigned_at=t0 + timedelta(hours=2))
    task = Task(
        title="Enviar fotos",
        assignee_id=broker.id,
        lead_id=lead.id,
        due_at=t0 + timedelta(hours=4),
        created_at=t0 + timedelta(hours=3),
        done_at=t0 + timedelta(hours=5),
    )
    await insert(db, tenant, task)
    await make_visit(db, tenant, lead, scheduled_at=t0 + timedelta(hours=4), status=VisitStatus.CONFIRMED)
    await make_attachment(db, tenant, lead, created_at=t0 + timedelta(hours=6))
    await make_interaction(db, tenant, lead, occurred_at=t0 + timedelta(hours=6), direction="outbound")
    return lead


async def _walk(client: httpx.AsyncClient, path: str, *, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        if not (cursor := page["next_cursor"]):
            return items


class TestLeadTimeline:
    async def test_every_source_appears_newest_first(self, as_broker: httpx.AsyncClient, busy_lead: Lead) -> None:
        items = (await as_broker.get(f"/v1/leads/{busy_lead.id}/timeline")).json()["items"]
        assert [i["kind"] for i in items] == EXPECTED_KINDS
        moments = [datetime.fromisoformat(i["at"]) for i in items]
        assert moments == sorted(moments, reverse=True)

    @pytest.mark.parametrize("limit", [1, 2, 4])
    async def test_pages_cover_everything_once_in_the_same_order(
        self, as_broker: httpx.AsyncClient, busy_lead: Lead, limit: int
    ) -> None:
        whole = (await as_broker.get(f"/v1/leads/{busy_lead.id}/timeline")).json()["items"]
        paged = await _walk(as_broker, f"/v1/leads/{busy_lead.id}/timeline", limit=limit)
        assert [(i["kind"], i["id"]) for i in paged] == [(i["kind"], i["id"]) for i in whole]

    async def test_items_say_what_happened(self, as_broker: httpx.AsyncClient, busy_lead: Lead, broker: User) -> None:
        items = (await as_broker.get(f"/v1/leads/{busy_lead.id}/timeline")).json()["items"]
        summaries = {i["kind"]: i["summary"] for i in items}
        assert summaries["stage_move"] == "Etapa: Novo → Contato"
        assert summaries["assignment"] == f"Atribuído a {broker.name}"
        assert summaries["task_done"] == "Tarefa concluída: Enviar fotos"
        assert summaries["visit"] == "Visita (confirmada)"
        assert summaries["attachment"] == "Anexo: proposta.pdf"
        assert summaries["audit"] == "Lead criado"
        first_contact = items[-1]
        assert first_contact["summary"] == "WhatsApp (entrada): Primeiro contato"
        assert first_contact["data"]["subject"] == "Primeiro contato"

    async def test_logging_through_the_api_shows_up_on_top(self, as_broker: httpx.AsyncClient, busy_lead: Lead) -> None:
        await as_broker.post(
            "/v1/interactions",
            json={"lead_id": str(busy_lead.id), "channel": "call", "direction": "outbound", "outcome": "atendeu"},
        )
        items = (await as_broker.get(f"/v1/leads/{busy_lead.id}/timeline", params={"limit": 3})).json()["items"]
        kinds = [i["kind"] for i in items]
        assert "interaction" in kinds
        assert any(i["summary"] == "Ligação (saída): atendeu" for i in items)

    async def test_a_lead_the_broker_cannot_see_is_404(self, as_broker: httpx.AsyncClient, managers_lead: Lead) -> None:
        assert (await as_broker.get(f"/v1/leads/{managers_lead.id}/timeline")).status_code == 404

    async def test_a_broken_cursor_is_a_bad_request(self, as_broker: httpx.AsyncClient, busy_lead: Lead) -> None:
        row_id = uuid.uuid4()
        broken = (
            "nonsense",
            encode_cursor(utcnow(), row_id),  # a cursor of a plain list
            encode_cursor(["2026-01-01T00:00:00", "audit"], row_id),  # no time zone
            encode_cursor(["2026-01-01T00:00:00+00:00", "gossip"], row_id),  # no such kind
            encode_cursor(["ontem", "audit"], row_id),
        )
        for cursor in broken:
            response = await as_broker.get(f"/v1/leads/{busy_lead.id}/timeline", params={"cursor": cursor})
            assert response.status_code == 400, cursor


class TestPersonTimeline:
    async def test_it_merges_the_persons_leads_and_their_own_rows(
        self, as_broker: httpx.AsyncClient, db: Database, tenant: Tenant, broker: User, manager: User
    ) -> None:
        person: Person = await factories.make_person(db, tenant, name="Rafael Costa")
        first = await make_open_lead(db, tenant, owner=broker, person=person)
        second = await make_open_lead(db, tenant, owner=broker, person=person)
        hidden = await make_open_lead(db, tenant, owner=manager, person=person)
        on_first = await make_interaction(db, tenant, first, subject="Sobre o apartamento")
        on_second = await make_interaction(db, tenant, second, subject="Sobre a casa")
        await make_interaction(db, tenant, hidden, subject="Do gestor")
        note = Interaction(
            person_id=person.id, channel=InteractionChannel.NOTE, direction="internal", occurred_at=utcnow()
        )
        await insert(db, tenant, note)
        items = await _walk(as_broker, f"/v1/people/{person.id}/timeline", limit=3)
        interactions = {i["id"] for i in items if i["kind"] == "interaction"}
        assert interactions == {str(on_first.id), str(on_second.id), str(note.id)}
        audited = {i["data"]["entity_id"] for i in items if i["kind"] == "audit"}
        assert audited == {str(first.id), str(second.id), str(person.id)}

    async def test_an_unknown_person_is_404(self, as_broker: httpx.AsyncClient, lead: Lead) -> None:
        assert (await as_broker.get(f"/v1/people/{lead.id}/timeline")).status_code == 404
