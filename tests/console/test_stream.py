"""New leads reach open console pages as server-sent events, each user hearing only of the leads they may see."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from leadflow.console import stream
from leadflow.kit.db import Database
from leadflow.models import Lead, Notification, Role, Tenant, User
from tests import factories
from tests.console.conftest import Console

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def one_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream that polls once and ends, so the test reads the whole body."""
    monkeypatch.setattr(stream, "POLL_SECONDS", 0.0)
    monkeypatch.setattr(stream, "STREAM_SECONDS", 0.001)


async def _lead(db: Database, tenant: Tenant, owner: User, name: str) -> Lead:
    _, stages = await factories.make_pipeline(db, tenant, name=f"Funil {name}")
    person = await factories.make_person(db, tenant, name=name)
    return await factories.make_lead(db, tenant, person=person, stage=stages[0], owner=owner)


def _events(body: str, name: str = "lead") -> list[dict[str, object]]:
    """The data of each event called ``name`` in a server-sent events body."""
    found = []
    for block in body.split("\n\n"):
        lines = block.splitlines()
        if f"event: {name}" in lines:
            found += [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: ")]
    return found


class TestNewLeadStream:
    async def test_sends_the_brokers_new_lead_as_theirs(
        self, broker_console: Console, db: Database, tenant: Tenant, broker: User
    ) -> None:
        lead = await _lead(db, tenant, broker, "Nova Cliente")
        since = (lead.created_at - timedelta(seconds=1)).isoformat()
        response = await broker_console.http.get("/app/stream", headers={"Last-Event-ID": since})
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(response.text)
        assert events == [
            {"id": str(lead.id), "url": f"/app/leads/{lead.id}", "text": "Novo lead: Nova Cliente", "mine": True}
        ]

    async def test_leaves_out_the_leads_of_another_broker(
        self, broker_console: Console, db: Database, tenant: Tenant
    ) -> None:
        other = await factories.make_user(db, tenant, role=Role.BROKER)
        lead = await _lead(db, tenant, other, "Cliente Alheio")
        since = (lead.created_at - timedelta(seconds=1)).isoformat()
        response = await broker_console.http.get("/app/stream", headers={"Last-Event-ID": since})
        assert _events(response.text) == []

    async def test_needs_a_session(self, visitor: Console) -> None:
        response = await visitor.http.get("/app/stream")
        assert response.status_code == 303


class TestNotificationStream:
    async def test_announces_a_new_notification_and_counts_the_unread(
        self, broker_console: Console, db: Database, tenant: Tenant, broker: User, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def one_new(db: Database, scope: object, since: object) -> tuple[list[Notification], int]:
            async with db.session(factories.owner_scope(tenant)) as session:
                session.add(Notification(user_id=broker.id, kind="sla_taken_from_you", params={}, link=None))
                await session.flush()
            return await real(db, scope, since)  # type: ignore[arg-type]

        real = stream.notices_since
        monkeypatch.setattr(stream, "notices_since", one_new)
        response = await broker_console.http.get("/app/stream")
        [notice] = _events(response.text, "notice")
        assert notice["text"] == "Um lead foi passado a outro corretor: o prazo da primeira resposta acabou."
        assert _events(response.text, "unread") == [{"unread": 1}]
