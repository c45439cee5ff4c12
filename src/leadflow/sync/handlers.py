"""CRM sync on the bus: lead changes push the lead's person to every enabled CRM; a re-sync request pushes many."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.events import DomainEvent
from leadflow.bus.registry import subscribe
from leadflow.config import get_settings
from leadflow.integrations.credentials import key_ring
from leadflow.kit.http import SsrfPolicy
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.sync.chat import hand_over_lead
from leadflow.sync.events import TRIGGERS
from leadflow.sync.repository import CrmConnectionRepository
from leadflow.sync.service import SyncConfig, get_connection, push_people


@subscribe(*TRIGGERS, name="sync.lead_changed")
async def on_lead_changed(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    person_id = event.payload.get("person_id")
    if not person_id:
        return
    connections = await CrmConnectionRepository(session).enabled()
    if not connections:
        return
    config = SyncConfig.from_settings(get_settings())
    for connection in connections:
        await push_people(
            session, scope, connection=connection, person_ids=[uuid.UUID(person_id)], config=config, now=utcnow()
        )


@subscribe("sync.resync_requested", name="sync.resync")
async def on_resync(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    connection = await get_connection(session, scope, provider=event.payload["provider"])
    ids = event.payload.get("person_ids")
    await push_people(
        session,
        scope,
        connection=connection,
        person_ids=[uuid.UUID(i) for i in ids] if ids is not None else None,
        config=SyncConfig.from_settings(get_settings()),
        now=utcnow(),
        force=bool(event.payload.get("force")),
    )


@subscribe("lead.created", "lead.assigned", name="sync.chatwoot_hand_over")
async def on_lead_for_chat(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    lead_id = event.payload.get("lead_id")
    if lead_id:
        # The connection belongs to the integrations core: its secrets open with the core's key ring.
        policy = SsrfPolicy(allow_loopback=get_settings().webhooks_allow_loopback)
        await hand_over_lead(session, scope, lead_id=uuid.UUID(lead_id), ring=key_ring(), policy=policy, now=utcnow())
