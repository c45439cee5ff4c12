from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, not_, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import InstrumentedAttribute

from leadflow.kit.errors import BadRequest
from leadflow.kit.pagination import MAX_LIMIT, decode_cursor, encode_cursor
from leadflow.kit.repository import Repository
from leadflow.kit.time import utcnow
from leadflow.lead.schemas import LeadFilters, LeadSort
from leadflow.models import (
    IdentityKind,
    Lead,
    LeadAssignment,
    LeadInterest,
    LeadStageHistory,
    LossReason,
    Person,
    PersonIdentity,
    Pipeline,
    Stage,
    StageTransition,
)
from leadflow.person.repository import people_matching_text

# Leads without a value sort last both ways.
NO_VALUE_LAST_ASC = 2**62
NO_VALUE_LAST_DESC = -1


@dataclass(frozen=True, slots=True)
class Contact:
    """What a lead list shows of its person."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None


class PipelineRepository(Repository[Pipeline]):
    model = Pipeline

    def ordered(self) -> Select[Any]:
        return self.select().order_by(Pipeline.position, Pipeline.created_at, Pipeline.id)

    async def by_name(self, name: str) -> Pipeline | None:
        stmt = select(Pipeline).where(Pipeline.name == name).execution_options(include_deleted=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def living_named(self, name: str) -> Pipeline | None:
        """The first pipeline (in the tenant's order) with this name that is not deleted."""
        return (await self.session.execute(self.ordered().where(Pipeline.name == name).limit(1))).scalar_one_or_none()

    async def default(self) -> Pipeline | None:
        stmt = self.ordered().where(Pipeline.is_default.is_(True)).limit(1)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def defaults_other_than(self, pipeline_id: uuid.UUID) -> Sequence[Pipeline]:
        return await self.all(self.select().where(Pipeline.is_default.is_(True), Pipeline.id != pipeline_id))

    async def next_position(self) -> int:
        highest = (await self.session.execute(select(func.max(Pipeline.position)))).scalar_one()
        return 0 if highest is None else int(highest) + 1


class StageRepository(Repository[Stage]):
    model = Stage

    async def of_pipelines(self, pipeline_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Stage]]:
        """Active stages of several pipelines in one query, in order."""
        found: dict[uuid.UUID, list[Stage]] = defaultdict(list)
        if not pipeline_ids:
            return found
        stmt = (
            select(Stage)
            .where(Stage.pipeline_id.in_(pipeline_ids), Stage.is_active.is_(True))
            .order_by(Stage.position, Stage.created_at, Stage.id)
        )
        for stage in await self.all(stmt):
            found[stage.pipeline_id].append(stage)
        return found

    async def of_pipeline(self, pipeline_id: uuid.UUID) -> list[Stage]:
        return (await self.of_pipelines([pipeline_id])).get(pipeline_id, [])

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Stage]:
        """Stages by id, archived ones too (history names them)."""
        if not ids:
            return {}
        return {s.id: s for s in await self.all(select(Stage).where(Stage.id.in_(set(ids))))}


class TransitionRepository(Repository[StageTransition]):
    model = StageTransition

    async def of_pipelines(self, pipeline_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[StageTransition]]:
        found: dict[uuid.UUID, list[StageTransition]] = defaultdict(list)
        if not pipeline_ids:
            return found
        stmt = (
            select(StageTransition)
            .where(StageTransition.pipeline_id.in_(pipeline_ids))
            .order_by(StageTransition.created_at, StageTransition.id)
        )
        for transition in await self.all(stmt):
            found[transition.pipeline_id].append(transition)
        return found

    async def of_pipeline(self, pipeline_id: uuid.UUID) -> list[StageTransition]:
        return (await self.of_pipelines([pipeline_id])).get(pipeline_id, [])

    async def touching(self, stage_id: uuid.UUID) -> Sequence[StageTransition]:
        stmt = select(StageTransition).where(
            or_(StageTransition.from_stage_id == stage_id, StageTransition.to_stage_id == stage_id)
        )
        return await self.all(stmt)


