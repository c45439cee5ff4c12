"""Leads: a person's opportunity in a funnel, moved through stages, assigned to brokers, listed and searched.

Every function takes ``(session, scope, *, ...)``, never commits, and finds rows through the scoped session:
another tenant's row, or a lead the actor may not see (``lead.visibility``), is simply not found (404). Every id
a body names is looked up the same way, and an unknown one is a 404 naming the field.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.outbox import enqueue
from leadflow.customfield.service import validate_custom_fields
from leadflow.kit.errors import Forbidden, NotFound, ValidationFailed, Wording, wording
from leadflow.kit.ids import new_id
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.lead.events import LeadAssigned, LeadCreated, LeadStageChanged, lead_facts
from leadflow.lead.funnel import (
    ReferencedRowNotFound,
    default_pipeline,
    ensure_default_pipelines,
    invalid,
    load_funnel,
)
from leadflow.lead.repository import (
    Contact,
    HistoryRepository,
    InterestRepository,
    LeadRepository,
    ReferenceRepository,
    StageRepository,
)
from leadflow.lead.rules import (
    Funnel,
    check_entry,
    check_move,
    first_open_stage,
    other_pipeline_refusal,
    requirements_refusal,
)
from leadflow.lead.schemas import (
    AssignmentRead,
    BulkAction,
    BulkResult,
    InterestIn,
    InterestRead,
    LeadAssign,
    LeadBulk,
    LeadCreate,
    LeadFilters,
    LeadMove,
    LeadRead,
    LeadSort,
    LeadUpdate,
    StageMoveRead,
)
from leadflow.models import (
    Development,
    Lead,
    LeadAssignment,
    LeadInterest,
    LeadStageHistory,
    LossReason,
    Person,
    Pipeline,
    Property,
    Role,
    Stage,
    Team,
    User,
)
from leadflow.person.schemas import PersonCreate
from leadflow.person.service import create_person

__all__ = [
    "LeadNotFound",
    "assign_lead",
    "bulk_update",
    "create_lead",
    "delete_lead",
    "ensure_default_pipelines",
    "get_lead",
    "get_leads",
    "lead_history",
    "list_leads",
    "mark_first_response",
    "move_lead",
    "read_lead",
    "read_leads",
    "restore_lead",
    "update_lead",
]

CUSTOM_FIELD_ENTITY = "lead"
NOT_NULL = frozenset({"score", "tags", "custom_fields", "first_touch", "last_touch"})
NEW_LEAD_DEFAULTS: dict[str, Any] = {"score": 0, "tags": [], "custom_fields": {}, "first_touch": {}, "last_touch": {}}
INTEREST_LISTS = ("property_types", "neighbourhoods", "cities")
# Who may be handed leads: a viewer reads and never works a lead.
WORKING_ROLES = frozenset({Role.OWNER, Role.MANAGER, Role.BROKER})
REFERENCES: dict[str, tuple[type[Any], str]] = {
    "person_id": (Person, "person"),
    "team_id": (Team, "team"),
    "property_id": (Property, "property"),
    "development_id": (Development, "development"),
    "loss_reason_id": (LossReason, "loss reason"),
    "pipeline_id": (Pipeline, "pipeline"),
    "stage_id": (Stage, "stage"),
}


class LeadNotFound(NotFound):
    code = "lead-not-found"
    title = "Lead not found"


def acting_user_id(scope: Scope) -> uuid.UUID | None:
    """The user behind the request; None for an API key or a background job (history names no one)."""
    return scope.actor_id if scope.actor_type == "user" else None


def manages_leads(scope: Scope) -> bool:
    """Owners, managers, ``admin`` keys and background jobs: may reassign leads in bulk."""
    if scope.actor_type == "api_key":
        return "admin" in scope.key_scopes
    if scope.actor_type != "user":
        return True
    return scope.role in (Role.OWNER.value, Role.MANAGER.value)


def _is_broker(scope: Scope) -> bool:
    return scope.actor_type == "user" and scope.role == Role.BROKER.value


def _check_may_hand_to(scope: Scope, owner_id: uuid.UUID | None) -> None:
    """A broker only takes leads themselves; whoever else may write hands a lead to anyone."""
    if _is_broker(scope) and owner_id != scope.actor_id:
        raise Forbidden(wording("a broker may only assign leads to themselves"))


# Reading


async def get_lead(session: AsyncSession, scope: Scope, *, lead_id: uuid.UUID) -> Lead:
    """A living lead the scope may see; raises LeadNotFound (404) otherwise, another tenant's included."""
    return await LeadRepository(session).get_or_raise(lead_id, error=LeadNotFound)


