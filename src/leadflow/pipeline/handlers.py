"""The pipeline's stages on the bus: conversions become routed leads, identify calls tie visitors to people, SLA
timers re-route unanswered leads. Each runs in the handler's transaction with its run record (exactly once in
effect)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.events import DomainEvent
from leadflow.bus.registry import subscribe
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.pipeline.repository import LoggedEventRepository
from leadflow.pipeline.service import link_visitor, process_conversion
from leadflow.pipeline.sla import handle_sla_due


@subscribe("capture.conversion_received", name="pipeline.conversion")
async def on_conversion(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    await process_conversion(session, scope, event_id=uuid.UUID(event.payload["event_id"]))


@subscribe("capture.visitor_identified", name="pipeline.identify")
async def on_identify(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    logged = await LoggedEventRepository(session).get(uuid.UUID(event.payload["event_id"]))
    if logged is not None:
        await link_visitor(session, scope, event=logged)


@subscribe("lead.sla_due", name="pipeline.sla")
async def on_sla_due(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    await handle_sla_due(session, scope, payload=event.payload, now=utcnow())
