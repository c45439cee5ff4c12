"""The Painel's read model: figures a manager reads at a glance, computed from the CRM tables.

There is no analytics package yet; these are read-only aggregate queries (no rule, no write) over the scoped
session, so tenancy and visibility apply as everywhere. They belong in ``analytics/`` once it exists.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.kit.time import utcnow
from leadflow.models import Lead, LeadStageHistory, LeadStatus, LossReason, Person, Pipeline, Stage, User


@dataclass(frozen=True, slots=True)
class PainelFilters:
    created_from: datetime
    created_to: datetime
    team_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    share: float  # of the largest bar in its chart, 0..1 (the bar's width)


@dataclass(frozen=True, slots=True)
class StageStep:
    pipeline: str
    name: str
    reached: int
    rate: float  # of the period's leads, 0..1
    color: str


@dataclass(frozen=True, slots=True)
class BrokerRow:
    name: str
    leads: int
    won: int
    conversion: float
    response_p50_minutes: float | None
    response_p90_minutes: float | None


@dataclass(frozen=True, slots=True)
class Breach:
    lead_id: uuid.UUID
    person_name: str
    owner_name: str | None
    due_at: datetime


@dataclass
class Painel:
    filters: PainelFilters
    total_leads: int = 0
    by_source: list[Bar] = field(default_factory=list)
    by_channel: list[Bar] = field(default_factory=list)
    by_campaign: list[Bar] = field(default_factory=list)
    funnel: list[StageStep] = field(default_factory=list)
    brokers: list[BrokerRow] = field(default_factory=list)
    breaches: list[Breach] = field(default_factory=list)
    losses: list[Bar] = field(default_factory=list)
    won_count: int = 0
    won_value_cents: int = 0


def bars(counts: Sequence[tuple[str | None, int]], unknown: str, limit: int = 8) -> list[Bar]:
    ordered = sorted(((label or unknown, n) for label, n in counts), key=lambda pair: (-pair[1], pair[0]))[:limit]
    top = max((n for _, n in ordered), default=0) or 1
    return [Bar(label, n, n / top) for label, n in ordered]


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (p50 of 1, 2, 3, 4 is 2): a figure that was actually observed."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


class PainelQueries:
    def __init__(self, session: AsyncSession, filters: PainelFilters) -> None:
        self.session = session
        self.filters = filters

    def _period(self) -> list[ColumnElement[bool]]:
        criteria = [Lead.created_at >= self.filters.created_from, Lead.created_at < self.filters.created_to]
        if self.filters.team_id is not None:
            criteria.append(Lead.team_id == self.filters.team_id)
        return criteria

    async def _rows(self, stmt: Any) -> list[Any]:
        return list((await self.session.execute(stmt)).all())

    async def counts_by(self, column: Any) -> list[tuple[str | None, int]]:
        stmt = select(column, func.count(Lead.id)).where(*self._period()).group_by(column)
        return [(label, int(n)) for label, n in await self._rows(stmt)]

    async def reached_stages(self) -> list[tuple[str, Stage, int]]:
        """Leads of the period that ever entered each stage (the stage history, not only where they are now)."""
        reached = (
            select(LeadStageHistory.to_stage_id, func.count(func.distinct(LeadStageHistory.lead_id)))
            .join(Lead, Lead.id == LeadStageHistory.lead_id)
            .where(*self._period())
            .group_by(LeadStageHistory.to_stage_id)
        )
        counts = {stage_id: int(n) for stage_id, n in await self._rows(reached)}
        current = select(Lead.stage_id, func.count(Lead.id)).where(*self._period()).group_by(Lead.stage_id)
        for stage_id, n in await self._rows(current):  # leads created before history was kept count too
            counts[stage_id] = max(counts.get(stage_id, 0), int(n))
        if not counts:
            return []
        stmt = (
            select(Pipeline.name, Stage)
            .join(Pipeline, Pipeline.id == Stage.pipeline_id)
            .where(Stage.id.in_(counts.keys()))
            .order_by(Pipeline.position, Pipeline.name, Stage.position)
        )
        return [(name, stage, counts[stage.id]) for name, stage in await self._rows(stmt)]

    async def per_owner(self) -> list[tuple[uuid.UUID | None, int, int]]:
        won = func.sum(case((Lead.status == LeadStatus.WON, 1), else_=0))
        stmt = select(Lead.owner_id, func.count(Lead.id), won).where(*self._period()).group_by(Lead.owner_id)
        return [(owner, int(n), int(w or 0)) for owner, n, w in await self._rows(stmt)]

    async def response_minutes(self) -> dict[uuid.UUID | None, list[float]]:
        stmt = select(Lead.owner_id, Lead.created_at, Lead.first_responded_at).where(
            *self._period(), Lead.first_responded_at.is_not(None)
        )
        minutes: dict[uuid.UUID | None, list[float]] = defaultdict(list)
        for owner, created, responded in await self._rows(stmt):
            minutes[owner].append(max(0.0, (responded - created).total_seconds() / 60))
        return minutes

    async def breaches_now(self, limit: int = 20) -> list[Breach]:
        """Leads nobody has answered whose first-response deadline has passed, now (not limited to the period)."""
        criteria = [
            Lead.status == LeadStatus.OPEN,
            Lead.first_responded_at.is_(None),
            Lead.first_response_due_at < utcnow(),
        ]
        if self.filters.team_id is not None:
            criteria.append(Lead.team_id == self.filters.team_id)
        stmt = (
            select(Lead.id, Person.name, User.name, Lead.first_response_due_at)
            .join(Person, Person.id == Lead.person_id)
            .outerjoin(User, User.id == Lead.owner_id)
            .where(*criteria)
            .order_by(Lead.first_response_due_at)
            .limit(limit)
        )
        return [Breach(lead_id, person or "—", owner, due) for lead_id, person, owner, due in await self._rows(stmt)]

    async def losses(self) -> list[tuple[str | None, int]]:
        stmt = (
            select(LossReason.name, func.count(Lead.id))
            .outerjoin(LossReason, LossReason.id == Lead.loss_reason_id)
            .where(*self._period(), Lead.status == LeadStatus.LOST)
            .group_by(LossReason.name)
        )
        return [(name, int(n)) for name, n in await self._rows(stmt)]

    async def won(self) -> tuple[int, int]:
        stmt = select(func.count(Lead.id), func.coalesce(func.sum(Lead.value_cents), 0)).where(
            *self._period(), Lead.status == LeadStatus.WON
        )
        count, value = (await self.session.execute(stmt)).one()
        return int(count), int(value or 0)

    async def user_names(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not ids:
            return {}
        stmt = select(User.id, User.name).where(User.id.in_(set(ids))).execution_options(include_deleted=True)
        return {row[0]: row[1] for row in await self._rows(stmt)}


async def painel(session: AsyncSession, *, filters: PainelFilters, unknown: str, unassigned: str) -> Painel:
    queries = PainelQueries(session, filters)
    result = Painel(filters=filters)
    sources = await queries.counts_by(Lead.source)
    result.total_leads = sum(n for _, n in sources)
    result.by_source = bars(sources, unknown)
    result.by_channel = bars(await queries.counts_by(Lead.channel), unknown)
    result.by_campaign = bars(await queries.counts_by(Lead.utm_campaign), unknown)
    total = result.total_leads or 1
    result.funnel = [StageStep(p, s.name, n, n / total, s.color) for p, s, n in await queries.reached_stages()]
    result.brokers = await _brokers(queries, unassigned)
    result.breaches = await queries.breaches_now()
    result.losses = bars(await queries.losses(), unknown)
    result.won_count, result.won_value_cents = await queries.won()
    return result


async def _brokers(queries: PainelQueries, unassigned: str) -> list[BrokerRow]:
    owners = await queries.per_owner()
    minutes = await queries.response_minutes()
    names = await queries.user_names([owner for owner, _, _ in owners if owner is not None])
    rows = [
        BrokerRow(
            name=names.get(owner, "—") if owner else unassigned,
            leads=n,
            won=won,
            conversion=won / n if n else 0.0,
            response_p50_minutes=percentile(minutes.get(owner, []), 0.5),
            response_p90_minutes=percentile(minutes.get(owner, []), 0.9),
        )
        for owner, n, won in owners
    ]
    return sorted(rows, key=lambda row: (-row.leads, row.name))
