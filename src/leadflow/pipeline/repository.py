"""Every query of the pipeline: forms, rule sets, conversions, routing decisions and the roleta's roster."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, select

from leadflow.kit.repository import Repository
from leadflow.models import (
    Event,
    EventType,
    Lead,
    LeadConversion,
    LeadStatus,
    RoutingDecisionRecord,
    RuleSetVersion,
    Team,
    TeamMember,
    User,
)
from leadflow.models.pipeline import DecisionKind
from leadflow.pipeline.roleta import RoutingStep


class RuleSetRepository(Repository[RuleSetVersion]):
    model = RuleSetVersion

    async def newest(self) -> RuleSetVersion | None:
        stmt = self.select().order_by(RuleSetVersion.version.desc()).limit(1)
        return (await self.session.scalars(stmt)).first()

    async def by_version(self, version: int) -> RuleSetVersion | None:
        return (await self.session.scalars(self.select().where(RuleSetVersion.version == version))).first()

    def newest_first(self) -> Select[Any]:
        return self.select().order_by(RuleSetVersion.version.desc())


class ConversionRepository(Repository[LeadConversion]):
    model = LeadConversion

    async def of_event(self, event_id: uuid.UUID) -> LeadConversion | None:
        return (await self.session.scalars(self.select().where(LeadConversion.event_id == event_id))).first()

    async def of_events(self, event_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LeadConversion]:
        if not event_ids:
            return {}
        rows = await self.all(self.select().where(LeadConversion.event_id.in_(event_ids)))
        return {row.event_id: row for row in rows}


class DecisionRepository(Repository[RoutingDecisionRecord]):
    model = RoutingDecisionRecord

    async def of_lead(self, lead_id: uuid.UUID) -> Sequence[RoutingDecisionRecord]:
        stmt = self.select().where(RoutingDecisionRecord.lead_id == lead_id)
        return await self.all(stmt.order_by(RoutingDecisionRecord.decided_at, RoutingDecisionRecord.id))

    async def latest_of_lead(self, lead_id: uuid.UUID) -> RoutingDecisionRecord | None:
        stmt = self.select().where(RoutingDecisionRecord.lead_id == lead_id)
        stmt = stmt.order_by(RoutingDecisionRecord.decided_at.desc(), RoutingDecisionRecord.id.desc()).limit(1)
        return (await self.session.scalars(stmt)).first()

    async def assignments_since(self, team_id: uuid.UUID, since: datetime) -> dict[uuid.UUID, int]:
        """Leads the roleta gave each broker of the team in the current cycle (the captador's own excluded)."""
        stmt = (
            select(RoutingDecisionRecord.assignee_id, func.count())
            .where(
                RoutingDecisionRecord.team_id == team_id,
                RoutingDecisionRecord.decided_at >= since,
                RoutingDecisionRecord.assignee_id.is_not(None),
                RoutingDecisionRecord.kind != DecisionKind.REPLAY,
                RoutingDecisionRecord.step != RoutingStep.LISTING_BROKER.value,
            )
            .group_by(RoutingDecisionRecord.assignee_id)
        )
        return {user_id: count for user_id, count in (await self.session.execute(stmt)).all() if user_id}


class RosterRepository:
    """The people the roleta may choose from, with what it needs to know about each right now."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def lock_team(self, team_id: uuid.UUID) -> Team | None:
        """The team, locked until the transaction ends on PostgreSQL, so two leads never read the same cycle."""
        stmt = select(Team).where(Team.id == team_id).with_for_update()
        return (await self.session.scalars(stmt)).first()

    async def team_with_members(
        self, team_id: uuid.UUID, *, lock: bool = True
    ) -> tuple[Team | None, list[tuple[TeamMember, User]]]:
        """:meth:`lock_team` and :meth:`members` in one round trip (the roleta's hot path): the team row is the one
        locked (unless ``lock`` is off); its active members by name."""
        stmt = (
            select(Team, TeamMember, User)
            .outerjoin(TeamMember, TeamMember.team_id == Team.id)
            .outerjoin(User, and_(User.id == TeamMember.user_id, User.is_active.is_(True)))
            .where(Team.id == team_id)
            .order_by(User.name)
        )
        if lock:
            stmt = stmt.with_for_update(of=Team)
        rows = (await self.session.execute(stmt)).all()
        team = rows[0][0] if rows else None
        return team, [(member, user) for _, member, user in rows if member is not None and user is not None]

    async def memberships(self, user_id: uuid.UUID) -> list[TeamMember]:
        return list((await self.session.scalars(select(TeamMember).where(TeamMember.user_id == user_id))).all())

    async def members(self, team_id: uuid.UUID) -> list[tuple[TeamMember, User]]:
        stmt = (
            select(TeamMember, User)
            .join(User, User.id == TeamMember.user_id)
            .where(TeamMember.team_id == team_id, User.is_active.is_(True))
            .order_by(User.name)
        )
        return [(member, user) for member, user in (await self.session.execute(stmt)).all()]

    async def user(self, user_id: uuid.UUID) -> User | None:
        stmt = select(User).where(User.id == user_id, User.is_active.is_(True))
        return (await self.session.scalars(stmt)).first()

    async def awaiting_first_response(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        if not user_ids:
            return {}
        stmt = (
            select(Lead.owner_id, func.count())
            .where(
                Lead.owner_id.in_(user_ids),
                Lead.status == LeadStatus.OPEN,
                Lead.first_responded_at.is_(None),
            )
            .group_by(Lead.owner_id)
        )
        return {user_id: count for user_id, count in (await self.session.execute(stmt)).all() if user_id}


class OpenLeadRepository:
    """The person's open lead in a pipeline: a new conversion re-converts it instead of creating another."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def latest(self, person_id: uuid.UUID, pipeline_id: uuid.UUID) -> Lead | None:
        stmt = (
            select(Lead)
            .where(
                Lead.person_id == person_id,
                Lead.pipeline_id == pipeline_id,
                Lead.status == LeadStatus.OPEN,
            )
            .order_by(Lead.created_at.desc())
            .limit(1)
        )
        return (await self.session.scalars(stmt)).first()


class LoggedEventRepository(Repository[Event]):
    """Rows of the event log, as the pipeline reads them."""

    model = Event

    async def with_conversion(self, event_id: uuid.UUID) -> tuple[Event | None, LeadConversion | None]:
        """The logged event and the conversion already made of it, if any, in one round trip."""
        stmt = (
            select(Event, LeadConversion)
            .outerjoin(LeadConversion, LeadConversion.event_id == Event.id)
            .where(Event.id == event_id)
            .limit(1)
        )
        row = (await self.session.execute(stmt)).first()
        return (row[0], row[1]) if row is not None else (None, None)

    def conversions(
        self, *, received_from: datetime | None, received_to: datetime | None, source: str | None
    ) -> Select[Any]:
        stmt = self.select().where(
            (Event.type == EventType.FORM) | ((Event.type == EventType.TRACK) & (Event.name == "form_submitted"))
        )
        if received_from is not None:
            stmt = stmt.where(Event.received_at >= received_from)
        if received_to is not None:
            stmt = stmt.where(Event.received_at < received_to)
        if source is not None:
            stmt = stmt.where(Event.source == source)
        return stmt.order_by(Event.received_at, Event.id)
