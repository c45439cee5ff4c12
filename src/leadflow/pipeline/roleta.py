"""Broker routing ("roleta"): who gets the lead, and why.

Order: the listing broker (captador) when the lead came for their property and they are available; then the
steps of the fallback chain (`group` named by the rules, the whole `team`, the team `manager`). Inside a step the
winner is picked by weighted fair round-robin: the available broker furthest behind their share of the cycle,
`(assignments + 1) / weight` lowest, ties broken by user id, so the same inputs always give the same broker.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time
from enum import StrEnum
from fractions import Fraction
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadflow.pipeline.rules import Weekday, local_window_contains


class RoutingStep(StrEnum):
    LISTING_BROKER = "listing_broker"
    GROUP = "group"
    TEAM = "team"
    MANAGER = "manager"


DEFAULT_FALLBACK_CHAIN: tuple[RoutingStep, ...] = (RoutingStep.GROUP, RoutingStep.TEAM, RoutingStep.MANAGER)


class SkipReason(StrEnum):
    OFF_DUTY = "off_duty"
    OUTSIDE_HOURS = "outside_hours"
    AT_CAPACITY = "at_capacity"
    NOT_IN_GROUP = "not_in_group"
    PREVIOUS_OWNER = "previous_owner"
    RESERVED_FOR_ESCALATION = "reserved_for_escalation"
    NOT_A_MANAGER = "not_a_manager"


class StepOutcome(StrEnum):
    ASSIGNED = "assigned"
    NOBODY_AVAILABLE = "nobody_available"
    NOT_APPLICABLE = "not_applicable"


class _Dto(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WorkShift(_Dto):
    """Local shift, start inclusive, end exclusive; end <= start crosses midnight (belongs to the start day)."""

    start: time = Field(examples=["08:00"])
    end: time = Field(examples=["18:00"])

    @model_validator(mode="after")
    def _not_empty(self) -> WorkShift:
        if self.start == self.end:
            raise ValueError("a shift needs different start and end")
        return self


class Candidate(_Dto):
    """A broker (or the team manager) as the roleta sees them right now."""

    user_id: UUID
    name: str = Field(examples=["Juliana Prado"])
    weight: int = Field(default=1, ge=1, examples=[2])
    capacity: int | None = Field(default=None, ge=0, description="max open leads awaiting first response")
    open_leads: int = Field(default=0, ge=0, description="open leads awaiting first response now")
    on_duty: bool = True
    working_hours: dict[Weekday, list[WorkShift]] | None = Field(
        default=None, description="per weekday in the tenant time zone; None means no schedule restriction"
    )
    groups: frozenset[str] = Field(default=frozenset(), examples=[["alto-padrao", "zona-sul", "lancamento-jardins"]])
    is_manager: bool = False


class RoutingRequest(_Dto):
    """The lead as the roleta needs it, plus what the rules asked for."""

    lead_id: UUID | None = None
    purpose: str | None = Field(default=None, examples=["venda"])
    price_cents: int | None = Field(default=None, ge=0, examples=[125_000_000])
    region: str | None = Field(default=None, examples=["Zona Sul"])
    neighbourhood: str | None = Field(default=None, examples=["Moema"])
    development_id: str | None = None
    listing_broker_id: UUID | None = None
    requested_group: str | None = Field(default=None, examples=["alto-padrao"])
    rule_id: str | None = Field(default=None, description="the rule that named the group")
    rule_set_version: int | None = None


class RoutingState(_Dto):
    """Assignments per broker in the current cycle; the caller decides when a cycle starts (e.g. daily)."""

    assignments: dict[UUID, int] = Field(default_factory=dict)

    def count(self, user_id: UUID) -> int:
        return self.assignments.get(user_id, 0)

    def after_assigning(self, user_id: UUID) -> RoutingState:
        return RoutingState(assignments={**self.assignments, user_id: self.count(user_id) + 1})


class CandidateCheck(_Dto):
    user_id: UUID
    name: str
    weight: int
    assignments_in_cycle: int
    open_leads: int
    skipped_because: SkipReason | None = None


class StepTrace(_Dto):
    step: RoutingStep
    outcome: StepOutcome
    group: str | None = None
    considered: list[CandidateCheck] = Field(default_factory=list)
    winner_id: UUID | None = None


class RoutingDecision(_Dto):
    """Who got the lead, through which step and why, with every broker considered and the new cycle state."""

    assignee_id: UUID | None
    assignee_name: str | None
    step: RoutingStep | None
    why: str = Field(examples=["round-robin in group alto-padrao: lowest (assignments + 1) / weight = 1/2"])
    rule_id: str | None = None
    rule_set_version: int | None = None
    request: RoutingRequest
    steps: list[StepTrace]
    state: RoutingState


def route(
    request: RoutingRequest,
    candidates: Sequence[Candidate],
    state: RoutingState,
    *,
    now: datetime,
    tz: str,
    fallback_chain: Sequence[RoutingStep] = DEFAULT_FALLBACK_CHAIN,
) -> RoutingDecision:
    """Pick the broker for a new lead. `candidates` is the team roster (managers flagged `is_manager`)."""
    return _route(request, candidates, state, local=_local(now, tz), chain=fallback_chain, excluded=frozenset())


def upcoming(
    candidates: Sequence[Candidate], state: RoutingState, *, now: datetime, tz: str, count: int
) -> list[RoutingDecision]:
    """Who would get the team's next ``count`` leads if they arrived now, one after the other (no rule group, no
    listing broker): each pick counts as an assignment of the cycle and as a lead awaiting first response, so
    weights and capacity show as they would play out. Stops at the first lead nobody could take."""
    decisions: list[RoutingDecision] = []
    roster = list(candidates)
    for _ in range(count):
        decision = route(RoutingRequest(), roster, state, now=now, tz=tz)
        decisions.append(decision)
        if decision.assignee_id is None:
            break
        state = decision.state
        roster = [
            c.model_copy(update={"open_leads": c.open_leads + 1}) if c.user_id == decision.assignee_id else c
            for c in roster
        ]
    return decisions


class SlaHandoff(_Dto):
    """Where a lead goes when its first-response SLA passed."""

    reroute_number: int = Field(description="1 for the first re-roleta")
    escalated_to_manager: bool
    decision: RoutingDecision


def next_on_sla_breach(
    previous_owner_ids: Sequence[UUID],
    request: RoutingRequest,
    candidates: Sequence[Candidate],
    state: RoutingState,
    *,
    now: datetime,
    tz: str,
    max_reroutes: int,
    fallback_chain: Sequence[RoutingStep] = DEFAULT_FALLBACK_CHAIN,
) -> SlaHandoff:
    """Re-roleta after an SLA breach, never back to someone who already had the lead.

    `previous_owner_ids` lists every owner so far, the original one first, so `len - 1` re-routings were done.
    After `max_reroutes` re-routings, or when no other broker is available, the lead goes to the manager.
    """
    reroute_number = len(previous_owner_ids)
    excluded = frozenset(previous_owner_ids)
    local = _local(now, tz)
    if reroute_number <= max_reroutes:
        brokers_only = [step for step in fallback_chain if step is not RoutingStep.MANAGER]
        decision = _route(request, candidates, state, local=local, chain=brokers_only, excluded=excluded)
        if decision.assignee_id is not None:
            return SlaHandoff(reroute_number=reroute_number, escalated_to_manager=False, decision=decision)
    escalation = _route(
        request.model_copy(update={"listing_broker_id": None}),
        candidates,
        state,
        local=local,
        chain=[RoutingStep.MANAGER],
        excluded=excluded,
    )
    return SlaHandoff(reroute_number=reroute_number, escalated_to_manager=True, decision=escalation)


def is_available_now(candidate: Candidate, local: datetime) -> SkipReason | None:
    """Why the broker cannot take a lead at this local moment, or None when they can."""
    if not candidate.on_duty:
        return SkipReason.OFF_DUTY
    if not _within_working_hours(candidate, local):
        return SkipReason.OUTSIDE_HOURS
    if candidate.capacity is not None and candidate.open_leads >= candidate.capacity:
        return SkipReason.AT_CAPACITY
    return None


def _local(now: datetime, tz: str) -> datetime:
    aware = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(tz))


def _within_working_hours(candidate: Candidate, local: datetime) -> bool:
    if candidate.working_hours is None:
        return True
    return any(
        local_window_contains(local, shift.start, shift.end, [day])
        for day, shifts in candidate.working_hours.items()
        for shift in shifts
    )


def _route(
    request: RoutingRequest,
    candidates: Sequence[Candidate],
    state: RoutingState,
    *,
    local: datetime,
    chain: Iterable[RoutingStep],
    excluded: frozenset[UUID],
) -> RoutingDecision:
    traces: list[StepTrace] = []
    for step in _steps_in_order(chain):
        trace = _run_step(step, request, candidates, state, local=local, excluded=excluded)
        traces.append(trace)
        if trace.winner_id is not None:
            return _assigned(request, candidates, state, trace, traces)
    return RoutingDecision(
        assignee_id=None,
        assignee_name=None,
        step=None,
        why="nobody available in any step of the fallback chain",
        rule_id=request.rule_id,
        rule_set_version=request.rule_set_version,
        request=request,
        steps=traces,
        state=state,
    )


def _steps_in_order(chain: Iterable[RoutingStep]) -> list[RoutingStep]:
    steps = [RoutingStep.LISTING_BROKER]
    steps.extend(step for step in chain if step not in steps)
    return steps


def _run_step(
    step: RoutingStep,
    request: RoutingRequest,
    candidates: Sequence[Candidate],
    state: RoutingState,
    *,
    local: datetime,
    excluded: frozenset[UUID],
) -> StepTrace:
    if step is RoutingStep.LISTING_BROKER:
        pool = [c for c in candidates if c.user_id == request.listing_broker_id and not c.is_manager]
        if not pool:
            return StepTrace(step=step, outcome=StepOutcome.NOT_APPLICABLE)
        checks = [_check(c, state, local, excluded) for c in pool]
        return _pick(step, checks, state, group=None)
    if step is RoutingStep.GROUP and request.requested_group is None:
        return StepTrace(step=step, outcome=StepOutcome.NOT_APPLICABLE)
    group = request.requested_group if step is RoutingStep.GROUP else None
    checks = [_check_for_step(step, c, state, local, excluded, group) for c in candidates]
    return _pick(step, checks, state, group=group)


def _check_for_step(
    step: RoutingStep,
    candidate: Candidate,
    state: RoutingState,
    local: datetime,
    excluded: frozenset[UUID],
    group: str | None,
) -> CandidateCheck:
    if step is RoutingStep.MANAGER:
        return _check_manager(candidate, state, excluded)
    if candidate.is_manager:
        return _checked(candidate, state, SkipReason.RESERVED_FOR_ESCALATION)
    if group is not None and group not in candidate.groups:
        return _checked(candidate, state, SkipReason.NOT_IN_GROUP)
    return _check(candidate, state, local, excluded)


def _check_manager(candidate: Candidate, state: RoutingState, excluded: frozenset[UUID]) -> CandidateCheck:
    """Escalations must land on an accountable person, so a manager's presence and capacity are not checked."""
    if not candidate.is_manager:
        return _checked(candidate, state, SkipReason.NOT_A_MANAGER)
    if candidate.user_id in excluded:
        return _checked(candidate, state, SkipReason.PREVIOUS_OWNER)
    return _checked(candidate, state, None)


