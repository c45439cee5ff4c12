"""The pipeline's use cases: a conversion from the event log becomes a lead (or a re-conversion of an open one),
enriched, identified, tagged and scored by the tenant's rules and routed by the roleta, with every decision kept.

One handler runs the stages in one transaction (enrich → identify → rules → route): a lead is either not there
yet or complete with its owner, its conversion and its explanation. Each stage's result is stored — the
conversion's touches and enrichment, the person's identities, the rule decisions and the roleta's trace — so the
"why" is always readable and a replay can compare.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.activity.schemas import InteractionCreate
from leadflow.activity.service import log_interaction
from leadflow.bus.outbox import enqueue
from leadflow.capture.repository import FormRepository
from leadflow.capture.sealing import open_event
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.lead.events import lead_facts
from leadflow.lead.repository import PipelineRepository
from leadflow.lead.rules import Funnel, first_open_stage
from leadflow.lead.schemas import LeadCreate, Touch
from leadflow.lead.service import create_lead, get_lead
from leadflow.models import (
    Direction,
    Event,
    IdentityKind,
    InteractionChannel,
    Lead,
    LeadConversion,
    LeadForm,
    Person,
    Pipeline,
    RoutingDecisionRecord,
    Stage,
    Temperature,
    Tenant,
)
from leadflow.models.pipeline import ConversionKind, DecisionKind
from leadflow.person.identities import IdentityValue, email_identity, phone_identity
from leadflow.person.schemas import PersonCreate
from leadflow.person.service import (
    attach_identities,
    attach_identity,
    create_person,
    find_people_by_identity,
    find_visitor,
)
from leadflow.pipeline.enrich import touch_values
from leadflow.pipeline.events import LeadReconverted, LeadSlaDue, MarketingMessageDue, RoutingNotice
from leadflow.pipeline.intake import Submission, read_submission
from leadflow.pipeline.repository import (
    ConversionRepository,
    DecisionRepository,
    LoggedEventRepository,
    OpenLeadRepository,
)
from leadflow.pipeline.routing import (
    Roster,
    decide,
    hand_over_as_decided,
    load_roster,
    record_decision,
    routing_request,
)
from leadflow.pipeline.rules import RuleSet, RulesOutcome, run_rules
from leadflow.pipeline.setup import DEFAULT_TIME_ZONE, TenantSetup, default_funnel, funnel_of, rule_set_of, tenant_setup
from leadflow.privacy.service import flag_if_suppressed, marketing_permission
from leadflow.property.service import find_property_by_reference, listing_broker_of

log = structlog.get_logger("leadflow.pipeline")


@dataclass(frozen=True, slots=True)
class Placement:
    """Where the rules put a new lead."""

    funnel: Funnel
    stage: Stage
    temperature: Temperature | None

    @property
    def pipeline(self) -> Pipeline:
        return self.funnel.pipeline


async def process_conversion(
    session: AsyncSession, scope: Scope, *, event_id: uuid.UUID, now: datetime | None = None
) -> LeadConversion | None:
    """Turn one logged conversion into a lead; a second delivery of the same event changes nothing."""
    event, done = await LoggedEventRepository(session).with_conversion(event_id)
    if done is not None:
        return done
    if event is None:  # purged from the log: a conversion made of it before still counts as done
        if (done := await ConversionRepository(session).of_event(event_id)) is not None:
            return done
        log.warning("pipeline.conversion_event_missing", event_id=str(event_id))
        return None
    moment = now or utcnow()
    submission = read_submission(event, await open_event(session, scope, event))
    form = await FormRepository(session).by_key(submission.form_key) if submission.form_key else None
    person, is_new = await _identify(session, scope, submission)
    setup = await tenant_setup(session, scope)
    funnel = await _funnel_of(session, scope, setup, form)
    # A person created a moment ago by this conversion has no lead yet: no need to look for an open one.
    open_lead = None if is_new else await OpenLeadRepository(session).latest(person.id, funnel.pipeline.id)
    if open_lead is not None:
        return await _reconvert(session, scope, open_lead, event, submission, form, now=moment)
    return await _convert(session, scope, person, event, submission, form, (setup, funnel), now=moment)


async def convert_contact(
    session: AsyncSession,
    scope: Scope,
    *,
    event: Event,
    submission: Submission,
    person: Person,
    origin: LeadForm | None,
    now: datetime,
) -> LeadConversion:
    """A conversion read by another reader than the form's (a WhatsApp message, a portal lead), for a person it
    identified itself: the same stages as a form's. ``origin`` plays the form's part (team whose roleta routes,
    pipeline, property and source) and need not be stored. Idempotent per event, like :func:`process_conversion`."""
    if (done := await ConversionRepository(session).of_event(event.id)) is not None:
        return done
    setup = await tenant_setup(session, scope)
    funnel = await _funnel_of(session, scope, setup, origin)
    open_lead = await OpenLeadRepository(session).latest(person.id, funnel.pipeline.id)
    if open_lead is not None:
        return await _reconvert(session, scope, open_lead, event, submission, origin, now=now)
    return await _convert(session, scope, person, event, submission, origin, (setup, funnel), now=now)


# Identify


async def identify(session: AsyncSession, scope: Scope, submission: Submission) -> Person:
    """The person behind a conversion: by phone or e-mail (ninth digit either way), else by the visitor's tracking
    id, else a new person. The visitor's tracking id and any new contact join the person, so their anonymous
    history and later visits show on the same timeline."""
    return (await _identify(session, scope, submission))[0]


async def _identify(session: AsyncSession, scope: Scope, submission: Submission) -> tuple[Person, bool]:
    """:func:`identify`, and whether the person is new (created by this conversion)."""
    contact = submission.contact
    known = await find_people_by_identity(session, scope, phone=contact.phone, email=contact.email)
    person = known[0] if known else None
    if person is None and submission.tracking_id:
        person = await find_visitor(session, scope, tracking_id=submission.tracking_id)
    if person is None:
        data = PersonCreate(
            name=submission.display_name,
            emails=[contact.email] if contact.email else [],
            phones=[contact.phone] if contact.phone else [],
        )
        person = await create_person(session, scope, data=data)
        await flag_if_suppressed(session, scope, person=person, identities=_identities_of(submission))
        # create_person stored the contact's e-mail and phone; only the visitor's tracking id is left to attach.
        held = [identity for identity in _identities_of(submission) if identity.kind != IdentityKind.TRACKING_ID]
        await attach_identities(session, scope, person=person, identities=_identities_of(submission), held=held)
        return person, True
    await attach_identities(session, scope, person=person, identities=_identities_of(submission))
    return person, False


async def link_visitor(session: AsyncSession, scope: Scope, *, event: Event) -> Person | None:
    """An identify call with a known e-mail or phone ties the visitor's tracking id to that person."""
    traits = _traits((await open_event(session, scope, event)).payload)
    if not event.tracking_id or not (traits.get("email") or traits.get("phone")):
        return None
    known = await find_people_by_identity(session, scope, phone=traits.get("phone"), email=traits.get("email"))
    if not known:
        return None
    tracking = IdentityValue(IdentityKind.TRACKING_ID, event.tracking_id, event.tracking_id)
    await attach_identity(session, scope, person=known[0], identity=tracking)
    return known[0]


