"""One timeline per lead and per person: everything that happened, newest first, in one keyset-paginated list.

Sources: interactions, stage moves, assignments, tasks (created, and done), visits, attachments and the audit
entries of the lead (and of the person). Items are ordered by ``(at, kind, id)`` descending and the cursor
carries the last item's triple. A page costs one bounded query per source — each ordered the same way, starting
after the cursor, ``LIMIT limit + 1`` — then a merge in memory, plus one query each for the stage and user names
the page shows. Any source row in the page's top ``limit`` is within its source's top ``limit + 1``, so the merge
is exact, and a ``limit + 1``-th merged row means there is a next page.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from leadflow.activity.repository import ReferenceRepository, TimelineRepository, about, audit_about
from leadflow.activity.schemas import (
    AttachmentRead,
    InteractionRead,
    TaskRead,
    TimelineItem,
    TimelineKind,
    VisitRead,
)
from leadflow.kit.errors import BadRequest, NotFound
from leadflow.kit.pagination import MAX_LIMIT, decode_cursor, encode_cursor
from leadflow.kit.scope import Scope
from leadflow.lead.service import get_lead
from leadflow.models import (
    Attachment,
    AuditEntry,
    Direction,
    Interaction,
    InteractionChannel,
    LeadAssignment,
    LeadStageHistory,
    Task,
    Visit,
    VisitStatus,
)

CHANNEL_LABELS = {
    InteractionChannel.CALL: "Ligação",
    InteractionChannel.WHATSAPP: "WhatsApp",
    InteractionChannel.EMAIL: "E-mail",
    InteractionChannel.INSTAGRAM: "Instagram",
    InteractionChannel.SMS: "SMS",
    InteractionChannel.VISIT: "Visita",
    InteractionChannel.NOTE: "Nota",
    InteractionChannel.CHAT: "Chat",
}
DIRECTION_LABELS = {Direction.INBOUND: "entrada", Direction.OUTBOUND: "saída", Direction.INTERNAL: "interna"}
VISIT_LABELS = {
    VisitStatus.SCHEDULED: "agendada",
    VisitStatus.CONFIRMED: "confirmada",
    VisitStatus.DONE: "realizada",
    VisitStatus.CANCELLED: "cancelada",
    VisitStatus.NO_SHOW: "não compareceu",
}
AUDIT_ACTIONS = {
    "create": "criado",
    "update": "alterado",
    "delete": "excluído",
    "restore": "restaurado",
    "hard_delete": "apagado",
}
AUDIT_ENTITIES = {"leads": "Lead", "people": "Contato"}
EXCERPT = 80


class PersonNotFound(NotFound):
    code = "person-not-found"
    title = "Person not found"


@dataclass(frozen=True, slots=True)
class TimelineCursor:
    at: datetime
    kind: str
    id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Source:
    """One kind of timeline item: which rows, stamped by which column, about which leads or person."""

    kind: TimelineKind
    model: type[Any]
    at: InstrumentedAttribute[Any]
    about: Callable[[Sequence[uuid.UUID], uuid.UUID | None], ColumnElement[bool]]


def _rows_of(model: type[Any]) -> Callable[[Sequence[uuid.UUID], uuid.UUID | None], ColumnElement[bool]]:
    return lambda lead_ids, person_id: about(lead_ids, person_id, model)


SOURCES = (
    Source(TimelineKind.INTERACTION, Interaction, Interaction.occurred_at, _rows_of(Interaction)),
    Source(TimelineKind.STAGE_MOVE, LeadStageHistory, LeadStageHistory.moved_at, _rows_of(LeadStageHistory)),
    Source(TimelineKind.ASSIGNMENT, LeadAssignment, LeadAssignment.assigned_at, _rows_of(LeadAssignment)),
    Source(TimelineKind.TASK_CREATED, Task, Task.created_at, _rows_of(Task)),
    Source(TimelineKind.TASK_DONE, Task, Task.done_at, _rows_of(Task)),
    Source(TimelineKind.VISIT, Visit, Visit.scheduled_at, _rows_of(Visit)),
    Source(TimelineKind.ATTACHMENT, Attachment, Attachment.created_at, _rows_of(Attachment)),
    Source(TimelineKind.AUDIT, AuditEntry, AuditEntry.occurred_at, audit_about),
)


# Entry points


async def lead_timeline(
    session: AsyncSession, scope: Scope, *, lead_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[list[TimelineItem], str | None]:
    """The lead's timeline, newest first; 404 for a lead the actor cannot see."""
    lead = await get_lead(session, scope, lead_id=lead_id)
    return await _timeline(session, lead_ids=[lead.id], person_id=None, cursor=cursor, limit=limit)