async def get_leads(session: AsyncSession, scope: Scope, *, lead_ids: Sequence[uuid.UUID]) -> list[Lead]:
    """The living leads among ``lead_ids`` the scope may see, in the order given; the others are left out."""
    found = await LeadRepository(session).by_ids(lead_ids)
    return [found[lead_id] for lead_id in dict.fromkeys(lead_ids) if lead_id in found]


async def read_leads(session: AsyncSession, leads: Sequence[Lead]) -> list[LeadRead]:
    """Render leads with their person's contact and their interest: two extra queries per page, not per lead."""
    contacts = await LeadRepository(session).contacts([lead.person_id for lead in leads])
    interests = await InterestRepository(session).of_leads([lead.id for lead in leads])
    return [_read(lead, contacts.get(lead.person_id, Contact()), interests.get(lead.id)) for lead in leads]


async def read_lead(session: AsyncSession, lead: Lead) -> LeadRead:
    return (await read_leads(session, [lead]))[0]


def _read(lead: Lead, contact: Contact, interest: LeadInterest | None) -> LeadRead:
    columns = {name: getattr(lead, name) for name in LeadRead.model_fields if hasattr(Lead, name)}
    return LeadRead(
        **columns,
        person_name=contact.name,
        person_phone=contact.phone,
        person_email=contact.email,
        interest=InterestRead.model_validate(interest) if interest else None,
    )


async def list_leads(
    session: AsyncSession, scope: Scope, *, filters: LeadFilters, sort: LeadSort, cursor: str | None, limit: int
) -> tuple[list[LeadRead], str | None]:
    leads = LeadRepository(session)
    rows, next_cursor = await leads.sorted_page(leads.filtered(filters), sort=sort, cursor=cursor, limit=limit)
    return await read_leads(session, rows), next_cursor


# References named in bodies


async def _referenced(session: AsyncSession, field: str, row_id: uuid.UUID) -> Any:
    model, noun = REFERENCES[field]
    row = await ReferenceRepository(session).find(model, row_id)
    if row is None:
        raise ReferencedRowNotFound(field, f"no such {noun} {row_id}")
    return row


async def _check_references(session: AsyncSession, values: dict[str, Any]) -> None:
    for name in ("team_id", "property_id", "development_id"):
        if values.get(name) is not None:
            await _referenced(session, name, values[name])


async def _working_user(session: AsyncSession, owner_id: uuid.UUID, *, field: str = "owner_id") -> User:
    user = await ReferenceRepository(session).find(User, owner_id)
    if user is None:
        raise ReferencedRowNotFound(field, f"no such user {owner_id}")
    if not user.is_active:
        raise invalid(field, f"user {user.name} is inactive")
    if user.role not in WORKING_ROLES:
        raise invalid(field, f"user {user.name} is a viewer and cannot own leads")
    return user


async def _stage_for_new_lead(
    session: AsyncSession, scope: Scope, data: LeadCreate, *, known: Funnel | None
) -> tuple[Funnel, Stage]:
    if known is not None and data.pipeline_id == known.pipeline.id:
        funnel = known
    else:
        funnel = await load_funnel(session, await _pipeline_for_new_lead(session, scope, data))
    if data.stage_id is not None:
        return funnel, await _target_stage(session, data.stage_id, funnel)
    stage = first_open_stage(funnel.stages.values())
    if stage is None:
        raise invalid("stage_id", f"pipeline {funnel.pipeline.name} has no open stage")
    return funnel, stage


async def _pipeline_for_new_lead(session: AsyncSession, scope: Scope, data: LeadCreate) -> Pipeline:
    """The pipeline named, else the named stage's, else the tenant's default."""
    if data.pipeline_id is not None:
        return await _referenced(session, "pipeline_id", data.pipeline_id)
    if data.stage_id is not None:
        stage = await _referenced(session, "stage_id", data.stage_id)
        return await _referenced(session, "pipeline_id", stage.pipeline_id)
    return await default_pipeline(session, scope)


