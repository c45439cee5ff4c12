"""Leads: the list with the API's filters, and the lead page (one timeline of the whole journey, quick actions).

Every action calls the same service the API endpoint calls; a refusal (a transition not allowed, a missing loss
reason, …) is shown with the service's own explanation.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from leadflow.activity import service as activities
from leadflow.activity import timeline
from leadflow.activity.schemas import InteractionCreate, TaskCreate
from leadflow.capture import service as capture
from leadflow.console.auth import Page
from leadflow.console.web import ConsoleRoute, is_script_request, render, said
from leadflow.integrations import service as integrations
from leadflow.kit.errors import ValidationFailed, Wording
from leadflow.kit.web import DbSession
from leadflow.lead import funnel
from leadflow.lead import service as leads
from leadflow.lead.schemas import BulkAction, LeadAssign, LeadBulk, LeadFilters, LeadMove, LeadSort
from leadflow.models import Direction, Event, InteractionChannel, LeadStatus, Role, Temperature
from leadflow.person import service as persons
from leadflow.pipeline import service as routing
from leadflow.property import service as properties
from leadflow.savedview import service as savedviews
from leadflow.user import service as users

router = APIRouter(prefix="/app", route_class=ConsoleRoute, include_in_schema=False)
PAGE_SIZE = 50
FILTER_KEYS = tuple(LeadFilters.model_fields)
LOGGABLE = (InteractionChannel.CALL, InteractionChannel.WHATSAPP, InteractionChannel.EMAIL, InteractionChannel.NOTE)
# Conversations shown as messages on the timeline (the text in full, who wrote it), not as logged contacts.
MESSAGING = frozenset(
    channel.value for channel in (InteractionChannel.CHAT, InteractionChannel.WHATSAPP, InteractionChannel.INSTAGRAM)
)
PAGES_ON_TIMELINE = 100
MATCHES_SHOWN = 5


def optional_id(value: str, field: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError as exc:
        raise ValidationFailed(f"{field}: not an id") from exc


def local_datetime(value: str, field: str, zone: str) -> datetime:
    """A form's ``datetime-local`` value, in the tenant's time zone."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(zone))
    except ValueError as exc:
        raise ValidationFailed(f"{field}: give a date and time") from exc


def lead_filters(request: Request) -> tuple[LeadFilters, dict[str, str]]:
    """The API's filters from the query string; blank fields are no filter. Invalid values are refused (422)."""
    return filters_of(request.query_params)


def filters_of(params: Mapping[str, str]) -> tuple[LeadFilters, dict[str, str]]:
    sent = {key: value for key in FILTER_KEYS if (value := params.get(key, "").strip())}
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
    done = request.query_params.get("done", "")
    count = int(done) if done.isdigit() else None
    return await _list_page(request, page, session, filters, sent, cursor=cursor, done=count)


async def _list_page(
    request: Request,
    page: Any,
    session: Any,
    filters: LeadFilters,
    sent: dict[str, str],
    *,
    cursor: str | None = None,
    done: int | None = None,
    refusals: list[dict[str, Any]] | None = None,
) -> Response:
    rows, next_cursor = await leads.list_leads(
        session, page.scope, filters=filters, sort=LeadSort.CREATED_DESC, cursor=cursor, limit=PAGE_SIZE
    )
    pipelines = await funnel.read_pipelines(session, await funnel.list_pipelines(session, page.scope))
    stages = {stage.id: stage for pipeline in pipelines for stage in pipeline.stages}
    people_names = {user.id: user.name for user in await _people(session, page)}
    return render(
        request,
        "leads.html",
        status=422 if refusals else 200,
        page=page,
        nav="leads",
        leads=rows,
        next_cursor=next_cursor,
        sent=sent,
        query=urlencode(sent),
        views=await savedviews.list_views(session, page.scope),
        done=done,
        refusals=refusals or [],
        pipelines=pipelines,
        stages=stages,
        people=people_names,
        reasons=await funnel.list_loss_reasons(session, page.scope),
        statuses=list(LeadStatus),
        temperatures=list(Temperature),
    )


