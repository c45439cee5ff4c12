"""Lead and interaction changes publish their domain events to the outbox in the same transaction."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from leadflow.kit.db import Database
from leadflow.models import OutboxMessage, Tenant, User
from tests import factories
from tests.factories import owner_scope


async def _published(db: Database, tenant: Tenant) -> list[tuple[str, dict[str, object]]]:
    async with db.session(owner_scope(tenant)) as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.occurred_at))).scalars()
        return [(m.event_name, m.payload) for m in rows]


class TestLeadEvents:
    async def test_creating_moving_assigning_and_answering_a_lead_publish_their_events(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant, broker: User, manager: User
    ) -> None:
        _, stages = await factories.make_pipeline(db, tenant)
        await factories.make_team(db, tenant, "Vendas", [manager, broker])
        person = await factories.make_person(db, tenant)
        created = await as_manager.post(
            "/v1/leads", json={"person_id": str(person.id), "stage_id": str(stages[0].id), "source": "site"}
        )
        lead_id = created.json()["id"]
        await as_manager.post(f"/v1/leads/{lead_id}/move", json={"stage_id": str(stages[1].id)})
        await as_manager.post(f"/v1/leads/{lead_id}/assign", json={"owner_id": str(broker.id)})
        await as_manager.post(
            "/v1/interactions", json={"lead_id": lead_id, "channel": "whatsapp", "direction": "outbound"}
        )
        events = await _published(db, tenant)
        assert [name for name, _ in events] == [
            "lead.created",
            "lead.stage_changed",
            "lead.assigned",
            "interaction.logged",
        ]
        assert events[0][1]["lead_id"] == lead_id
        assert events[0][1]["source"] == "site"
        assert events[1][1]["from_stage_id"] == str(stages[0].id)
        assert events[2][1]["owner_id"] == str(broker.id)

    async def test_a_refused_move_publishes_nothing(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        _, stages = await factories.make_pipeline(db, tenant)
        person = await factories.make_person(db, tenant)
        lead = await factories.make_lead(db, tenant, person=person, stage=stages[0])
        lost = stages[-1]
        refused = await as_manager.post(f"/v1/leads/{lead.id}/move", json={"stage_id": str(lost.id)})
        assert refused.status_code == 422  # a lost stage needs a loss reason
        assert await _published(db, tenant) == []