async def _target_stage(session: AsyncSession, stage_id: uuid.UUID, funnel: Funnel) -> Stage:
    if stage_id in funnel.stages:
        return funnel.stages[stage_id]
    stage = (await StageRepository(session).by_ids([stage_id])).get(stage_id)
    if stage is None:
        raise ReferencedRowNotFound("stage_id", f"no such stage {stage_id}")
    if stage.pipeline_id != funnel.pipeline.id:
        raise other_pipeline_refusal(stage, funnel)
    raise invalid("stage_id", f"stage {stage.name} is archived")


# Creating


async def create_lead(
    session: AsyncSession,
    scope: Scope,
    *,
    data: LeadCreate,
    funnel: Funnel | None = None,
    person: Person | None = None,
    flush: bool = True,
) -> Lead:
    """Create a lead of an existing person or of one created with it, in a stage it is allowed to enter.

    Defaults: the default pipeline, its first open stage, and for a broker the broker as owner. Raises
    ReferencedRowNotFound (404 naming the field) for an id the tenant does not have, Forbidden when a broker
    assigns someone else, and a 422 naming the rule when the stage requires fields the lead lacks.

    A caller that has just loaded, in this transaction, the funnel of ``data.pipeline_id`` or the person of
    ``data.person_id`` passes them, so they are not read again (the conversion handler's hot path). With
    ``flush=False`` nothing is written yet: the caller's unit of work writes the lead with the rest (its owner and
    events included) in one flush.
    """
    owner_id = _owner_of_new_lead(scope, data)
    funnel, stage = await _stage_for_new_lead(session, scope, data, known=funnel)
    values = _lead_values(data)
    await _check_references(session, {**values, "team_id": data.team_id})
    if owner_id is not None:
        await _working_user(session, owner_id)
    values["custom_fields"] = await validate_custom_fields(
        session, scope, entity=CUSTOM_FIELD_ENTITY, values=values.get("custom_fields") or {}
    )
    # The id and tenant up front (as the flush would set them): the history row and events need them unflushed.
    lead = Lead(
        **values,
        id=new_id(),
        tenant_id=scope.tenant_id,
        owner_id=owner_id,
        team_id=data.team_id,
        pipeline_id=funnel.pipeline.id,
        stage_id=stage.id,
    )
    await _enter_first_stage(session, lead, stage, data)
    known_person = person is not None and person.id == data.person_id
    lead.person_id = person.id if person is not None and known_person else await _person_of(session, scope, data)
    LeadRepository(session).add(lead)
    if flush:
        await session.flush()
    _record_entry(session, scope, lead, from_stage_id=None, spent=None)
    if owner_id is not None or data.team_id is not None:
        _record_assignment(session, scope, lead, from_user_id=None, reason="manual", explanation={})
    if data.interest is not None:
        InterestRepository(session).add(LeadInterest(lead_id=lead.id, **_interest_values(data.interest)))
    if flush:
        await session.flush()
    enqueue(session, LeadCreated(tenant_id=lead.tenant_id, payload=lead_facts(lead)))
    return lead


def _owner_of_new_lead(scope: Scope, data: LeadCreate) -> uuid.UUID | None:
    if not _is_broker(scope):
        return data.owner_id
    owner_id = data.owner_id or scope.actor_id  # a broker's new lead is the broker's
    _check_may_hand_to(scope, owner_id)
    return owner_id


def _lead_values(data: LeadCreate | LeadUpdate, *, only_sent: bool = False) -> dict[str, Any]:
    skip = {"person_id", "person", "pipeline_id", "stage_id", "owner_id", "team_id", "interest"}
    skip |= {"loss_reason_id", "loss_note"}
    values = {k: _in_utc(v) for k, v in data.model_dump(exclude_unset=only_sent).items() if k not in skip}
    for touch in ("first_touch", "last_touch"):
        if touch in values:
            values[touch] = _touch_values(getattr(data, touch))
    if not only_sent:
        values = {**NEW_LEAD_DEFAULTS, **{k: v for k, v in values.items() if v is not None}}
        values.setdefault("utm_campaign", values["first_touch"].get("utm_campaign"))
    return values