# Saved views: the list's filters under a name, per user.


@router.post("/leads/views")
async def save_view(
    page: Page,
    session: DbSession,
    name: Annotated[str, Form(max_length=200)] = "",
    query: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    view = await savedviews.save_view(session, page.scope, name=name, query=query)
    return RedirectResponse(f"/app/leads?{view.query}", status_code=303)


@router.post("/leads/views/{view_id}/delete")
async def delete_view(view_id: uuid.UUID, page: Page, session: DbSession) -> Response:
    await savedviews.delete_view(session, page.scope, view_id=view_id)
    return RedirectResponse("/app/leads", status_code=303)


# Bulk actions: the lead service's bulk update (all or none; its refusals listed lead by lead).


@router.post("/leads/bulk")
async def bulk_action(
    request: Request,
    page: Page,
    session: DbSession,
    action: Annotated[BulkAction, Form()],
    lead_ids: Annotated[list[uuid.UUID] | None, Form()] = None,
    owner_id: Annotated[str, Form()] = "",
    stage_id: Annotated[str, Form()] = "",
    loss_reason_id: Annotated[str, Form()] = "",
    tags: Annotated[str, Form(max_length=500)] = "",
    back: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    filters, sent = filters_of(dict(parse_qsl(back)))
    data = _bulk_request(
        action,
        lead_ids or [],
        owner_id=optional_id(owner_id, "owner_id"),
        stage_id=optional_id(stage_id, "stage_id"),
        loss_reason_id=optional_id(loss_reason_id, "loss_reason_id"),
        tags=[tag.strip() for tag in tags.split(",") if tag.strip()],
    )
    try:
        result = await leads.bulk_update(session, page.scope, data=data)
    except leads.BulkRefused as refused:
        refusals = await _refusals(session, page, refused.reasons)
        return await _list_page(request, page, session, filters, sent, refusals=refusals)
    return RedirectResponse(f"/app/leads?{urlencode({**sent, 'done': result.count})}", status_code=303)


def _bulk_request(action: BulkAction, lead_ids: list[uuid.UUID], **fields: Any) -> LeadBulk:
    if not lead_ids:
        raise ValidationFailed("select at least one lead", errors=[{"field": "lead_ids", "message": "empty"}])
    sent = {name: value for name, value in fields.items() if value}
    try:
        return LeadBulk.model_validate({"action": action, "lead_ids": lead_ids, **sent})
    except ValidationError as exc:
        raise ValidationFailed("; ".join(str(error["msg"]) for error in exc.errors())) from exc


async def _refusals(session: Any, page: Any, reasons: dict[uuid.UUID, Wording]) -> list[dict[str, Any]]:
    """Each refused lead with its name and the service's reason in the reader's language (one query for all
    the names)."""
    found = await leads.get_leads(session, page.scope, lead_ids=list(reasons))
    names = {read.id: read.person_name for read in await leads.read_leads(session, found)}
    return [
        {"id": lead_id, "name": names.get(lead_id), "reason": said(page.locale, reason)}
        for lead_id, reason in reasons.items()
    ]


def _journey(lead: Any, items: list[Any], decisions: list[Any], pages: list[Event]) -> list[dict[str, Any]]:
    """One timeline, newest first: the timeline service's items (conversations as messages), the routing
    decisions, the pages the lead's visitor viewed and the first touch."""
    entries = [_timeline_entry(item) for item in items]
    for decision in decisions:
        entries.append({"kind": "routing", "at": decision.decided_at, "summary": decision.why, "data": {}})
        entries.extend(_marketing_entries(decision))
    entries.extend(_page_entry(event) for event in pages)
    entries.append({"kind": "created", "at": lead.created_at, "summary": lead.source or "", "data": lead.first_touch})
    return sorted(entries, key=lambda entry: entry["at"], reverse=True)


def _marketing_entries(decision: Any) -> list[dict[str, Any]]:
    """The marketing messages the rules asked for with this decision: sent or withheld, and why (the consents)."""
    steps = (decision.rules or {}).get("marketing") or []
    return [
        {"kind": "marketing", "at": decision.decided_at, "summary": step.get("why") or "", "data": step}
        for step in steps
        if isinstance(step, dict)
    ]


def _timeline_entry(item: Any) -> dict[str, Any]:
    entry = {"kind": item.kind.value, "at": item.at, "summary": item.summary, "data": item.data}
    if item.kind.value == "interaction" and item.data.get("channel") in MESSAGING and item.data.get("body"):
        entry["kind"] = "message"
    return entry


def _page_entry(event: Event) -> dict[str, Any]:
    properties = event.payload.get("properties") if isinstance(event.payload, dict) else None
    title = properties.get("title") if isinstance(properties, dict) else None
    url = event.page_url or ""
    # The address comes from the visitor's browser: linked only when it is a web address.
    href = url if url.startswith(("https://", "http://")) else None
    data = {"url": url, "href": href, "referrer": event.referrer, "utm_campaign": event.utm_campaign}
    summary = title if isinstance(title, str) and title else url
    return {"kind": "page", "at": event.occurred_at, "summary": summary, "data": data}


@router.get("/leads/{lead_id}")
async def lead_page(lead_id: uuid.UUID, request: Request, page: Page, session: DbSession) -> Response:
    lead = await leads.read_lead(session, await leads.get_lead(session, page.scope, lead_id=lead_id))
    items, _ = await timeline.lead_timeline(session, page.scope, lead_id=lead_id, cursor=None, limit=200)
    decisions = await routing.routing_of_lead(session, page.scope, lead_id=lead_id)
    visitors = await persons.tracking_ids_of(session, page.scope, person_id=lead.person_id)
    pages = await capture.pages_visited(session, page.scope, tracking_ids=visitors, limit=PAGES_ON_TIMELINE)
    stored = await funnel.get_pipeline(session, page.scope, pipeline_id=lead.pipeline_id)
    pipeline = await funnel.read_pipeline(session, stored)
    reasons = await funnel.list_loss_reasons(session, page.scope)
    people = await _people(session, page)
    matches = await properties.match_properties_for_lead(session, page.scope, lead_id=lead_id, limit=MATCHES_SHOWN)
    return render(
        request,
        "lead.html",
        page=page,
        nav="leads",
        lead=lead,
        journey=_journey(lead, items, decisions, pages),
        pipeline=pipeline,
        stage=next((s for s in pipeline.stages if s.id == lead.stage_id), None),
        reasons=reasons,
        people=people,
        owner_name={user.id: user.name for user in people}.get(lead.owner_id) if lead.owner_id else None,
        channels=LOGGABLE,
        matches=matches,
        whatsapp=any(c.provider == "whatsapp" for c in await integrations.list_connections(session, page.scope)),
    )


def lead_page_back(lead_id: uuid.UUID, request: Request) -> Response:
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
    return lead_page_back(lead_id, request)


@router.post("/leads/{lead_id}/tasks")
async def add_task(
    lead_id: uuid.UUID,
    request: Request,
    page: Page,
    session: DbSession,
    title: Annotated[str, Form(min_length=1, max_length=200)],
    due_at: Annotated[str, Form(description="Local date and time (datetime-local)")],
) -> Response:
    due = local_datetime(due_at, "due_at", page.time_zone)
    await activities.create_task(session, page.scope, data=TaskCreate(title=title, due_at=due, lead_id=lead_id))
    return lead_page_back(lead_id, request)


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
    return lead_page_back(lead_id, request)


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
    return lead_page_back(lead_id, request)
