"""Leads: the list with the API's filters, and the lead page (one timeline of the whole journey, quick actions).

Every action calls the same service the API endpoint calls; a refusal (a transition not allowed, a missing loss
reason, …) is shown with the service's own explanation.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from leadflow.activity import service as activities
from leadflow.activity import timeline
from leadflow.activity.schemas import InteractionCreate, TaskCreate
from leadflow.console.auth import Page
from leadflow.console.web import ConsoleRoute, is_script_request, render
from leadflow.kit.errors import ValidationFailed
from leadflow.kit.web import DbSession
from leadflow.lead import funnel
from leadflow.lead import service as leads
from leadflow.lead.schemas import LeadAssign, LeadFilters, LeadMove, LeadSort
from leadflow.models import Direction, InteractionChannel, LeadStatus, Role, Temperature
from leadflow.pipeline import service as routing
from leadflow.user import service as users

router = APIRouter(prefix="/app", route_class=ConsoleRoute, include_in_schema=False)
PAGE_SIZE = 50
FILTER_KEYS = tuple(LeadFilters.model_fields)
LOGGABLE = (InteractionChannel.CALL, InteractionChannel.WHATSAPP, InteractionChannel.EMAIL, InteractionChannel.NOTE)


def optional_id(value: str, field: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError as exc:
        raise ValidationFailed(f"{field}: not an id") from exc


def lead_filters(request: Request) -> tuple[LeadFilters, dict[str, str]]:
    """The API's filters from the query string; blank fields are no filter. Invalid values are refused (422)."""
    sent = {key: value for key in FILTER_KEYS if (value := request.query_params.get(key, "").strip())}
    try:
        return LeadFilters.model_validate(sent), sent
    except ValidationError as exc:
        fields = ", ".join(str(error["loc"][0]) for error in exc.errors())
        raise ValidationFailed(f"invalid filter: {fields}") from exc


async def _people(session: Any, page: Any) -> list[Any]:
    team, _ = await users.list_users(session, page.scope, role=None, q=None, cursor=None, limit=200)
    return [user for user in team if user.is_active and user.role is not Role.VIEWER]


@router.get("/leads")
async def list_leads(request: Request, page: Page, session: DbSession, cursor: str | None = None) -> Response:
    filters, sent = lead_filters(request)
    rows, next_cursor = await leads.list_leads(
        session, page.scope, filters=filters, sort=LeadSort.CREATED_DESC, cursor=cursor, limit=PAGE_SIZE
    )
    pipelines = await funnel.read_pipelines(session, await funnel.list_pipelines(session, page.scope))
    stages = {stage.id: stage for pipeline in pipelines for stage in pipeline.stages}
    people = {user.id: user.name for user in await _people(session, page)}
    return render(
        request,
        "leads.html",
        page=page,
        nav="leads",
        leads=rows,
        next_cursor=next_cursor,
        sent=sent,
        pipelines=pipelines,
        stages=stages,
        people=people,
        statuses=list(LeadStatus),
        temperatures=list(Temperature),
    )


def _journey(lead: Any, items: list[Any], decisions: list[Any]) -> list[dict[str, Any]]:
    """One timeline, newest first: the timeline service's items, the routing decisions and the first touch."""
    entries: list[dict[str, Any]] = [
        {"kind": item.kind.value, "at": item.at, "summary": item.summary, "data": item.data} for item in items
    ]
    for decision in decisions:
        entries.append({"kind": "routing", "at": decision.decided_at, "summary": decision.why, "data": {}})
    entries.append({"kind": "created", "at": lead.created_at, "summary": lead.source or "", "data": lead.first_touch})
    return sorted(entries, key=lambda entry: entry["at"], reverse=True)


@router.get("/leads/{lead_id}")
async def lead_page(lead_id: uuid.UUID, request: Request, page: Page, session: DbSession) -> Response:
    lead = await leads.read_lead(session, await leads.get_lead(session, page.scope, lead_id=lead_id))
    items, _ = await timeline.lead_timeline(session, page.scope, lead_id=lead_id, cursor=None, limit=200)
    decisions = await routing.routing_of_lead(session, page.scope, lead_id=lead_id)
    stored = await funnel.get_pipeline(session, page.scope, pipeline_id=lead.pipeline_id)
    pipeline = await funnel.read_pipeline(session, stored)
    reasons = await funnel.list_loss_reasons(session, page.scope)
    people = await _people(session, page)
    return render(
        request,
        "lead.html",
        page=page,
        nav="leads",
        lead=lead,
        journey=_journey(lead, items, decisions),
        pipeline=pipeline,
        stage=next((s for s in pipeline.stages if s.id == lead.stage_id), None),
        reasons=reasons,
        people=people,
        owner_name={user.id: user.name for user in people}.get(lead.owner_id) if lead.owner_id else None,
        channels=LOGGABLE,
    )


def _back(lead_id: uuid.UUID, request: Request) -> Response:
    if is_script_request(request):  # the kanban's drag and drop: nothing to render
        return Response(status_code=204)
    return RedirectResponse(f"/app/leads/{lead_id}", status_code=303)


@router.post("/leads/{lead_id}/interactions")
async def log_interaction(
    lead_id: uuid.UUID,
    request: Request,
    page: Page,
    session: DbSession,
    channel: Annotated[InteractionChannel, Form()],
    direction: Annotated[Direction, Form()] = Direction.OUTBOUND,
    outcome: Annotated[str, Form(max_length=60)] = "",
    body: Annotated[str, Form(max_length=50_000)] = "",
) -> Response:
    data = InteractionCreate(
        lead_id=lead_id, channel=channel, direction=direction, outcome=outcome or None, body=body or None
    )
    await activities.log_interaction(session, page.scope, data=data)
    return _back(lead_id, request)


@router.post("/leads/{lead_id}/tasks")
async def add_task(
    lead_id: uuid.UUID,
    request: Request,
    page: Page,
    session: DbSession,
    title: Annotated[str, Form(min_length=1, max_length=200)],
    due_at: Annotated[str, Form(description="Local date and time (datetime-local)")],
) -> Response:
    try:
        due = datetime.fromisoformat(due_at).replace(tzinfo=ZoneInfo(page.time_zone))
    except ValueError as exc:
        raise ValidationFailed("due_at: give a date and time") from exc
    await activities.create_task(session, page.scope, data=TaskCreate(title=title, due_at=due, lead_id=lead_id))
    return _back(lead_id, request)


@router.post("/leads/{lead_id}/move")
async def move_lead(
    lead_id: uuid.UUID,
    request: Request,
    page: Page,
    session: DbSession,
    stage_id: Annotated[uuid.UUID, Form()],
    loss_reason_id: Annotated[str, Form()] = "",
) -> Response:
    reason = optional_id(loss_reason_id, "loss_reason_id")
    await leads.move_lead(session, page.scope, lead_id=lead_id, data=LeadMove(stage_id=stage_id, loss_reason_id=reason))
    return _back(lead_id, request)


@router.post("/leads/{lead_id}/assign")
async def assign_lead(
    lead_id: uuid.UUID,
    request: Request,
    page: Page,
    session: DbSession,
    owner_id: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    owner = optional_id(owner_id, "owner_id")
    data = LeadAssign(owner_id=owner, reason=reason or None)
    await leads.assign_lead(session, page.scope, lead_id=lead_id, data=data)
    return _back(lead_id, request)