async def person_timeline(
    session: AsyncSession, scope: Scope, *, person_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[list[TimelineItem], str | None]:
    """The person's timeline: their own rows and those of every lead of theirs the actor can see."""
    refs = ReferenceRepository(session)
    if not await refs.person_exists(person_id):
        raise PersonNotFound(f"person {person_id} not found")
    lead_ids = await refs.lead_ids_of_person(person_id)
    return await _timeline(session, lead_ids=lead_ids, person_id=person_id, cursor=cursor, limit=limit)


async def _timeline(
    session: AsyncSession,
    *,
    lead_ids: Sequence[uuid.UUID],
    person_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[TimelineItem], str | None]:
    size = min(max(limit, 1), MAX_LIMIT)
    start = decode_timeline_cursor(cursor) if cursor else None
    repo = TimelineRepository(session)
    found: list[tuple[Source, Any]] = []
    for source in SOURCES:
        rows = await repo.newest(
            source.model,
            source.at,
            subject=source.about(lead_ids, person_id),
            after=_after(source, start),
            limit=size + 1,
        )
        found.extend((source, row) for row in rows)
    found.sort(key=lambda pair: _sort_key(*pair), reverse=True)
    page = found[:size]
    next_cursor = encode_timeline_cursor(*_sort_key(*page[-1])) if len(found) > size else None
    return await _render(session, page), next_cursor


def _sort_key(source: Source, row: Any) -> tuple[datetime, str, uuid.UUID]:
    return getattr(row, source.at.key), source.kind.value, row.id


def _after(source: Source, cursor: TimelineCursor | None) -> ColumnElement[bool] | None:
    """Rows of this source that come after the cursor in (at, kind, id) descending order."""
    if cursor is None:
        return None
    if source.kind.value < cursor.kind:
        return source.at <= cursor.at
    if source.kind.value > cursor.kind:
        return source.at < cursor.at
    return or_(source.at < cursor.at, and_(source.at == cursor.at, source.model.id < cursor.id))


def encode_timeline_cursor(at: datetime, kind: str, row_id: uuid.UUID) -> str:
    return encode_cursor([at.isoformat(), kind], row_id)


def decode_timeline_cursor(cursor: str) -> TimelineCursor:
    value, row_id = decode_cursor(cursor)
    kinds = {k.value for k in TimelineKind}
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise BadRequest("invalid cursor for a timeline")
    try:
        at = datetime.fromisoformat(value[0])
    except ValueError as exc:
        raise BadRequest("invalid cursor for a timeline") from exc
    if at.tzinfo is None or value[1] not in kinds:
        raise BadRequest("invalid cursor for a timeline")
    return TimelineCursor(at=at, kind=value[1], id=row_id)


# Rendering: a short pt-BR summary for people, the row's fields for programs.


@dataclass(frozen=True, slots=True)
class Names:
    stages: dict[uuid.UUID, str]
    users: dict[uuid.UUID, str]

    def user(self, user_id: uuid.UUID | None) -> str | None:
        return self.users.get(user_id) if user_id else None

    def stage(self, stage_id: uuid.UUID | None) -> str | None:
        return self.stages.get(stage_id) if stage_id else None


async def _render(session: AsyncSession, page: list[tuple[Source, Any]]) -> list[TimelineItem]:
    names = await _names(session, [row for _, row in page])
    items = []
    for source, row in page:
        summary, data = RENDERERS[source.kind](row, names)
        items.append(
            TimelineItem(kind=source.kind, at=getattr(row, source.at.key), id=row.id, summary=summary, data=data)
        )
    return items


async def _names(session: AsyncSession, rows: list[Any]) -> Names:
    stage_ids: set[uuid.UUID] = set()
    user_ids: set[uuid.UUID] = set()
    for row in rows:
        if isinstance(row, LeadStageHistory):
            stage_ids.update(i for i in (row.from_stage_id, row.to_stage_id) if i)
        user_ids.update(i for i in _people_of(row) if i)
    refs = ReferenceRepository(session)
    return Names(stages=await refs.stage_names(stage_ids), users=await refs.user_names(user_ids))


def _people_of(row: Any) -> tuple[uuid.UUID | None, ...]:
    if isinstance(row, Interaction):
        return (row.author_id,)
    if isinstance(row, LeadStageHistory):
        return (row.moved_by_id,)
    if isinstance(row, LeadAssignment):
        return row.from_user_id, row.to_user_id, row.assigned_by_id
    if isinstance(row, Task):
        return (row.assignee_id,)
    if isinstance(row, Visit):
        return (row.broker_id,)
    if isinstance(row, AuditEntry) and row.actor_type == "user":
        return (row.actor_id,)
    return ()


def _excerpt(text: str | None) -> str | None:
    if not text:
        return None
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1] + "…"