def _in_utc(value: Any) -> Any:
    # Read back from the database as UTC: answer the same right away.
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def _touch_values(touch: BaseModel | None) -> dict[str, Any] | None:
    return None if touch is None else touch.model_dump(mode="json", exclude_none=True)


async def _enter_first_stage(session: AsyncSession, lead: Lead, stage: Stage, data: LeadCreate) -> None:
    if data.loss_reason_id is not None:
        await _referenced(session, "loss_reason_id", data.loss_reason_id)
    if (refusal := check_entry(lead, stage, loss_reason_id=data.loss_reason_id)) is not None:
        raise refusal
    lead.enter(stage, at=utcnow(), loss_reason_id=data.loss_reason_id, loss_note=data.loss_note)


async def _person_of(session: AsyncSession, scope: Scope, data: LeadCreate) -> uuid.UUID:
    if data.person_id is not None:
        person: Person = await _referenced(session, "person_id", data.person_id)
        return person.id
    assert data.person is not None
    return (await _create_person(session, scope, data.person)).id


async def _create_person(session: AsyncSession, scope: Scope, person: PersonCreate) -> Person:
    try:
        return await create_person(session, scope, data=person)
    except ValidationFailed as exc:
        # The person's fields are inside the lead body: name them as such ("person.phones.0").
        errors = [{**e, "field": f"person.{e.get('field', '')}"} for e in exc.errors or []]
        raise ValidationFailed(exc.wording, errors=errors) from exc


def _interest_values(interest: InterestIn, *, only_sent: bool = False) -> dict[str, Any]:
    values = interest.model_dump(exclude_unset=only_sent)
    if "property_types" in values:
        values["property_types"] = [str(t) for t in values["property_types"]]
    for name in INTEREST_LISTS:
        if name in values and values[name] is None:
            values[name] = []
    return values


# Changing


async def update_lead(session: AsyncSession, scope: Scope, *, lead_id: uuid.UUID, data: LeadUpdate) -> Lead:
    """Change what ``data`` sends. Emptying a field the current stage requires is the same 422 as a move."""
    lead = await get_lead(session, scope, lead_id=lead_id)
    changes = _lead_values(data, only_sent=True)
    nulls = sorted(name for name, value in changes.items() if value is None and name in NOT_NULL)
    if nulls:
        raise invalid(nulls[0], "cannot be null")
    await _check_references(session, changes)
    if "custom_fields" in changes:
        changes["custom_fields"] = await _merged_custom_fields(session, scope, lead, changes["custom_fields"])
    for name, value in changes.items():
        setattr(lead, name, value)
    stage = (await StageRepository(session).by_ids([lead.stage_id]))[lead.stage_id]
    if (refusal := requirements_refusal(lead, stage)) is not None:
        raise refusal
    if "interest" in data.model_fields_set:
        await _update_interest(session, lead, data.interest)
    return lead


async def _merged_custom_fields(
    session: AsyncSession, scope: Scope, lead: Lead, sent: dict[str, Any]
) -> dict[str, Any]:
    merged = {**lead.custom_fields, **sent}
    merged = {key: value for key, value in merged.items() if value is not None}
    return await validate_custom_fields(session, scope, entity=CUSTOM_FIELD_ENTITY, values=merged)


async def _update_interest(session: AsyncSession, lead: Lead, sent: InterestIn | None) -> None:
    repo = InterestRepository(session)
    interest = await repo.of_lead(lead.id)
    if sent is None:
        if interest is not None:
            await session.delete(interest)
        return
    values = _interest_values(sent, only_sent=True)
    if interest is None:
        repo.add(LeadInterest(lead_id=lead.id, **_interest_values(sent)))
        return
    for name, value in values.items():
        setattr(interest, name, value)
    _check_interest_ranges(interest)


def _check_interest_ranges(interest: LeadInterest) -> None:
    for low, high in (("price_min_cents", "price_max_cents"), ("area_min", "area_max")):
        low_value, high_value = getattr(interest, low), getattr(interest, high)
        if low_value is not None and high_value is not None and low_value > high_value:
            raise invalid(f"interest.{low}", f"must not exceed {high}")


