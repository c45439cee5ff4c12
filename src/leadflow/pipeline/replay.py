"""Replay: run logged conversions through the current rules again. A dry run reports what would change on each
lead (tags, score, temperature, owner); applying changes exactly that, records a decision carrying the rule-set
version, and publishes ``lead.assigned`` only for leads whose owner changed. The event log is never touched."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.capture.repository import FormRepository
from leadflow.capture.sealing import OpenedEvent, open_events
from leadflow.kit.scope import Scope
from leadflow.lead.repository import LeadRepository
from leadflow.models import Event, Lead, LeadStatus, Temperature
from leadflow.models.pipeline import ConversionKind, DecisionKind
from leadflow.pipeline.intake import read_submission
from leadflow.pipeline.repository import ConversionRepository, DecisionRepository, LoggedEventRepository
from leadflow.pipeline.roleta import RoutingState
from leadflow.pipeline.routing import (
    Roster,
    decide,
    hand_over_as_decided,
    load_roster,
    record_decision,
    routing_request,
)
from leadflow.pipeline.rules import RuleSet, RulesOutcome, run_rules
from leadflow.pipeline.rulesets import active_rule_set
from leadflow.pipeline.schemas import LeadChange, ReplayReport, ReplayRequest
from leadflow.pipeline.service import Listing, conversion_facts, start_sla_clock, tenant_time_zone
from leadflow.property.service import listing_broker_of


@dataclass(frozen=True, slots=True)
class _Context:
    rule_set: RuleSet
    time_zone: str
    now: datetime
    apply: bool
    # Leads this replay handed to each (team, broker): replay decisions stay out of the day's cycle, but within
    # one replay the roleta must still take turns.
    handed: dict[tuple[uuid.UUID, uuid.UUID], int] = field(default_factory=dict)


async def replay(session: AsyncSession, scope: Scope, *, request: ReplayRequest, now: datetime) -> ReplayReport:
    context = _Context(await active_rule_set(session), await tenant_time_zone(session, scope), now, not request.dry_run)
    events_repo = LoggedEventRepository(session)
    stmt = events_repo.conversions(
        received_from=request.received_from, received_to=request.received_to, source=request.source
    )
    events = list(await events_repo.all(stmt.limit(request.limit)))
    conversions = await ConversionRepository(session).of_events([event.id for event in events])
    opened = dict(zip([event.id for event in events], await open_events(session, scope, events), strict=True))
    changes: list[LeadChange] = []
    for event in events:
        conversion = conversions.get(event.id)
        if conversion is None or conversion.kind is not ConversionKind.CREATED:
            continue  # not processed yet (the worker will) or a re-conversion, which never placed the lead
        lead = await LeadRepository(session).get(conversion.lead_id)
        if lead is None or lead.status is not LeadStatus.OPEN:
            continue
        change = await _replay_one(session, scope, event, opened[event.id], lead, context)
        if change:
            changes.append(LeadChange(event_id=event.id, lead_id=lead.id, changes=change))
    return ReplayReport(
        dry_run=request.dry_run,
        rule_set_version=context.rule_set.version,
        events_considered=len(events),
        leads_changed=len(changes),
        changes=changes,
    )


async def _replay_one(
    session: AsyncSession, scope: Scope, event: Event, opened: OpenedEvent, lead: Lead, context: _Context
) -> dict[str, Any]:
    submission = read_submission(event, opened)
    form = await FormRepository(session).by_key(submission.form_key) if submission.form_key else None
    facts = conversion_facts(submission, form, Listing(form, lead.property_id, lead.development_id))
    outcome = run_rules(context.rule_set, facts, now=event.occurred_at, tz=context.time_zone)
    before = await _previous_outcome(session, lead)
    change = _field_changes(lead, before, outcome)
    owner = await _owner_change(session, scope, lead, before, outcome, facts, context)
    if owner:
        change["owner"] = owner
    if change and context.apply:
        _apply_fields(lead, change)
        if "owner" not in change:
            record_decision(
                session,
                lead,
                kind=DecisionKind.REPLAY,
                decision=None,
                outcome=outcome,
                team_id=lead.team_id,
                event_id=event.id,
                why=f"replay under rule set v{outcome.rule_set_version}: owner unchanged",
            )
    return change


async def _previous_outcome(session: AsyncSession, lead: Lead) -> RulesOutcome:
    """What the rules said last time (first routing or last replay); nothing known reads as "no rule matched"."""
    for record in reversed(list(await DecisionRepository(session).of_lead(lead.id))):
        if record.kind in (DecisionKind.NEW_LEAD, DecisionKind.REPLAY) and record.rules:
            try:
                return RulesOutcome.model_validate(record.rules)
            except ValidationError:
                break
    return RulesOutcome(rule_set_version=0)


def _field_changes(lead: Lead, before: RulesOutcome, after: RulesOutcome) -> dict[str, Any]:
    """Only what the rules own changes: tags they added, their share of the score, the temperature they set."""
    change: dict[str, Any] = {}
    added = [tag for tag in after.tags if tag not in before.tags and tag not in lead.tags]
    removed = [tag for tag in before.tags if tag not in after.tags and tag in lead.tags]
    if added or removed:
        change["tags"] = {"add": added, "remove": removed}
    score = max(0, min(100, lead.score - before.score_delta + after.score_delta))
    if score != lead.score:
        change["score"] = {"from": lead.score, "to": score}
    temperature = after.settings.temperature
    current = lead.temperature.value if lead.temperature else None
    if temperature and temperature in set(Temperature) and temperature != current:
        change["temperature"] = {"from": current, "to": temperature}
    return change


async def _owner_change(
    session: AsyncSession,
    scope: Scope,
    lead: Lead,
    before: RulesOutcome,
    after: RulesOutcome,
    facts: dict[str, Any],
    context: _Context,
) -> dict[str, Any] | None:
    """A lead is re-routed only when the rules now name another group; then the roleta picks within it."""
    if after.route_group == before.route_group or lead.team_id is None:
        return None
    captador = await listing_broker_of(session, scope, property_id=lead.property_id)
    roster = await load_roster(session, lead.team_id, now=context.now, tz=context.time_zone, listing_broker_id=captador)
    if roster is None or _still_fits(roster, lead, after.route_group):
        return None
    roster = _counting_this_replay(roster, context)
    decision = decide(roster, routing_request(lead, after, facts, captador), now=context.now, tz=context.time_zone)
    if decision.assignee_id is None or decision.assignee_id == lead.owner_id:
        return None
    handed = (roster.team.id, decision.assignee_id)
    context.handed[handed] = context.handed.get(handed, 0) + 1
    change = {
        "from": str(lead.owner_id) if lead.owner_id else None,
        "to": str(decision.assignee_id),
        "group": {"from": before.route_group, "to": after.route_group},
        "why": decision.why,
    }
    if context.apply:
        record = record_decision(
            session,
            lead,
            kind=DecisionKind.REPLAY,
            decision=decision,
            outcome=after,
            team_id=lead.team_id,
            event_id=None,
        )
        await hand_over_as_decided(session, scope, lead, record, reason="replay")
        if lead.first_responded_at is None:  # the new owner gets a fresh deadline, like any routed lead
            start_sla_clock(session, lead, minutes=after.sla_minutes or roster.team.sla_minutes, now=context.now)
    return change


def _still_fits(roster: Roster, lead: Lead, group: str | None) -> bool:
    """The owner already is who the rules ask for now (in the named group, or on the team when none is named):
    handing the lead to a peer would only reshuffle it."""
    owner = next((c for c in roster.candidates if c.user_id == lead.owner_id), None)
    return owner is not None and (group is None or group in owner.groups)


def _counting_this_replay(roster: Roster, context: _Context) -> Roster:
    counts = dict(roster.state.assignments)
    for (team_id, user_id), handed in context.handed.items():
        if team_id == roster.team.id:
            counts[user_id] = counts.get(user_id, 0) + handed
    return replace(roster, state=RoutingState(assignments=counts))


def _apply_fields(lead: Lead, change: dict[str, Any]) -> None:
    if "tags" in change:
        kept = [tag for tag in lead.tags if tag not in change["tags"]["remove"]]
        lead.tags = kept + [tag for tag in change["tags"]["add"] if tag not in kept]
    if "score" in change:
        lead.score = change["score"]["to"]
    if "temperature" in change:
        lead.temperature = Temperature(change["temperature"]["to"])
