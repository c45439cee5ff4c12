"""Every query of interactions, tasks, visits, attachments, the timeline and "my day"."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.orm import InstrumentedAttribute

import leadflow.activity.visibility  # noqa: F401 - registers who sees which activities
from leadflow.activity.schemas import AttachmentFilters, InteractionFilters, TaskFilters, VisitFilters
from leadflow.kit.errors import BadRequest
from leadflow.kit.orm import Base
from leadflow.kit.pagination import decode_cursor
from leadflow.kit.repository import Repository
from leadflow.models import (
    Attachment,
    AuditEntry,
    Interaction,
    Lead,
    LeadStatus,
    Person,
    Property,
    Stage,
    Task,
    Tenant,
    User,
    Visit,
    VisitStatus,
)

M = TypeVar("M", bound=Base)
# "My day" shows at most this many rows per section; the lists have filters for the rest.
MY_DAY_LIMIT = 100


class DatedRepository(Repository[M]):
    """Lists keyset-paginated on a timestamp; a cursor of another list (not a timestamp) is a bad request."""

    async def page(
        self,
        stmt: Select[Any],
        *,
        cursor: str | None,
        limit: int,
        sort: str = "created_at",
        descending: bool = True,
    ) -> tuple[list[M], str | None]:
        if cursor and not isinstance(decode_cursor(cursor)[0], datetime):
            raise BadRequest("invalid cursor for this list")
        return await super().page(stmt, cursor=cursor, limit=limit, sort=sort, descending=descending)


def _equal(pairs: Sequence[tuple[InstrumentedAttribute[Any], Any]]) -> list[ColumnElement[bool]]:
    return [column == value for column, value in pairs if value is not None]


def _between(column: InstrumentedAttribute[Any], start: datetime | None, end: datetime | None) -> list[Any]:
    bounds: list[Any] = []
    if start is not None:
        bounds.append(column >= start)
    if end is not None:
        bounds.append(column < end)
    return bounds


class InteractionRepository(DatedRepository[Interaction]):
    model = Interaction

    def filtered(self, f: InteractionFilters) -> Select[Any]:
        pairs = (
            (Interaction.lead_id, f.lead_id),
            (Interaction.person_id, f.person_id),
            (Interaction.channel, f.channel),
            (Interaction.direction, f.direction),
            (Interaction.author_id, f.author_id),
        )
        return self.select().where(*_equal(pairs), *_between(Interaction.occurred_at, f.since, f.until))


class TaskRepository(DatedRepository[Task]):
    model = Task

    def filtered(self, f: TaskFilters, *, now: datetime) -> Select[Any]:
        pairs = ((Task.assignee_id, f.assignee_id), (Task.lead_id, f.lead_id), (Task.person_id, f.person_id))
        stmt = self.select().where(*_equal(pairs), *_between(Task.due_at, f.due_from, f.due_to))
        if f.done is not None:
            stmt = stmt.where(Task.done_at.is_not(None) if f.done else Task.done_at.is_(None))
        if f.overdue is not None:
            overdue = and_(Task.done_at.is_(None), Task.due_at < now)
            stmt = stmt.where(overdue if f.overdue else ~overdue)
        return stmt

    async def open_due_before(self, assignee_id: uuid.UUID, moment: datetime) -> Sequence[Task]:
        stmt = self.select().where(Task.assignee_id == assignee_id, Task.done_at.is_(None), Task.due_at < moment)
        return await self.all(stmt.order_by(Task.due_at, Task.id).limit(MY_DAY_LIMIT))

    async def due_between(self, assignee_id: uuid.UUID, start: datetime, end: datetime) -> Sequence[Task]:
        stmt = self.select().where(Task.assignee_id == assignee_id, Task.due_at >= start, Task.due_at < end)
        return await self.all(stmt.order_by(Task.due_at, Task.id).limit(MY_DAY_LIMIT))


class VisitRepository(DatedRepository[Visit]):
    model = Visit

    def filtered(self, f: VisitFilters) -> Select[Any]:
        pairs = (
            (Visit.broker_id, f.broker_id),
            (Visit.lead_id, f.lead_id),
            (Visit.property_id, f.property_id),
            (Visit.status, f.status),
        )
        return self.select().where(*_equal(pairs), *_between(Visit.scheduled_at, f.scheduled_from, f.scheduled_to))

    async def scheduled_between(self, broker_id: uuid.UUID, start: datetime, end: datetime) -> Sequence[Visit]:
        stmt = self.select().where(
            Visit.broker_id == broker_id,
            Visit.scheduled_at >= start,
            Visit.scheduled_at < end,
            Visit.status != VisitStatus.CANCELLED,
        )
        return await self.all(stmt.order_by(Visit.scheduled_at, Visit.id).limit(MY_DAY_LIMIT))


class AttachmentRepository(DatedRepository[Attachment]):
    model = Attachment

    def filtered(self, f: AttachmentFilters) -> Select[Any]:
        pairs = (
            (Attachment.lead_id, f.lead_id),
            (Attachment.person_id, f.person_id),
            (Attachment.property_id, f.property_id),
            (Attachment.interaction_id, f.interaction_id),
        )
        return self.select().where(*_equal(pairs))


class ReferenceRepository:
    """Rows of other features an activity points at: looked up through the scope, so another tenant's is None."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def _one(self, stmt: Select[Any]) -> Any:
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def user(self, user_id: uuid.UUID) -> User | None:
        user: User | None = await self._one(select(User).where(User.id == user_id))
        return user

    async def person_exists(self, person_id: uuid.UUID) -> bool:
        return await self._one(select(Person.id).where(Person.id == person_id)) is not None

    async def property_exists(self, property_id: uuid.UUID) -> bool:
        return await self._one(select(Property.id).where(Property.id == property_id)) is not None

    async def tenant(self, tenant_id: uuid.UUID) -> Tenant | None:
        # Tenant is not tenant-scoped: the session's scope cannot confine it, the id does.
        tenant: Tenant | None = await self.session.get(Tenant, tenant_id)
        return tenant

    async def lead_ids_of_person(self, person_id: uuid.UUID) -> list[uuid.UUID]:
        """The person's leads this scope may see (the lead visibility rule applies)."""
        return list((await self.session.execute(select(Lead.id).where(Lead.person_id == person_id))).scalars())

    async def awaiting_first_response(self, owner_id: uuid.UUID) -> Sequence[Any]:
        """Open leads of ``owner_id`` nobody has answered, oldest first, with the person's name."""
        stmt = (
            select(Lead, Person.name)
            .join(Person, Person.id == Lead.person_id)
            .where(Lead.owner_id == owner_id, Lead.status == LeadStatus.OPEN, Lead.first_responded_at.is_(None))
            .order_by(Lead.created_at, Lead.id)
            .limit(MY_DAY_LIMIT)
        )
        return (await self.session.execute(stmt)).all()

    async def stage_names(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not ids:
            return {}
        rows = await self.session.execute(select(Stage.id, Stage.name).where(Stage.id.in_(ids)))
        return {row.id: row.name for row in rows.all()}

    async def user_names(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not ids:
            return {}
        stmt = select(User.id, User.name).where(User.id.in_(ids)).execution_options(include_deleted=True)
        return {row.id: row.name for row in (await self.session.execute(stmt)).all()}


# Timeline: one bounded query per source, each ordered like the merged list and starting after the cursor.


class TimelineRepository:
    def __init__(self, session: Any) -> None:
        self.session = session

    async def newest(
        self,
        model: type[Any],
        at: InstrumentedAttribute[Any],
        *,
        subject: ColumnElement[bool],
        after: ColumnElement[bool] | None,
        limit: int,
    ) -> Sequence[Any]:
        """At most ``limit`` rows of ``model`` about the subject, newest first, after the cursor."""
        stmt = select(model).where(subject, at.is_not(None))
        if after is not None:
            stmt = stmt.where(after)
        stmt = stmt.order_by(at.desc(), model.id.desc()).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()


def about(lead_ids: Sequence[uuid.UUID], person_id: uuid.UUID | None, model: type[Any]) -> ColumnElement[bool]:
    """Rows of ``model`` about these leads, or about the person when the model has a person."""
    criteria: list[ColumnElement[bool]] = [model.lead_id.in_(lead_ids)] if lead_ids else []
    if person_id is not None and hasattr(model, "person_id"):
        criteria.append(model.person_id == person_id)
    return or_(*criteria) if criteria else false()


def audit_about(lead_ids: Sequence[uuid.UUID], person_id: uuid.UUID | None) -> ColumnElement[bool]:
    criteria = [and_(AuditEntry.entity_type == "leads", AuditEntry.entity_id.in_(lead_ids))] if lead_ids else []
    if person_id is not None:
        criteria.append(and_(AuditEntry.entity_type == "people", AuditEntry.entity_id == person_id))
    return or_(*criteria) if criteria else false()