class LossReasonRepository(Repository[LossReason]):
    model = LossReason

    def ordered(self) -> Select[Any]:
        return self.select().order_by(LossReason.name, LossReason.id)

    async def by_name(self, name: str) -> LossReason | None:
        stmt = select(LossReason).where(LossReason.name == name).execution_options(include_deleted=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()


class ReferenceRepository:
    """Rows a body names, looked up through the scoped session: another tenant's id is simply not found."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def find(self, model: type[Any], row_id: uuid.UUID) -> Any | None:
        stmt = select(model).where(model.id == row_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def found_ids(self, model: type[Any], ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        if not ids:
            return set()
        return set((await self.session.execute(select(model.id).where(model.id.in_(set(ids))))).scalars())


class LeadRepository(Repository[Lead]):
    model = Lead

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Lead]:
        if not ids:
            return {}
        return {lead.id: lead for lead in await self.all(self.select().where(Lead.id.in_(set(ids))))}

    async def count_everywhere(self, *criteria: ColumnElement[bool]) -> int:
        """Living leads matching ``criteria`` whoever may see them (funnel changes must count every lead)."""
        stmt = select(func.count(Lead.id)).where(*criteria).execution_options(skip_visibility=True)
        return int((await self.session.execute(stmt)).scalar_one())

    def filtered(self, filters: LeadFilters) -> Select[Any]:
        stmt = self.select().where(*self._equalities(filters), *self._ranges(filters), *self._flags(filters))
        if filters.owner_id == "none":
            stmt = stmt.where(Lead.owner_id.is_(None))
        if filters.tag:
            stmt = stmt.where(self._has_tag(filters.tag))
        if filters.q and filters.q.strip():
            stmt = stmt.where(Lead.person_id.in_(select(Person.id).where(people_matching_text(filters.q))))
        return stmt

    @staticmethod
    def _equalities(filters: LeadFilters) -> list[ColumnElement[bool]]:
        owner = filters.owner_id if isinstance(filters.owner_id, uuid.UUID) else None
        pairs: list[tuple[InstrumentedAttribute[Any], Any]] = [
            (Lead.pipeline_id, filters.pipeline_id),
            (Lead.stage_id, filters.stage_id),
            (Lead.owner_id, owner),
            (Lead.team_id, filters.team_id),
            (Lead.status, filters.status),
            (Lead.person_id, filters.person_id),
            (Lead.property_id, filters.property_id),
            (Lead.development_id, filters.development_id),
            (Lead.source, filters.source),
            (Lead.channel, filters.channel),
            (Lead.utm_campaign, filters.campaign),
            (Lead.temperature, filters.temperature),
        ]
        return [column == value for column, value in pairs if value is not None]

    @staticmethod
    def _ranges(filters: LeadFilters) -> list[ColumnElement[bool]]:
        bounds: list[tuple[InstrumentedAttribute[Any], datetime | None, bool]] = [
            (Lead.created_at, filters.created_from, True),
            (Lead.created_at, filters.created_to, False),
            (Lead.updated_at, filters.updated_from, True),
            (Lead.updated_at, filters.updated_to, False),
        ]
        return [column >= value if lower else column < value for column, value, lower in bounds if value is not None]

    @staticmethod
    def _flags(filters: LeadFilters) -> list[ColumnElement[bool]]:
        now = utcnow()
        flags: list[tuple[bool | None, ColumnElement[bool]]] = [
            (filters.overdue_follow_up, Lead.next_follow_up_at < now),
            (filters.sla_breached, and_(Lead.first_responded_at.is_(None), Lead.first_response_due_at < now)),
        ]
        # false asks for the complement; a NULL date is neither overdue nor breached.
        return [
            clause if wanted else not_(func.coalesce(clause, False)) for wanted, clause in flags if wanted is not None
        ]

    def _has_tag(self, tag: str) -> ColumnElement[bool]:
        # JSON containment has no portable spelling: JSONB's @> on PostgreSQL, json_each on SQLite.
        if self.session.get_bind().dialect.name == "postgresql":
            return type_coerce(Lead.tags, JSONB).contains([tag])
        each = func.json_each(Lead.tags).table_valued("value")
        return exists(select(1).select_from(each).where(each.c.value == tag))

    async def sorted_page(
        self, stmt: Select[Any], *, sort: LeadSort, cursor: str | None, limit: int
    ) -> tuple[list[Lead], str | None]:
        column, descending = sort.removeprefix("-"), sort.startswith("-")
        if column == "value_cents":
            return await self._page_by_value(stmt, descending=descending, cursor=cursor, limit=limit)
        _check_cursor(cursor, datetime)
        return await self.page(stmt, cursor=cursor, limit=limit, sort=column, descending=descending)

    async def _page_by_value(
        self, stmt: Select[Any], *, descending: bool, cursor: str | None, limit: int
    ) -> tuple[list[Lead], str | None]:
        missing = NO_VALUE_LAST_DESC if descending else NO_VALUE_LAST_ASC
        value = func.coalesce(Lead.value_cents, literal(missing))
        if cursor:
            _check_cursor(cursor, int)
            last_value, last_id = decode_cursor(cursor)
            after = (value < last_value, Lead.id < last_id) if descending else (value > last_value, Lead.id > last_id)
            stmt = stmt.where(or_(after[0], and_(value == last_value, after[1])))
        order = (value.desc(), Lead.id.desc()) if descending else (value.asc(), Lead.id.asc())
        size = min(max(limit, 1), MAX_LIMIT)
        rows = list(await self.all(stmt.order_by(*order).limit(size + 1)))
        if len(rows) <= size:
            return rows, None
        last = rows[size - 1]
        return rows[:size], encode_cursor(last.value_cents if last.value_cents is not None else missing, last.id)

    async def contacts(self, person_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Contact]:
        """Name, primary phone and primary e-mail of several people: two queries for a whole page."""
        if not person_ids:
            return {}
        ids = set(person_ids)
        names = dict((await self.session.execute(select(Person.id, Person.name).where(Person.id.in_(ids)))).all())
        stmt = (
            select(PersonIdentity.person_id, PersonIdentity.kind, PersonIdentity.value)
            .where(PersonIdentity.person_id.in_(ids), PersonIdentity.kind.in_(_CONTACT_KINDS))
            .order_by(PersonIdentity.is_primary.desc(), PersonIdentity.created_at, PersonIdentity.id)
        )
        firsts: dict[tuple[uuid.UUID, IdentityKind], str] = {}
        for person_id, kind, value in (await self.session.execute(stmt)).all():
            firsts.setdefault((person_id, kind), value)
        return {pid: _contact(names.get(pid), firsts, pid) for pid in ids}


_CONTACT_KINDS = (IdentityKind.PHONE, IdentityKind.WHATSAPP, IdentityKind.EMAIL)


def _contact(name: str | None, firsts: dict[tuple[uuid.UUID, IdentityKind], str], pid: uuid.UUID) -> Contact:
    whatsapp = firsts.get((pid, IdentityKind.WHATSAPP))
    phone = firsts.get((pid, IdentityKind.PHONE)) or (whatsapp if whatsapp and whatsapp.startswith("+") else None)
    return Contact(name=name, phone=phone, email=firsts.get((pid, IdentityKind.EMAIL)))


def _check_cursor(cursor: str | None, expected: type) -> None:
    # A cursor of another sort would compare, say, a number with a timestamp: refuse it as a bad request.
    if cursor:
        value = decode_cursor(cursor)[0]
        if not isinstance(value, expected) or isinstance(value, bool):
            raise BadRequest("invalid cursor for this sort")


class InterestRepository(Repository[LeadInterest]):
    model = LeadInterest

    async def of_leads(self, lead_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LeadInterest]:
        if not lead_ids:
            return {}
        stmt = select(LeadInterest).where(LeadInterest.lead_id.in_(set(lead_ids)))
        return {interest.lead_id: interest for interest in await self.all(stmt)}

    async def of_lead(self, lead_id: uuid.UUID) -> LeadInterest | None:
        return (await self.of_leads([lead_id])).get(lead_id)


class HistoryRepository:
    def __init__(self, session: Any) -> None:
        self.session = session

    async def stage_moves(self, lead_id: uuid.UUID) -> Sequence[LeadStageHistory]:
        stmt = (
            select(LeadStageHistory)
            .where(LeadStageHistory.lead_id == lead_id)
            .order_by(LeadStageHistory.moved_at, LeadStageHistory.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def assignments(self, lead_id: uuid.UUID) -> Sequence[LeadAssignment]:
        stmt = (
            select(LeadAssignment)
            .where(LeadAssignment.lead_id == lead_id)
            .order_by(LeadAssignment.assigned_at, LeadAssignment.id)
        )
        return (await self.session.execute(stmt)).scalars().all()
