from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Insert, Select, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from leadflow.kit.repository import Repository
from leadflow.models import Event, EventType, FailureType, LeadForm, RejectedEvent

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

    async def append(self, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
        """Insert rows (each with its tenant_id); a message id stored meanwhile by a concurrent request is skipped.

        Returns the ids of the rows actually inserted, so only those are announced to the pipeline.
        """
        if not rows:
            return set()
        # A core insert on the session's connection: the ORM's bulk path adds a third to the cost of each row and
        # gives nothing here (no objects, no relationships). Multi-row VALUES with RETURNING, paged by SQLAlchemy.
        connection = await self.session.connection()
        stmt = _append_statement(connection.dialect.name)
        inserted: set[uuid.UUID] = set()
        for start in range(0, len(rows), ID_CHUNK):
            result = await connection.execute(stmt, rows[start : start + ID_CHUNK])
            inserted.update(result.scalars())
        return inserted

    async def pages_of_visitors(self, tracking_ids: Sequence[str], *, limit: int) -> Sequence[Event]:
        """The newest page views of these visitors, newest first (the tracking index serves it)."""
        if not tracking_ids:
            return []
        stmt = (
            self.select()
            .where(Event.type == EventType.PAGE, Event.tracking_id.in_(list(tracking_ids)))
            .order_by(Event.occurred_at.desc(), Event.id.desc())
            .limit(limit)
        )
        return await self.all(stmt)

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


@functools.cache
def _append_statement(dialect: str) -> Insert:
    """INSERT … ON CONFLICT (tenant_id, message_id) DO NOTHING RETURNING id, built once per dialect."""
    table = cast(Table, Event.__table__)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).on_conflict_do_nothing(index_elements=["tenant_id", "message_id"])
    return stmt.returning(table.c.id)


def _received_between(stmt: Select[Any], column: Any, start: datetime | None, end: datetime | None) -> Select[Any]:
    if start is not None:
        stmt = stmt.where(column >= start)
    if end is not None:
        stmt = stmt.where(column < end)
    return stmt


class FormRepository(Repository[LeadForm]):
    model = LeadForm

    async def by_key(self, key: str) -> LeadForm | None:
        return (await self.session.scalars(self.select().where(LeadForm.key == key))).first()


async def event_by_message_id(session: Any, message_id: str) -> Event | None:
    return (await session.scalars(select(Event).where(Event.message_id == message_id))).first()