async def delete_lead(session: AsyncSession, scope: Scope, *, lead_id: uuid.UUID) -> None:
    (await get_lead(session, scope, lead_id=lead_id)).deleted_at = utcnow()


async def restore_lead(session: AsyncSession, scope: Scope, *, lead_id: uuid.UUID) -> Lead:
    lead = await LeadRepository(session).get(lead_id, include_deleted=True)
    if lead is None:
        raise LeadNotFound(f"lead {lead_id} not found")
    lead.deleted_at = None
    return lead


async def mark_first_response(session: AsyncSession, scope: Scope, *, lead_id: uuid.UUID, at: datetime) -> None:
    """Record the lead's first response at ``at`` unless one is recorded already (the first one counts)."""
    lead = await get_lead(session, scope, lead_id=lead_id)
    if lead.first_responded_at is None:
        lead.first_responded_at = at.astimezone(UTC)


# Moving


async def move_lead(session: AsyncSession, scope: Scope, *, lead_id: uuid.UUID, data: LeadMove) -> Lead:
    """Move the lead to ``data.stage_id``; 422 naming the rule when the funnel refuses (see ``lead.rules``).

    Entering a won stage wins the lead, a lost stage loses it (a loss reason is required), an open stage
    reopens it. Every move is recorded with the seconds spent in the stage left. Moving to the current stage
    changes nothing.
    """
    lead = await get_lead(session, scope, lead_id=lead_id)
    funnel = await load_funnel(session, await _referenced(session, "pipeline_id", lead.pipeline_id))
    target = await _target_stage(session, data.stage_id, funnel)
    if data.loss_reason_id is not None:
        await _referenced(session, "loss_reason_id", data.loss_reason_id)
    if target.id == lead.stage_id:
        return lead
    refusal = check_move(lead, target, funnel, loss_reason_id=data.loss_reason_id)
    if refusal is not None:
        raise refusal
    _enter(session, scope, lead, target, loss_reason_id=data.loss_reason_id, loss_note=data.loss_note)
    return lead


def _enter(
    session: AsyncSession,
    scope: Scope,
    lead: Lead,
    target: Stage,
    *,
    loss_reason_id: uuid.UUID | None,
    loss_note: str | None,
) -> None:
    left = lead.stage_id
    spent = lead.enter(target, at=utcnow(), loss_reason_id=loss_reason_id, loss_note=loss_note)
    _record_entry(session, scope, lead, from_stage_id=left, spent=spent)


def _record_entry(
    session: AsyncSession, scope: Scope, lead: Lead, *, from_stage_id: uuid.UUID | None, spent: int | None
) -> None:
    assert lead.stage_entered_at is not None
    session.add(
        LeadStageHistory(
            lead_id=lead.id,
            from_stage_id=from_stage_id,
            to_stage_id=lead.stage_id,
            moved_by_id=acting_user_id(scope),
            moved_at=lead.stage_entered_at,
            seconds_in_previous=spent,
        )
    )
    if from_stage_id is not None:  # a new lead's first stage is part of lead.created
        facts = {**lead_facts(lead), "from_stage_id": str(from_stage_id), "seconds_in_previous": spent}
        enqueue(session, LeadStageChanged(tenant_id=lead.tenant_id, payload=facts))


# Assigning


async def assign_lead(session: AsyncSession, scope: Scope, *, lead_id: uuid.UUID, data: LeadAssign) -> Lead:
    """Hand the lead to ``owner_id`` (and ``team_id`` when sent); a broker may only take it themselves."""
    _check_may_hand_to(scope, data.owner_id)
    lead = await get_lead(session, scope, lead_id=lead_id)
    if data.owner_id is not None:
        await _working_user(session, data.owner_id)
    team_sent = "team_id" in data.model_fields_set
    if team_sent and data.team_id is not None:
        await _referenced(session, "team_id", data.team_id)
    team_id = data.team_id if team_sent else lead.team_id
    explanation = {"note": data.reason} if data.reason else {}
    hand_over(session, scope, lead, owner_id=data.owner_id, team_id=team_id, reason="manual", explanation=explanation)
    return lead


