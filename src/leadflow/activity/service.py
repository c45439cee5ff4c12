"""Interactions, tasks and visits of leads and people, and a user's day.

Every function takes ``(session, scope, *, ...)``, never commits, and finds rows through the scope: another
tenant's row, or one tied to a lead the actor cannot see, is simply not found (404).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.activity.events import InteractionLogged, interaction_facts
from leadflow.activity.repository import (
    InteractionRepository,
    ReferenceRepository,
    TaskRepository,
    VisitRepository,
)
from leadflow.activity.schemas import (
    AwaitingLead,
    InteractionCreate,
    InteractionFilters,
    InteractionUpdate,
    MyDayRead,
    TaskCreate,
    TaskFilters,
    TaskRead,
    TaskUpdate,
    VisitCreate,
    VisitFilters,
    VisitRead,
    VisitUpdate,
)
from leadflow.bus.outbox import enqueue
from leadflow.kit.errors import Forbidden, NotFound, ValidationFailed
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.lead.service import get_lead, mark_first_response
from leadflow.models import Direction, Interaction, InteractionChannel, Lead, Role, Task, Visit, VisitStatus

# A clock a few minutes fast on a phone is fine; an interaction logged for tomorrow is a mistake.
FUTURE_TOLERANCE = timedelta(minutes=5)
DEFAULT_TIME_ZONE = "America/Sao_Paulo"


class InteractionNotFound(NotFound):
    code = "interaction-not-found"
    title = "Interaction not found"


class TaskNotFound(NotFound):
    code = "task-not-found"
    title = "Task not found"


class VisitNotFound(NotFound):
    code = "visit-not-found"
    title = "Visit not found"


class ReferencedRowNotFound(NotFound):
    """An id in the body names nothing this actor can see (or another tenant's row): 404 naming the field."""

    code = "referenced-row-not-found"
    title = "Referenced row not found"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[{"field": field, "message": message}])


def invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", errors=[{"field": field, "message": message}])


def acting_user_id(scope: Scope) -> uuid.UUID | None:
    """The user behind the request; None for an API key or a background job."""
    return scope.actor_id if scope.actor_type == "user" else None


def check_may_delete(scope: Scope, author_id: uuid.UUID | None) -> None:
    """A manager (or owner, or an ``admin`` key) deletes anything; anyone else only what they authored."""
    if scope.role in (Role.OWNER.value, Role.MANAGER.value) or "admin" in scope.key_scopes:
        return
    if author_id is not None and author_id == acting_user_id(scope):
        return
    raise Forbidden("only a manager or the author may delete this")


def refuse_nulls(changes: dict[str, Any], *fields: str) -> None:
    nulls = [name for name in fields if name in changes and changes[name] is None]
    if nulls:
        raise ValidationFailed(
            f"{', '.join(nulls)} cannot be null", errors=[{"field": n, "message": "cannot be null"} for n in nulls]
        )


# What an activity is about: a lead (which the actor must see), a person, or both.


@dataclass(frozen=True, slots=True)
class Subject:
    lead: Lead | None
    person_id: uuid.UUID | None

    @property
    def lead_id(self) -> uuid.UUID | None:
        return self.lead.id if self.lead else None


async def lead_named_in_body(session: AsyncSession, scope: Scope, lead_id: uuid.UUID) -> Lead:
    """The lead a body names; one the actor cannot see (or another tenant's) is 404 naming ``lead_id``."""
    try:
        return await get_lead(session, scope, lead_id=lead_id)
    except NotFound as exc:
        raise ReferencedRowNotFound("lead_id", "no such lead") from exc


async def resolve_subject(
    session: AsyncSession, scope: Scope, *, lead_id: uuid.UUID | None, person_id: uuid.UUID | None, required: bool
) -> Subject:
    """The lead and person named in a body; a lead alone brings its person; both must agree."""
    if lead_id is None and person_id is None:
        if required:
            raise invalid("lead_id", "name a lead_id, a person_id or both")
        return Subject(None, None)
    if lead_id is not None:
        lead = await lead_named_in_body(session, scope, lead_id)
        if person_id not in (None, lead.person_id):
            raise invalid("person_id", "is not the person of the lead")
        return Subject(lead, lead.person_id)
    if person_id is not None and not await ReferenceRepository(session).person_exists(person_id):
        raise ReferencedRowNotFound("person_id", "no such person")
    return Subject(None, person_id)


