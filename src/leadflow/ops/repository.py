from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update

from leadflow.kit.repository import Repository
from leadflow.models import OutboxMessage, OutboxStatus


class OutboxRepository(Repository[OutboxMessage]):
    model = OutboxMessage

    def dead(self) -> Select[Any]:
        return self.select().where(OutboxMessage.status == OutboxStatus.DEAD)

    async def depth_by_event(self) -> list[tuple[str, OutboxStatus, int, datetime | None]]:
        stmt = (
            select(
                OutboxMessage.event_name,
                OutboxMessage.status,
                func.count(OutboxMessage.id),
                func.min(OutboxMessage.occurred_at),
            )
            .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.DEAD]))
            .group_by(OutboxMessage.event_name, OutboxMessage.status)
        )
        return [(name, status, int(n), oldest) for name, status, n, oldest in (await self.session.execute(stmt)).all()]

    async def revive_all_dead(self, now: datetime) -> int:
        stmt = (
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.DEAD)
            .values(status=OutboxStatus.PENDING, attempts=0, available_at=now, dead_at=None, claimed_until=None)
        )
        result = await self.session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)