def _check(candidate: Candidate, state: RoutingState, local: datetime, excluded: frozenset[UUID]) -> CandidateCheck:
    if candidate.user_id in excluded:
        return _checked(candidate, state, SkipReason.PREVIOUS_OWNER)
    return _checked(candidate, state, is_available_now(candidate, local))


def _checked(candidate: Candidate, state: RoutingState, reason: SkipReason | None) -> CandidateCheck:
    return CandidateCheck(
        user_id=candidate.user_id,
        name=candidate.name,
        weight=candidate.weight,
        assignments_in_cycle=state.count(candidate.user_id),
        open_leads=candidate.open_leads,
        skipped_because=reason,
    )


def _pick(step: RoutingStep, checks: list[CandidateCheck], state: RoutingState, *, group: str | None) -> StepTrace:
    available = [check for check in checks if check.skipped_because is None]
    if not available:
        return StepTrace(step=step, outcome=StepOutcome.NOBODY_AVAILABLE, group=group, considered=checks)
    winner = min(available, key=_fair_share_key)
    return StepTrace(step=step, outcome=StepOutcome.ASSIGNED, group=group, considered=checks, winner_id=winner.user_id)


def _fair_share_key(check: CandidateCheck) -> tuple[Fraction, UUID]:
    return Fraction(check.assignments_in_cycle + 1, check.weight), check.user_id