def _traits(payload: dict[str, Any]) -> dict[str, str]:
    traits = payload.get("traits")
    if not isinstance(traits, dict):
        context = payload.get("context")
        traits = context.get("traits") if isinstance(context, dict) else None
    if not isinstance(traits, dict):
        return {}
    return {key: value for key in ("email", "phone") if isinstance(value := traits.get(key), str)}


def _identities_of(submission: Submission) -> list[IdentityValue]:
    found = []
    if submission.contact.email:
        found.append(email_identity(submission.contact.email))
    if submission.contact.phone:
        found.append(phone_identity(submission.contact.phone))
    if submission.tracking_id:
        found.append(IdentityValue(IdentityKind.TRACKING_ID, submission.tracking_id, submission.tracking_id))
    return found


# Converting


async def _convert(
    session: AsyncSession,
    scope: Scope,
    person: Person,
    event: Event,
    submission: Submission,
    form: LeadForm | None,
    setup_and_funnel: tuple[TenantSetup, Funnel],
    *,
    now: datetime,
) -> LeadConversion:
    setup, funnel = setup_and_funnel
    time_zone = setup.time_zone
    rule_set = await rule_set_of(session, setup)
    listing = await listing_of(session, scope, submission, form)
    facts = conversion_facts(submission, form, listing)
    outcome = await _marketing_decided(session, scope, person, run_rules(rule_set, facts, now=now, tz=time_zone))
    placement = await _placement(session, setup, funnel, outcome)
    team_id = form.team_id if form else None
    # Everything read before anything is written: the lead, its conversion, the roleta's decision, the assignment
    # and their events then go to the database together, in one flush (no insert-then-update of the owner).
    context = await routing_context(
        session, scope, team_id=team_id, property_id=listing.property_id, now=now, tz=time_zone
    )
    data = _new_lead(person, submission, placement, outcome, listing)
    lead = await create_lead(session, scope, data=data, funnel=placement.funnel, person=person, flush=False)
    conversion = _record_conversion(session, lead, event, submission, form, ConversionKind.CREATED)
    await route_new_lead(
        session,
        scope,
        lead,
        outcome,
        facts,
        team_id=team_id,
        event_id=event.id,
        now=now,
        tz=time_zone,
        context=context,
    )
    for target in outcome.notify:
        enqueue(session, RoutingNotice(tenant_id=lead.tenant_id, payload={**lead_facts(lead), "notify": target}))
    for message in outcome.marketing:
        if message.allowed:
            payload = {
                "lead_id": str(lead.id),
                **message.model_dump(include={"rule_id", "channel", "template", "language"}),
            }
            enqueue(session, MarketingMessageDue(tenant_id=lead.tenant_id, payload=payload))
    if submission.message:
        await _log_message(session, scope, lead, submission, form)
    return conversion


