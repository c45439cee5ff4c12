"""The roleta against the database: who is on the team right now, how many leads each got this cycle, and the
stored record of every decision (ARCHITECTURE §6, "each decision with its explanation")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.kit.ids import new_id
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.lead.service import hand_over
from leadflow.models import Lead, Role, RoutingDecisionRecord, Team, TeamMember, User
from leadflow.models.pipeline import DecisionKind
from leadflow.pipeline.repository import DecisionRepository, RosterRepository
from leadflow.pipeline.roleta import (
    Candidate,
    RoutingDecision,
    RoutingRequest,
    RoutingState,
    SlaHandoff,
    WorkShift,
    next_on_sla_breach,
    route,
)
from leadflow.pipeline.rules import RulesOutcome, Weekday

MANAGER_ROLES = frozenset({Role.MANAGER, Role.OWNER})


@dataclass(frozen=True, slots=True)
class Roster:
    team: Team
    candidates: list[Candidate]
    state: RoutingState


async def load_roster(
    session: AsyncSession,
    team_id: uuid.UUID,
    *,
    now: datetime,
    tz: str,
    listing_broker_id: uuid.UUID | None,
    lock: bool = True,
) -> Roster | None:
    """The team (locked for this transaction unless ``lock`` is off: a preview only reads), its members as
    candidates and the assignments of today's cycle."""
    roster = RosterRepository(session)
    team, members = await roster.team_with_members(team_id, lock=lock)
    if team is None:
        return None
    people: list[tuple[TeamMember | None, User]] = [(member, user) for member, user in members]
    if listing_broker_id is not None and all(user.id != listing_broker_id for _, user in people):
        captador = await roster.user(listing_broker_id)
        if captador is not None:
            people.append((None, captador))
    waiting = await roster.awaiting_first_response([user.id for _, user in people])
    candidates = [_candidate(member, user, waiting.get(user.id, 0)) for member, user in people]
    counts = await DecisionRepository(session).assignments_since(team_id, cycle_start(now, tz))
    return Roster(team=team, candidates=candidates, state=RoutingState(assignments=counts))


def cycle_start(now: datetime, tz: str) -> datetime:
    """The roleta's cycle is the tenant's calendar day: everyone starts the morning even."""
    local = now.astimezone(ZoneInfo(tz))
    return datetime.combine(local.date(), time(0), tzinfo=local.tzinfo).astimezone(UTC)


def _candidate(member: TeamMember | None, user: User, waiting: int) -> Candidate:
    return Candidate(
        user_id=user.id,
        name=user.name,
        weight=max(1, member.weight) if member else 1,
        capacity=member.capacity if member else None,
        open_leads=waiting,
        on_duty=member.on_duty if member else True,
        working_hours=_shifts(member.working_hours) if member else None,
        groups=frozenset(member.routing_groups or []) if member else frozenset(),
        is_manager=user.role in MANAGER_ROLES,
    )


def _shifts(stored: dict[str, Any] | None) -> dict[Weekday, list[WorkShift]] | None:
    """Working hours as stored (validated when saved); a row that no longer parses means "no restriction"."""
    if not stored:
        return None
    try:
        return {Weekday(day): [WorkShift.model_validate(s) for s in shifts] for day, shifts in stored.items()}
    except (ValueError, ValidationError):
        return None


def routing_request(
    lead: Lead, outcome: RulesOutcome, facts: dict[str, Any], captador: uuid.UUID | None
) -> RoutingRequest:
    interest = facts.get("lead", {})
    return RoutingRequest(
        lead_id=lead.id,
        purpose=interest.get("purpose"),
        price_cents=interest.get("price_max_cents"),
        region=interest.get("region"),
        neighbourhood=interest.get("neighbourhood"),
        development_id=str(lead.development_id) if lead.development_id else None,
        listing_broker_id=captador,
        requested_group=outcome.route_group,
        rule_id=outcome.route_rule_id,
        rule_set_version=outcome.rule_set_version,
    )


def decide(roster: Roster, request: RoutingRequest, *, now: datetime, tz: str) -> RoutingDecision:
    return route(request, roster.candidates, roster.state, now=now, tz=tz)


def decide_after_breach(
    roster: Roster, request: RoutingRequest, previous_owners: list[uuid.UUID], *, now: datetime, tz: str
) -> SlaHandoff:
    return next_on_sla_breach(
        previous_owners, request, roster.candidates, roster.state, now=now, tz=tz, max_reroutes=roster.team.max_reroutes
    )


def record_decision(
    session: AsyncSession,
    lead: Lead,
    *,
    kind: DecisionKind,
    decision: RoutingDecision | None,
    outcome: RulesOutcome | None,
    team_id: uuid.UUID | None,
    event_id: uuid.UUID | None,
    why: str | None = None,
) -> RoutingDecisionRecord:
    record = RoutingDecisionRecord(
        id=new_id(),  # named by the assignment's explanation: known without a flush
        lead_id=lead.id,
        event_id=event_id,
        kind=kind,
        decided_at=utcnow(),
        team_id=team_id,
        assignee_id=decision.assignee_id if decision else None,
        step=decision.step.value if decision and decision.step else None,
        why=why or (decision.why if decision else "no team to route to"),
        rule_set_version=outcome.rule_set_version if outcome else None,
        rules=outcome.model_dump(mode="json") if outcome else {},
        roleta=decision.model_dump(mode="json") if decision else {},
    )
    session.add(record)
    return record


async def hand_over_as_decided(
    session: AsyncSession, scope: Scope, lead: Lead, record: RoutingDecisionRecord, *, reason: str
) -> None:
    """Give the lead to whom the stored decision names, the decision's id and reasons in the assignment."""
    explanation = {"routing_decision_id": str(record.id), "why": record.why, "kind": record.kind.value}
    hand_over(
        session,
        scope,
        lead,
        owner_id=record.assignee_id,
        team_id=record.team_id,
        reason=reason,
        explanation=explanation,
    )
