"""The worker runs each tenant's retention step when its daily message comes due, then schedules the next."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.events import DomainEvent
from leadflow.bus.registry import subscribe
from leadflow.config import get_settings
from leadflow.kit.scope import Scope
from leadflow.kit.storage import storage_from_settings
from leadflow.kit.time import utcnow
from leadflow.retention.events import RetentionDue
from leadflow.retention.schedule import INTERVAL, schedule_after
from leadflow.retention.service import apply_retention


@subscribe(RetentionDue.name, name="retention.apply")
async def apply_daily_retention(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    now = utcnow()
    report = await apply_retention(session, scope, now=now, storage=storage_from_settings(get_settings()))
    # Work left behind (a full batch): the next step comes at once, in its own transaction.
    await schedule_after(session, scope, running=event.id, at=now if report.more else now + INTERVAL)
