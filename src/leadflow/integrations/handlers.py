"""Deliveries on the bus: each verified webhook becomes leads, interactions or status changes; media are fetched
in a step of their own. A failure raises, so the bus retries with backoff and dead-letters it visibly: nothing
is dropped."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.events import DomainEvent
from leadflow.bus.registry import subscribe
from leadflow.integrations.credentials import key_ring
from leadflow.integrations.intake import attach_media, take_delivery, take_leadgen
from leadflow.integrations.messaging import send_marketing
from leadflow.kit.scope import Scope


@subscribe("integrations.delivery_received", name="integrations.intake")
async def on_delivery(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    await take_delivery(
        session,
        scope,
        event_id=uuid.UUID(event.payload["event_id"]),
        connection_id=uuid.UUID(event.payload["connection_id"]),
    )


@subscribe("integrations.media_pending", name="integrations.media")
async def on_media(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    await attach_media(session, scope, payload=event.payload)


@subscribe("integrations.leadgen_received", name="integrations.leadgen")
async def on_leadgen(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    await take_leadgen(
        session,
        scope,
        event_id=uuid.UUID(event.payload["event_id"]),
        connection_id=uuid.UUID(event.payload["connection_id"]),
    )


@subscribe("lead.marketing_due", name="integrations.marketing")
async def on_marketing_due(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    await send_marketing(session, scope, payload=event.payload, ring=key_ring())