def hand_over(
    session: AsyncSession,
    scope: Scope,
    lead: Lead,
    *,
    owner_id: uuid.UUID | None,
    team_id: uuid.UUID | None,
    reason: str,
    explanation: dict[str, Any],
) -> bool:
    """Give the lead to ``owner_id`` (and ``team_id``): an assignment row with ``reason`` (manual, bulk, roleta,
    sla_reroute, …) and its explanation, and a ``lead.assigned`` event. False when it already was theirs."""
    if (lead.owner_id, lead.team_id) == (owner_id, team_id):
        return False
    previous = lead.owner_id
    lead.owner_id, lead.team_id = owner_id, team_id
    _record_assignment(session, scope, lead, from_user_id=previous, reason=reason, explanation=explanation)
    return True


def _record_assignment(
    session: AsyncSession,
    scope: Scope,
    lead: Lead,
    *,
    from_user_id: uuid.UUID | None,
    reason: str,
    explanation: dict[str, Any],
) -> None:
    session.add(
        LeadAssignment(
            lead_id=lead.id,
            from_user_id=from_user_id,
            to_user_id=lead.owner_id,
            team_id=lead.team_id,
            assigned_by_id=acting_user_id(scope),
            assigned_at=utcnow(),
            reason=reason,
            explanation=explanation,
        )
    )
    facts = {**lead_facts(lead), "from_user_id": None if from_user_id is None else str(from_user_id), "reason": reason}
    enqueue(session, LeadAssigned(tenant_id=lead.tenant_id, payload=facts))


async def lead_history(
    session: AsyncSession, scope: Scope, *, lead_id: uuid.UUID
) -> list[StageMoveRead | AssignmentRead]:
    """The lead's stage moves and assignments, oldest first (the paginated everything-view is the timeline)."""
    lead = await get_lead(session, scope, lead_id=lead_id)
    history = HistoryRepository(session)
    moves, assignments = await history.stage_moves(lead.id), await history.assignments(lead.id)
    names = {s.id: s.name for s in (await StageRepository(session).by_ids(_stage_ids(moves))).values()}
    items: list[StageMoveRead | AssignmentRead] = [_move_read(m, names) for m in moves]
    items += [_assignment_read(a) for a in assignments]
    return sorted(items, key=lambda item: item.at)


def _stage_ids(moves: Sequence[LeadStageHistory]) -> list[uuid.UUID]:
    return [i for m in moves for i in (m.from_stage_id, m.to_stage_id) if i is not None]


def _move_read(move: LeadStageHistory, names: dict[uuid.UUID, str]) -> StageMoveRead:
    return StageMoveRead(
        at=move.moved_at,
        by_id=move.moved_by_id,
        from_stage_id=move.from_stage_id,
        from_stage_name=names.get(move.from_stage_id) if move.from_stage_id else None,
        to_stage_id=move.to_stage_id,
        to_stage_name=names.get(move.to_stage_id),
        seconds_in_previous=move.seconds_in_previous,
    )


def _assignment_read(assignment: LeadAssignment) -> AssignmentRead:
    return AssignmentRead(
        at=assignment.assigned_at,
        by_id=assignment.assigned_by_id,
        from_user_id=assignment.from_user_id,
        to_user_id=assignment.to_user_id,
        team_id=assignment.team_id,
        reason=assignment.reason,
        note=assignment.explanation.get("note"),
    )


# Bulk actions


Apply = Callable[[Lead], None]


@dataclass
class BulkPlan:
    """Checked before anything changes: the leads in the order sent, and each lead's refusal."""

    leads: list[Lead]
    errors: list[dict[str, Any]]
    reasons: dict[uuid.UUID, Wording] = field(default_factory=dict)

    def refuse(self, index: int, lead: Lead, error: ValidationFailed) -> None:
        self.errors.append({"field": f"lead_ids.{index}", "lead_id": str(lead.id), "message": error.detail})
        self.reasons[lead.id] = error.wording


class BulkRefused(ValidationFailed):
    """Some leads refuse a bulk action; ``reasons`` keeps each lead's refusal as a sentence the console
    translates (the problem body lists them in English under ``errors``)."""

    def __init__(self, plan: BulkPlan) -> None:
        refused = wording("%(count)s leads refuse this action; none changed", count=len(plan.errors))
        super().__init__(refused, errors=plan.errors)
        self.reasons = plan.reasons