async def _marketing_decided(
    session: AsyncSession, scope: Scope, person: Person, outcome: RulesOutcome
) -> RulesOutcome:
    """Each marketing message the rules asked for, allowed or withheld by the person's consents, with why: the
    verdicts travel in the outcome, so the decision log stores them with the rules that asked (LGPD art. 7 I/IX)."""
    if not outcome.marketing:
        return outcome
    decided = []
    for message in outcome.marketing:
        permission = await marketing_permission(session, scope, person_id=person.id, channel=message.channel)
        decided.append(message.model_copy(update={"allowed": permission.allowed, "why": permission.why}))
    return outcome.model_copy(update={"marketing": decided})


@dataclass(frozen=True, slots=True)
class RoutingContext:
    """What the roleta reads for a new lead: the team's roster (None without a team) and the listing's captador."""

    roster: Roster | None
    captador: uuid.UUID | None


async def routing_context(
    session: AsyncSession,
    scope: Scope,
    *,
    team_id: uuid.UUID | None,
    property_id: uuid.UUID | None,
    now: datetime,
    tz: str,
) -> RoutingContext:
    captador = await listing_broker_of(session, scope, property_id=property_id)
    roster = await load_roster(session, team_id, now=now, tz=tz, listing_broker_id=captador) if team_id else None
    return RoutingContext(roster=roster, captador=captador)


async def route_new_lead(
    session: AsyncSession,
    scope: Scope,
    lead: Lead,
    outcome: RulesOutcome,
    facts: dict[str, Any],
    *,
    team_id: uuid.UUID | None,
    event_id: uuid.UUID | None,
    now: datetime,
    tz: str,
    context: RoutingContext | None = None,
) -> None:
    """Run the roleta of the team the lead is for, store the decision and hand the lead over (one assignment, one
    ``lead.assigned``, even when nobody was available: then it waits in the team's queue); start its SLA clock.
    ``context``: the roster, when the caller read it already (before writing the lead)."""
    if context is None:
        context = await routing_context(session, scope, team_id=team_id, property_id=lead.property_id, now=now, tz=tz)
    roster, captador = context.roster, context.captador
    if roster is None:
        record_decision(
            session,
            lead,
            kind=DecisionKind.NEW_LEAD,
            decision=None,
            outcome=outcome,
            team_id=None,
            event_id=event_id,
            why="the lead has no team: it waits in the unassigned inbox",
        )
        return
    decision = decide(roster, routing_request(lead, outcome, facts, captador), now=now, tz=tz)
    record = record_decision(
        session,
        lead,
        kind=DecisionKind.NEW_LEAD,
        decision=decision,
        outcome=outcome,
        team_id=team_id,
        event_id=event_id,
    )
    await hand_over_as_decided(session, scope, lead, record, reason="roleta")
    if decision.assignee_id is None:
        return
    start_sla_clock(session, lead, minutes=outcome.sla_minutes or roster.team.sla_minutes, now=now)


