"""The worker's daily retention: one delayed ``retention.due`` message per tenant, which schedules the next one
when it has run (at once while a step leaves work behind, else a day later)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.outbox import enqueue
from leadflow.kit.scope import Scope
from leadflow.retention.events import RetentionDue
from leadflow.retention.repository import RetentionRepository, pending_retention_messages

INTERVAL = timedelta(days=1)


async def ensure_scheduled(session: AsyncSession, scope: Scope, *, at: datetime) -> bool:
    """Queue the tenant's retention message for ``at`` unless one is already waiting; True when it queued one."""
    if await pending_retention_messages(RetentionRepository(session)):
        return False
    schedule_next(session, scope, at=at)
    return True


async def schedule_after(session: AsyncSession, scope: Scope, *, running: uuid.UUID, at: datetime) -> bool:
    """From the running message's handler: queue its successor, unless another one already waits."""
    if await pending_retention_messages(RetentionRepository(session), other_than=running):
        return False
    schedule_next(session, scope, at=at)
    return True


def schedule_next(session: AsyncSession, scope: Scope, *, at: datetime) -> None:
    assert scope.tenant_id is not None
    event = RetentionDue(tenant_id=scope.tenant_id)
    enqueue(session, event, available_at=at)