async def responsible_user(session: AsyncSession, scope: Scope, user_id: uuid.UUID | None, *, field: str) -> uuid.UUID:
    """An active user of the tenant for ``field``; default the acting user."""
    if user_id is None:
        actor = acting_user_id(scope)
        if actor is None:
            raise invalid(field, "is required when acting with an API key")
        return actor
    user = await ReferenceRepository(session).user(user_id)
    if user is None:
        raise ReferencedRowNotFound(field, "no such user")
    if not user.is_active:
        raise invalid(field, "the user is inactive")
    return user.id


async def _check_property(session: AsyncSession, property_id: uuid.UUID | None) -> None:
    if property_id is not None and not await ReferenceRepository(session).property_exists(property_id):
        raise ReferencedRowNotFound("property_id", "no such property")


def _as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# Interactions


async def log_interaction(session: AsyncSession, scope: Scope, *, data: InteractionCreate) -> Interaction:
    """Log a contact; the acting user is its author. The first outbound one on a lead is its first response.

    Raises ValidationFailed (422) without a lead or person, for a person that is not the lead's, or for a
    moment more than 5 minutes ahead; ReferencedRowNotFound (404) for a lead or person the actor cannot see.
    """
    subject = await resolve_subject(session, scope, lead_id=data.lead_id, person_id=data.person_id, required=True)
    occurred_at = _check_not_future(data.occurred_at or utcnow())
    values = data.model_dump(exclude={"lead_id", "person_id", "occurred_at"})
    interaction = Interaction(
        **values,
        lead_id=subject.lead_id,
        person_id=subject.person_id,
        occurred_at=occurred_at,
        author_id=acting_user_id(scope),
    )
    InteractionRepository(session).add(interaction)
    await session.flush()
    enqueue(session, InteractionLogged(tenant_id=interaction.tenant_id, payload=interaction_facts(interaction)))
    await note_response(session, scope, interaction, lead=subject.lead)
    return interaction


def _check_not_future(moment: datetime) -> datetime:
    if moment > utcnow() + FUTURE_TOLERANCE:
        raise invalid("occurred_at", "cannot be more than 5 minutes in the future")
    return _as_utc(moment)


async def note_response(
    session: AsyncSession, scope: Scope, interaction: Interaction, *, lead: Lead | None = None
) -> None:
    """An outbound interaction on a lead nobody had answered yet is the lead's first response."""
    if interaction.direction is not Direction.OUTBOUND or interaction.lead_id is None:
        return
    lead = lead or await get_lead(session, scope, lead_id=interaction.lead_id)
    if lead.first_responded_at is None:
        await mark_first_response(session, scope, lead_id=lead.id, at=interaction.occurred_at)


async def get_interaction(session: AsyncSession, scope: Scope, *, interaction_id: uuid.UUID) -> Interaction:
    return await InteractionRepository(session).get_or_raise(interaction_id, error=InteractionNotFound)


async def list_interactions(
    session: AsyncSession, scope: Scope, *, filters: InteractionFilters, cursor: str | None, limit: int
) -> tuple[list[Interaction], str | None]:
    repo = InteractionRepository(session)
    return await repo.page(repo.filtered(filters), cursor=cursor, limit=limit, sort="occurred_at")


async def update_interaction(
    session: AsyncSession, scope: Scope, *, interaction_id: uuid.UUID, data: InteractionUpdate
) -> Interaction:
    interaction = await get_interaction(session, scope, interaction_id=interaction_id)
    changes = data.model_dump(exclude_unset=True)
    refuse_nulls(changes, "channel", "direction", "occurred_at")
    if changes.get("occurred_at") is not None:
        changes["occurred_at"] = _check_not_future(changes["occurred_at"])
    for name, value in changes.items():
        setattr(interaction, name, value)
    await session.flush()
    await note_response(session, scope, interaction)
    return interaction


async def delete_interaction(session: AsyncSession, scope: Scope, *, interaction_id: uuid.UUID) -> None:
    interaction = await get_interaction(session, scope, interaction_id=interaction_id)
    check_may_delete(scope, interaction.author_id)
    interaction.deleted_at = utcnow()


# Tasks