def start_sla_clock(session: AsyncSession, lead: Lead, *, minutes: int, now: datetime) -> None:
    """The owner has ``minutes`` to answer; a timer message comes due then and re-routes if nobody did."""
    lead.first_response_due_at = now + timedelta(minutes=minutes)
    payload = {**lead_facts(lead), "due_at": lead.first_response_due_at.isoformat()}
    enqueue(session, LeadSlaDue(tenant_id=lead.tenant_id, payload=payload), available_at=lead.first_response_due_at)


async def _reconvert(
    session: AsyncSession,
    scope: Scope,
    lead: Lead,
    event: Event,
    submission: Submission,
    form: LeadForm | None,
    *,
    now: datetime,
) -> LeadConversion:
    """The same person asked again while their lead is open: no duplicate lead; the new touch is kept on its own
    conversion and as the lead's last touch, and the owner is told (lead.reconverted)."""
    conversion = _record_conversion(session, lead, event, submission, form, ConversionKind.RECONVERTED)
    lead.last_touch = touch_values(submission.last_touch)
    if submission.message:
        await _log_message(session, scope, lead, submission, form)
    await session.flush()
    payload = {**lead_facts(lead), "event_id": str(event.id), "form_key": submission.form_key}
    enqueue(session, LeadReconverted(tenant_id=lead.tenant_id, payload=payload))
    return conversion


def conversion_facts(submission: Submission, form: LeadForm | None, listing: Listing | None = None) -> dict[str, Any]:
    """What rules may test: the enriched event and the lead-to-be (``event.utm_source``, ``lead.channel`` …)."""
    listing = listing or Listing(form, form.property_id if form else None, form.development_id if form else None)
    first = touch_values(submission.first_touch)
    event = {
        **first,
        "form_key": submission.form_key,
        "channel": submission.first_touch.channel,
        "last_touch_channel": submission.last_touch.channel,
        "click_ids": sorted(submission.first_touch.click_ids),
        "device_type": submission.device.device_type.value,
        "browser": submission.device.browser,
        "os": submission.device.os,
        "has_phone": submission.contact.phone is not None,
        "has_email": submission.contact.email is not None,
        "message": submission.message,
        "fields": submission.extra,
    }
    lead = {
        "source": _source(submission, form),
        "channel": submission.first_touch.channel,
        "form_key": submission.form_key,
        "property_id": str(listing.property_id) if listing.property_id else None,
        "development_id": str(listing.development_id) if listing.development_id else None,
        **{key: value for key, value in submission.extra.items() if key in INTEREST_FIELDS},
    }
    return {"event": event, "lead": lead}


INTEREST_FIELDS = frozenset({"purpose", "region", "neighbourhood", "city", "property_type"})


@dataclass(frozen=True)
class Listing:
    """What a conversion came for: the property (its captador gets the lead first) and its development."""

    form: LeadForm | None = None
    property_id: uuid.UUID | None = None
    development_id: uuid.UUID | None = None


async def listing_of(session: AsyncSession, scope: Scope, submission: Submission, form: LeadForm | None) -> Listing:
    """The property a landing page posted (`property_reference`, the most specific) if the tenant has it live,
    else the listing the form is tied to."""
    reference = submission.extra.get("property_reference")
    found = await find_property_by_reference(session, scope, reference=reference) if reference else None
    if found is not None:
        return Listing(form, found.id, found.development_id or (form.development_id if form else None))
    return Listing(form, form.property_id if form else None, form.development_id if form else None)


def _source(submission: Submission, form: LeadForm | None) -> str:
    return submission.first_touch.utm_source or (form.source if form else None) or "site"