async def bulk_update(session: AsyncSession, scope: Scope, *, data: LeadBulk) -> BulkResult:
    """Apply one action to every lead, or to none: a 422 lists each lead that refuses (``lead_ids.<i>``).

    Ids the actor cannot see (another broker's, another tenant's) are a 404 naming them. Reassigning is for
    owners and managers.
    """
    if data.action is BulkAction.REASSIGN and not manages_leads(scope):
        raise Forbidden(wording("only owners and managers reassign leads in bulk"))
    leads = await _visible_leads(session, data.lead_ids)
    plan = BulkPlan(leads=leads, errors=[])
    apply = await _planned_action(session, scope, data, plan)
    if plan.errors:
        raise BulkRefused(plan)
    for lead in plan.leads:
        apply(lead)
    await session.flush()
    return BulkResult(action=data.action, count=len(plan.leads), lead_ids=[lead.id for lead in plan.leads])


async def _visible_leads(session: AsyncSession, lead_ids: list[uuid.UUID]) -> list[Lead]:
    found = await LeadRepository(session).by_ids(lead_ids)
    missing = {index: lead_id for index, lead_id in enumerate(lead_ids) if lead_id not in found}
    if missing:
        raise LeadNotFound(
            f"leads not found: {', '.join(str(i) for i in missing.values())}",
            errors=[{"field": f"lead_ids.{index}", "message": f"no such lead {i}"} for index, i in missing.items()],
        )
    return [found[i] for i in lead_ids]


async def _planned_action(session: AsyncSession, scope: Scope, data: LeadBulk, plan: BulkPlan) -> Apply:
    if data.action is BulkAction.REASSIGN:
        return await _plan_reassign(session, scope, data)
    if data.action is BulkAction.MOVE:
        return await _plan_move(session, scope, data, plan)
    return _tagging(data.tags or [], add=data.action is BulkAction.TAG)


def _tagging(tags: list[str], *, add: bool) -> Apply:
    def tag(lead: Lead) -> None:
        # A new list, not an in-place change: JSON columns only notice reassignment.
        lead.tags = (
            [*lead.tags, *(t for t in tags if t not in lead.tags)] if add else [t for t in lead.tags if t not in tags]
        )

    return tag


async def _plan_reassign(session: AsyncSession, scope: Scope, data: LeadBulk) -> Apply:
    assert data.owner_id is not None
    await _working_user(session, data.owner_id)
    team_sent = "team_id" in data.model_fields_set
    if team_sent and data.team_id is not None:
        await _referenced(session, "team_id", data.team_id)

    def reassign(lead: Lead) -> None:
        team_id = data.team_id if team_sent else lead.team_id
        hand_over(session, scope, lead, owner_id=data.owner_id, team_id=team_id, reason="bulk", explanation={})

    return reassign


async def _plan_move(session: AsyncSession, scope: Scope, data: LeadBulk, plan: BulkPlan) -> Apply:
    assert data.stage_id is not None
    target = (await StageRepository(session).by_ids([data.stage_id])).get(data.stage_id)
    if target is None:
        raise ReferencedRowNotFound("stage_id", f"no such stage {data.stage_id}")
    if not target.is_active:
        raise invalid("stage_id", f"stage {target.name} is archived")
    if data.loss_reason_id is not None:
        await _referenced(session, "loss_reason_id", data.loss_reason_id)
    funnels = await _funnels_of(session, plan.leads)
    for index, lead in enumerate(plan.leads):
        if lead.stage_id == target.id:
            continue
        refusal = check_move(lead, target, funnels[lead.pipeline_id], loss_reason_id=data.loss_reason_id)
        if refusal is not None:
            plan.refuse(index, lead, refusal)

    def move(lead: Lead) -> None:
        if lead.stage_id != target.id:
            _enter(session, scope, lead, target, loss_reason_id=data.loss_reason_id, loss_note=None)

    return move


async def _funnels_of(session: AsyncSession, leads: Sequence[Lead]) -> dict[uuid.UUID, Funnel]:
    pipeline_ids = {lead.pipeline_id for lead in leads}
    pipelines = [await _referenced(session, "pipeline_id", pipeline_id) for pipeline_id in pipeline_ids]
    return {p.id: await load_funnel(session, p) for p in pipelines}