async def create_task(session: AsyncSession, scope: Scope, *, data: TaskCreate) -> Task:
    """A follow-up for an active user (default: you), optionally about a lead and/or a person."""
    subject = await resolve_subject(session, scope, lead_id=data.lead_id, person_id=data.person_id, required=False)
    task = Task(
        title=data.title,
        notes=data.notes,
        due_at=_as_utc(data.due_at),
        assignee_id=await responsible_user(session, scope, data.assignee_id, field="assignee_id"),
        created_by_id=acting_user_id(scope),
        lead_id=subject.lead_id,
        person_id=subject.person_id,
    )
    TaskRepository(session).add(task)
    await session.flush()
    return task


async def get_task(session: AsyncSession, scope: Scope, *, task_id: uuid.UUID) -> Task:
    return await TaskRepository(session).get_or_raise(task_id, error=TaskNotFound)


async def list_tasks(
    session: AsyncSession, scope: Scope, *, filters: TaskFilters, cursor: str | None, limit: int
) -> tuple[list[Task], str | None]:
    repo = TaskRepository(session)
    stmt = repo.filtered(filters, now=utcnow())
    return await repo.page(stmt, cursor=cursor, limit=limit, sort="due_at", descending=False)


async def update_task(session: AsyncSession, scope: Scope, *, task_id: uuid.UUID, data: TaskUpdate) -> Task:
    task = await get_task(session, scope, task_id=task_id)
    changes = data.model_dump(exclude_unset=True)
    refuse_nulls(changes, "title", "due_at", "assignee_id")
    if "assignee_id" in changes:
        changes["assignee_id"] = await responsible_user(session, scope, changes["assignee_id"], field="assignee_id")
    if "due_at" in changes:
        changes["due_at"] = _as_utc(changes["due_at"])
    if "lead_id" in changes or "person_id" in changes:
        subject = await _new_subject(session, scope, task, changes)
        changes["lead_id"], changes["person_id"] = subject.lead_id, subject.person_id
    for name, value in changes.items():
        setattr(task, name, value)
    await session.flush()
    return task


async def _new_subject(session: AsyncSession, scope: Scope, task: Task, changes: dict[str, Any]) -> Subject:
    lead_id = changes.get("lead_id", task.lead_id)
    if "person_id" in changes:
        person_id = changes["person_id"]
    elif "lead_id" in changes and lead_id is not None:
        person_id = None  # a new lead brings its own person
    else:
        person_id = task.person_id
    return await resolve_subject(session, scope, lead_id=lead_id, person_id=person_id, required=False)


async def complete_task(session: AsyncSession, scope: Scope, *, task_id: uuid.UUID) -> Task:
    """Mark the task done now; completing a done task keeps its first completion time."""
    task = await get_task(session, scope, task_id=task_id)
    if task.done_at is None:
        task.done_at = utcnow()
        await session.flush()
    return task


async def reopen_task(session: AsyncSession, scope: Scope, *, task_id: uuid.UUID) -> Task:
    task = await get_task(session, scope, task_id=task_id)
    if task.done_at is not None:
        task.done_at = None
        await session.flush()
    return task


async def delete_task(session: AsyncSession, scope: Scope, *, task_id: uuid.UUID) -> None:
    task = await get_task(session, scope, task_id=task_id)
    check_may_delete(scope, task.created_by_id)
    task.deleted_at = utcnow()


# Visits


async def schedule_visit(session: AsyncSession, scope: Scope, *, data: VisitCreate) -> Visit:
    """A visit of the lead to a property (default broker: you). Created ``realizada``, it is logged at once."""
    lead = await lead_named_in_body(session, scope, data.lead_id)
    await _check_property(session, data.property_id)
    visit = Visit(
        **data.model_dump(exclude={"lead_id", "broker_id", "scheduled_at"}),
        lead_id=lead.id,
        broker_id=await responsible_user(session, scope, data.broker_id, field="broker_id"),
        scheduled_at=_as_utc(data.scheduled_at),
    )
    VisitRepository(session).add(visit)
    await session.flush()
    if visit.status is VisitStatus.DONE:
        await _log_visit_done(session, scope, visit, lead=lead)
    return visit


async def get_visit(session: AsyncSession, scope: Scope, *, visit_id: uuid.UUID) -> Visit:
    return await VisitRepository(session).get_or_raise(visit_id, error=VisitNotFound)


async def list_visits(
    session: AsyncSession, scope: Scope, *, filters: VisitFilters, cursor: str | None, limit: int
) -> tuple[list[Visit], str | None]:
    repo = VisitRepository(session)
    return await repo.page(repo.filtered(filters), cursor=cursor, limit=limit, sort="scheduled_at", descending=False)