def _new_lead(
    person: Person, submission: Submission, placement: Placement, outcome: RulesOutcome, listing: Listing
) -> LeadCreate:
    form = listing.form
    return LeadCreate(
        person_id=person.id,
        pipeline_id=placement.pipeline.id,
        stage_id=placement.stage.id,
        title=f"{form.name if form else 'Formulário do site'}: {submission.display_name}"[:200],
        temperature=placement.temperature,
        score=max(0, min(100, outcome.score_delta)),
        tags=outcome.tags,
        source=_source(submission, form)[:60],
        channel=submission.first_touch.channel,
        first_touch=Touch.model_validate(_touch(submission.first_touch)),
        last_touch=Touch.model_validate(_touch(submission.last_touch)),
        property_id=listing.property_id,
        development_id=listing.development_id,
    )


def _touch(attribution: Any) -> dict[str, Any]:
    values = touch_values(attribution)
    values.pop("referrer_host", None)
    return values


def _record_conversion(
    session: AsyncSession,
    lead: Lead,
    event: Event,
    submission: Submission,
    form: LeadForm | None,
    kind: ConversionKind,
) -> LeadConversion:
    device = submission.device
    conversion = LeadConversion(
        lead_id=lead.id,
        event_id=event.id,
        kind=kind,
        occurred_at=event.occurred_at,
        form_key=submission.form_key,
        source=_source(submission, form)[:60],
        channel=submission.first_touch.channel,
        attribution={"first_touch": _touch(submission.first_touch), "last_touch": _touch(submission.last_touch)},
        enrichment={
            "device": {"type": device.device_type.value, "browser": device.browser, "os": device.os},
            "contact_problems": [{"field": p.field, "message": p.message} for p in submission.contact.problems],
            "tracking_id": submission.tracking_id,
        },
    )
    session.add(conversion)
    return conversion


async def _log_message(
    session: AsyncSession, scope: Scope, lead: Lead, submission: Submission, form: LeadForm | None
) -> None:
    await session.flush()
    await log_interaction(
        session,
        scope,
        data=InteractionCreate(
            lead_id=lead.id,
            channel=InteractionChannel.NOTE,
            direction=Direction.INBOUND,
            subject=(f"Mensagem do formulário {form.name}" if form else "Mensagem do formulário do site")[:200],
            body=submission.message,
        ),
    )


async def _funnel_of(session: AsyncSession, scope: Scope, setup: TenantSetup, form: LeadForm | None) -> Funnel:
    """The funnel of the form's pipeline, else of the tenant's default pipeline."""
    if form is not None and form.pipeline_id is not None:
        funnel = await funnel_of(session, setup, form.pipeline_id)
        if funnel is not None:
            return funnel
    return await default_funnel(session, scope, setup)


async def _placement(session: AsyncSession, setup: TenantSetup, funnel: Funnel, outcome: RulesOutcome) -> Placement:
    """The rules' `set` action names a pipeline and stage by name; a name that is not there keeps the default."""
    settings = outcome.settings
    if settings.pipeline and (named := await PipelineRepository(session).living_named(settings.pipeline)) is not None:
        funnel = await funnel_of(session, setup, named.id) or funnel
    stage = next(
        (s for s in funnel.stages.values() if settings.stage and s.name == settings.stage and s.is_active), None
    )
    stage = stage or first_open_stage(funnel.stages.values())
    if stage is None:
        raise LookupError(f"pipeline {funnel.pipeline.name} has no open stage")
    temperature = Temperature(settings.temperature) if settings.temperature in set(Temperature) else None
    return Placement(funnel=funnel, stage=stage, temperature=temperature)


async def tenant_time_zone(session: AsyncSession, scope: Scope) -> str:
    tenant = await session.get(Tenant, scope.tenant_id)
    return tenant.time_zone if tenant is not None else DEFAULT_TIME_ZONE


async def routing_of_lead(session: AsyncSession, scope: Scope, *, lead_id: uuid.UUID) -> list[RoutingDecisionRecord]:
    """Why the lead is with whom: every decision on it, oldest first (404 for a lead the actor cannot see)."""
    lead = await get_lead(session, scope, lead_id=lead_id)
    return list(await DecisionRepository(session).of_lead(lead.id))


def preview_rules(rule_set: RuleSet, facts: dict[str, Any], *, now: datetime, tz: str) -> RulesOutcome:
    return run_rules(rule_set, facts, now=now, tz=tz)
