"""New leads reach open console pages as server-sent events, each user hearing only of the leads they may see."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from leadflow.console import stream
from leadflow.kit.db import Database
from leadflow.models import Lead, Role, Tenant, User
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


def _events(body: str) -> list[dict[str, object]]:
    return [json.loads(line[len("data: ") :]) for line in body.splitlines() if line.startswith("data: ")]


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
