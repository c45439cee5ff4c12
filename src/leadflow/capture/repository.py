from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql, sqlite

from leadflow.kit.repository import Repository
from leadflow.models import Event, EventType, FailureType, RejectedEvent

ID_CHUNK = 5000  # bound parameters per IN list, far below both databases' limits


class EventRepository(Repository[Event]):
    model = Event

    async def existing_message_ids(self, message_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(message_ids), ID_CHUNK):
            chunk = message_ids[start : start + ID_CHUNK]
            stmt = select(Event.message_id).where(Event.message_id.in_(chunk))
            found.update((await self.session.execute(stmt)).scalars())
        return found

    async def append(self, rows: list[dict[str, Any]]) -> None:
        """Insert rows (each with its tenant_id); a message id stored meanwhile by a concurrent request is skipped."""
        if not rows:
            return
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(Event).on_conflict_do_nothing(index_elements=["tenant_id", "message_id"])
        await self.session.execute(stmt, rows)

    def filtered(
        self,
        *,
        type: EventType | None,
        source: str | None,
        tracking_id: str | None,
        message_id: str | None,
        received_from: datetime | None,
        received_to: datetime | None,
    ) -> Select[Any]:
        stmt = _received_between(self.select(), Event.received_at, received_from, received_to)
        for column, value in (
            (Event.type, type),
            (Event.source, source),
            (Event.tracking_id, tracking_id),
            (Event.message_id, message_id),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        return stmt


class RejectedEventRepository(Repository[RejectedEvent]):
    model = RejectedEvent

    def filtered(
        self,
        *,
        failure_type: FailureType | None,
        source: str | None,
        message_id: str | None,
        received_from: datetime | None,
        received_to: datetime | None,
    ) -> Select[Any]:
        stmt = _received_between(self.select(), RejectedEvent.received_at, received_from, received_to)
        for column, value in (
            (RejectedEvent.failure_type, failure_type),
            (RejectedEvent.source, source),
            (RejectedEvent.message_id, message_id),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        return stmt


def _received_between(stmt: Select[Any], column: Any, start: datetime | None, end: datetime | None) -> Select[Any]:
    if start is not None:
        stmt = stmt.where(column >= start)
    if end is not None:
        stmt = stmt.where(column < end)
    return stmt
