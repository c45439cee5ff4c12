"""First-response SLA: when the timer of a lead comes due and nobody answered, the lead goes to the next broker
(re-roleta), up to the team's limit, then to the team's manager. Every step is a stored decision, an audit entry
and a ``lead.sla_breached`` event for notifications."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.outbox import enqueue
from leadflow.kit import audit
from leadflow.kit.scope import Scope
from leadflow.kit.time import as_utc
from leadflow.lead.events import lead_facts
from leadflow.lead.repository import HistoryRepository, LeadRepository
from leadflow.models import Lead, LeadStatus, RoutingDecisionRecord
from leadflow.models.pipeline import DecisionKind
from leadflow.pipeline.events import LeadSlaBreached
from leadflow.pipeline.repository import DecisionRepository
from leadflow.pipeline.roleta import RoutingRequest, SlaHandoff
from leadflow.pipeline.routing import decide_after_breach, hand_over_as_decided, load_roster, record_decision
from leadflow.pipeline.service import start_sla_clock, tenant_time_zone

SAME_MOMENT = timedelta(seconds=1)


async def handle_sla_due(
    session: AsyncSession, scope: Scope, *, payload: dict[str, Any], now: datetime
) -> SlaHandoff | None:
    """Re-route the lead if this timer is still the lead's current one and nobody has answered it."""
    lead = await _lead(session, payload.get("lead_id"))
    if lead is None or not _still_waiting(lead, payload):
        return None
    assert lead.team_id is not None
    time_zone = await tenant_time_zone(session, scope)
    roster = await load_roster(session, lead.team_id, now=now, tz=time_zone, listing_broker_id=None)
    if roster is None:
        return None
    previous = await _owners_so_far(session, lead)
    first = await _first_decision(session, lead)
    handoff = decide_after_breach(roster, _request_of(first, lead), previous, now=now, tz=time_zone)
    kind = DecisionKind.SLA_ESCALATION if handoff.escalated_to_manager else DecisionKind.SLA_REROUTE
    record = record_decision(
        session, lead, kind=kind, decision=handoff.decision, outcome=None, team_id=lead.team_id, event_id=None
    )
    await session.flush()
    _announce_breach(session, lead, handoff, record_id=record.id)
    if handoff.decision.assignee_id is None:
        return handoff
    await hand_over_as_decided(session, scope, lead, record, reason=kind.value)
    if not handoff.escalated_to_manager:
        start_sla_clock(session, lead, minutes=_sla_minutes(first) or roster.team.sla_minutes, now=now)
    return handoff


async def _lead(session: AsyncSession, lead_id: object) -> Lead | None:
    try:
        return await LeadRepository(session).get(uuid.UUID(str(lead_id)))
    except ValueError:
        return None


def _still_waiting(lead: Lead, payload: dict[str, Any]) -> bool:
    """A timer is stale when the lead was answered, closed, handed to someone else or given a new deadline."""
    if lead.status is not LeadStatus.OPEN or lead.first_responded_at is not None or lead.team_id is None:
        return False
    if str(lead.owner_id) != str(payload.get("owner_id")) or lead.first_response_due_at is None:
        return False
    try:
        due = datetime.fromisoformat(str(payload.get("due_at")))
    except ValueError:
        return False
    return abs(lead.first_response_due_at - as_utc(due)) < SAME_MOMENT


async def _owners_so_far(session: AsyncSession, lead: Lead) -> list[uuid.UUID]:
    """Everyone who held the lead, the first owner first, so the re-roleta never hands it back to them."""
    owners: list[uuid.UUID] = []
    for assignment in await HistoryRepository(session).assignments(lead.id):
        if assignment.to_user_id is not None and assignment.to_user_id not in owners:
            owners.append(assignment.to_user_id)
    if lead.owner_id is not None and lead.owner_id not in owners:
        owners.append(lead.owner_id)
    return owners


async def _first_decision(session: AsyncSession, lead: Lead) -> RoutingDecisionRecord | None:
    records = await DecisionRepository(session).of_lead(lead.id)
    return next((record for record in records if record.kind is DecisionKind.NEW_LEAD), None)


def _request_of(first: RoutingDecisionRecord | None, lead: Lead) -> RoutingRequest:
    """The routing request of the lead's first decision (its rule group and facts), without the captador."""
    if first is not None and first.roleta.get("request"):
        try:
            request = RoutingRequest.model_validate(first.roleta["request"])
        except ValidationError:
            return RoutingRequest(lead_id=lead.id)
        return request.model_copy(update={"listing_broker_id": None})
    return RoutingRequest(lead_id=lead.id)


def _sla_minutes(first: RoutingDecisionRecord | None) -> int | None:
    """The SLA a rule gave the lead (``sla_minutes``) holds for every broker it goes to, not only the first."""
    minutes = first.rules.get("sla_minutes") if first is not None else None
    return minutes if isinstance(minutes, int) and minutes > 0 else None


def _announce_breach(session: AsyncSession, lead: Lead, handoff: SlaHandoff, *, record_id: uuid.UUID) -> None:
    facts = {
        **lead_facts(lead),
        "breached_owner_id": str(lead.owner_id) if lead.owner_id else None,
        "next_owner_id": str(handoff.decision.assignee_id) if handoff.decision.assignee_id else None,
        "reroute_number": handoff.reroute_number,
        "escalated_to_manager": handoff.escalated_to_manager,
        "routing_decision_id": str(record_id),
    }
    enqueue(session, LeadSlaBreached(tenant_id=lead.tenant_id, payload=facts))
    audit.record(
        session,
        action="lead.sla_breached",
        entity_type="leads",
        entity_id=lead.id,
        changes={"owner_id": [facts["breached_owner_id"], facts["next_owner_id"]]},
    )