async def update_visit(session: AsyncSession, scope: Scope, *, visit_id: uuid.UUID, data: VisitUpdate) -> Visit:
    """Change the fields sent; the move to ``realizada`` logs a visit interaction on the lead."""
    visit = await get_visit(session, scope, visit_id=visit_id)
    changes = data.model_dump(exclude_unset=True)
    refuse_nulls(changes, "broker_id", "scheduled_at", "duration_minutes", "status")
    await _check_property(session, changes.get("property_id"))
    if "broker_id" in changes:
        changes["broker_id"] = await responsible_user(session, scope, changes["broker_id"], field="broker_id")
    if "scheduled_at" in changes:
        changes["scheduled_at"] = _as_utc(changes["scheduled_at"])
    was_done = visit.status is VisitStatus.DONE
    for name, value in changes.items():
        setattr(visit, name, value)
    await session.flush()
    if visit.status is VisitStatus.DONE and not was_done:
        await _log_visit_done(session, scope, visit)
    return visit


async def _log_visit_done(session: AsyncSession, scope: Scope, visit: Visit, *, lead: Lead | None = None) -> None:
    lead = lead or await get_lead(session, scope, lead_id=visit.lead_id)
    interaction = Interaction(
        lead_id=lead.id,
        person_id=lead.person_id,
        channel=InteractionChannel.VISIT,
        direction=Direction.OUTBOUND,
        occurred_at=min(visit.scheduled_at, utcnow()),
        subject="Visita realizada",
        body=visit.feedback,
        author_id=acting_user_id(scope) or visit.broker_id,
        meta={"visit_id": str(visit.id), "property_id": str(visit.property_id) if visit.property_id else None},
    )
    InteractionRepository(session).add(interaction)
    await session.flush()
    enqueue(session, InteractionLogged(tenant_id=interaction.tenant_id, payload=interaction_facts(interaction)))
    await note_response(session, scope, interaction, lead=lead)


async def delete_visit(session: AsyncSession, scope: Scope, *, visit_id: uuid.UUID) -> None:
    visit = await get_visit(session, scope, visit_id=visit_id)
    check_may_delete(scope, visit.broker_id)
    visit.deleted_at = utcnow()


# My day


async def my_day(session: AsyncSession, scope: Scope) -> MyDayRead:
    """The acting user's day: new leads awaiting a first response, overdue and today's tasks, today's visits.

    "Today" is the calendar day in the tenant's time zone.
    """
    user_id = acting_user_id(scope)
    if user_id is None:
        raise Forbidden("my day belongs to a user; an API key has none")
    now = utcnow()
    zone = await _tenant_zone(session, scope)
    start, end = day_bounds(now, zone)
    tasks, visits = TaskRepository(session), VisitRepository(session)
    awaiting = await ReferenceRepository(session).awaiting_first_response(user_id)
    return MyDayRead(
        day=now.astimezone(zone).date(),
        time_zone=zone.key,
        awaiting_first_response=[_awaiting(lead, name, now) for lead, name in awaiting],
        overdue_tasks=[TaskRead.model_validate(t) for t in await tasks.open_due_before(user_id, start)],
        today_tasks=[TaskRead.model_validate(t) for t in await tasks.due_between(user_id, start, end)],
        today_visits=[VisitRead.model_validate(v) for v in await visits.scheduled_between(user_id, start, end)],
    )


async def _tenant_zone(session: AsyncSession, scope: Scope) -> ZoneInfo:
    tenant = await ReferenceRepository(session).tenant(scope.tenant_id) if scope.tenant_id else None
    try:
        return ZoneInfo(tenant.time_zone if tenant else DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def day_bounds(moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Start of the local day of ``moment`` and of the next one, in UTC (DST-safe: built from dates)."""
    today = moment.astimezone(zone).date()
    start = datetime.combine(today, time(), tzinfo=zone)
    end = datetime.combine(today + timedelta(days=1), time(), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _awaiting(lead: Lead, person_name: str, now: datetime) -> AwaitingLead:
    due = lead.first_response_due_at
    return AwaitingLead(
        id=lead.id,
        person_id=lead.person_id,
        person_name=person_name,
        title=lead.title,
        source=lead.source,
        created_at=lead.created_at,
        first_response_due_at=due,
        minutes_left=math.floor((due - now).total_seconds() / 60) if due else None,
        overdue=due is not None and due < now,
    )