def _interaction(row: Interaction, names: Names) -> tuple[str, dict[str, Any]]:
    summary = f"{CHANNEL_LABELS[row.channel]} ({DIRECTION_LABELS[row.direction]})"
    detail = row.subject or row.outcome or _excerpt(row.body)
    data = InteractionRead.model_validate(row).model_dump(mode="json")
    return (f"{summary}: {detail}" if detail else summary), {**data, "author_name": names.user(row.author_id)}


def _stage_move(row: LeadStageHistory, names: Names) -> tuple[str, dict[str, Any]]:
    before, after = names.stage(row.from_stage_id), names.stage(row.to_stage_id) or "?"
    data = {
        "from_stage_id": _str(row.from_stage_id),
        "to_stage_id": str(row.to_stage_id),
        "from_stage": before,
        "to_stage": after,
        "moved_by_id": _str(row.moved_by_id),
        "moved_by_name": names.user(row.moved_by_id),
        "seconds_in_previous": row.seconds_in_previous,
    }
    return (f"Etapa: {before} → {after}" if before else f"Etapa: {after}"), data


def _assignment(row: LeadAssignment, names: Names) -> tuple[str, dict[str, Any]]:
    before, after = names.user(row.from_user_id), names.user(row.to_user_id)
    summary = f"Atribuído a {after}" if after else "Atribuição removida"
    data = {
        "from_user_id": _str(row.from_user_id),
        "to_user_id": _str(row.to_user_id),
        "from_user_name": before,
        "to_user_name": after,
        "team_id": _str(row.team_id),
        "assigned_by_id": _str(row.assigned_by_id),
        "reason": row.reason,
        "explanation": row.explanation,
    }
    return (f"{summary} (antes: {before})" if before else summary), data


def _task(verb: str) -> Callable[[Task, Names], tuple[str, dict[str, Any]]]:
    def render(row: Task, names: Names) -> tuple[str, dict[str, Any]]:
        data = TaskRead.model_validate(row).model_dump(mode="json")
        return f"Tarefa {verb}: {row.title}", {**data, "assignee_name": names.user(row.assignee_id)}

    return render


def _visit(row: Visit, names: Names) -> tuple[str, dict[str, Any]]:
    data = VisitRead.model_validate(row).model_dump(mode="json")
    return f"Visita ({VISIT_LABELS[row.status]})", {**data, "broker_name": names.user(row.broker_id)}


def _attachment(row: Attachment, names: Names) -> tuple[str, dict[str, Any]]:
    return f"Anexo: {row.filename}", AttachmentRead.model_validate(row).model_dump(mode="json")


def _audit(row: AuditEntry, names: Names) -> tuple[str, dict[str, Any]]:
    entity = AUDIT_ENTITIES.get(row.entity_type, row.entity_type)
    summary = f"{entity} {AUDIT_ACTIONS.get(row.action, row.action)}"
    fields = sorted(row.changes) if row.action == "update" else []
    data = {
        "action": row.action,
        "entity_type": row.entity_type,
        "entity_id": _str(row.entity_id),
        "actor_type": row.actor_type,
        "actor_id": _str(row.actor_id),
        "actor_name": names.user(row.actor_id) if row.actor_type == "user" else None,
        "changes": row.changes,
    }
    return (f"{summary}: {', '.join(fields)}" if fields else summary), data


def _str(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


RENDERERS: dict[TimelineKind, Callable[[Any, Names], tuple[str, dict[str, Any]]]] = {
    TimelineKind.INTERACTION: _interaction,
    TimelineKind.STAGE_MOVE: _stage_move,
    TimelineKind.ASSIGNMENT: _assignment,
    TimelineKind.TASK_CREATED: _task("criada"),
    TimelineKind.TASK_DONE: _task("concluída"),
    TimelineKind.VISIT: _visit,
    TimelineKind.ATTACHMENT: _attachment,
    TimelineKind.AUDIT: _audit,
}