def _assigned(
    request: RoutingRequest,
    candidates: Sequence[Candidate],
    state: RoutingState,
    trace: StepTrace,
    traces: list[StepTrace],
) -> RoutingDecision:
    winner = next(c for c in candidates if c.user_id == trace.winner_id)
    # The captador receives leads of their own listings outside the rotation: those do not spend their turns.
    counted = trace.step is not RoutingStep.LISTING_BROKER
    return RoutingDecision(
        assignee_id=winner.user_id,
        assignee_name=winner.name,
        step=trace.step,
        why=_why(trace, winner, state),
        rule_id=request.rule_id,
        rule_set_version=request.rule_set_version,
        request=request,
        steps=traces,
        state=state.after_assigning(winner.user_id) if counted else state,
    )


def _why(trace: StepTrace, winner: Candidate, state: RoutingState) -> str:
    if trace.step is RoutingStep.LISTING_BROKER:
        return "listing broker (captador) of the property the lead came for, available"
    where = f"group {trace.group}" if trace.group else str(trace.step)
    share = Fraction(state.count(winner.user_id) + 1, winner.weight)
    available = sum(1 for check in trace.considered if check.skipped_because is None)
    return f"round-robin in {where}: lowest (assignments + 1) / weight = {share} among {available} available"


__all__ = [
    "DEFAULT_FALLBACK_CHAIN",
    "Candidate",
    "CandidateCheck",
    "RoutingDecision",
    "RoutingRequest",
    "RoutingState",
    "RoutingStep",
    "SkipReason",
    "SlaHandoff",
    "StepOutcome",
    "StepTrace",
    "WorkShift",
    "is_available_now",
    "next_on_sla_breach",
    "route",
]
