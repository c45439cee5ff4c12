"""Auditoria: the tenant's audit trail, searchable (actor, entity, action, dates) and paged like the API, each
entry opening to its changes (secrets already masked when recorded), and a check of the tamper-evident chain."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from leadflow.audit import service as audit
from leadflow.audit.schemas import AuditEntryRead
from leadflow.console.auth import ConsolePage, ManagerPage
from leadflow.console.configuracoes.common import shown
from leadflow.console.web import ConsoleRoute, is_script_request, render
from leadflow.kit.errors import ValidationFailed
from leadflow.kit.web import DbSession
from leadflow.user import service as users

router = APIRouter(prefix="/app/auditoria", route_class=ConsoleRoute, include_in_schema=False)
PAGE_SIZE = 50


class AuditFilters(BaseModel):
    """The search form: blank fields are no filter; dates are whole local days."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    actor_id: uuid.UUID | None = None
    entity_type: str | None = Field(default=None, max_length=64)
    entity_id: uuid.UUID | None = None
    action: str | None = Field(default=None, max_length=32)
    since: date | None = None
    until: date | None = None


def _filters(request: Request) -> tuple[AuditFilters, dict[str, str]]:
    sent = {key: value for key in AuditFilters.model_fields if (value := request.query_params.get(key, "").strip())}
    try:
        return AuditFilters.model_validate(sent), sent
    except ValidationError as exc:
        fields = ", ".join(str(error["loc"][0]) for error in exc.errors())
        raise ValidationFailed(f"invalid filter: {fields}") from exc


def _day_start(day: date | None, zone: ZoneInfo, *, days_after: int = 0) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=days_after), time(), tzinfo=zone).astimezone(UTC)


async def _render(request: Request, page: ConsolePage, session: Any, **values: Any) -> Response:
    filters, sent = _filters(request)
    zone = ZoneInfo(page.time_zone)
    entries, next_cursor = await audit.list_entries(
        session,
        page.scope,
        actor_id=filters.actor_id,
        entity_type=filters.entity_type,
        entity_id=filters.entity_id,
        action=filters.action,
        since=_day_start(filters.since, zone),
        until=_day_start(filters.until, zone, days_after=1),  # "until" names the last day shown, inclusive
        cursor=request.query_params.get("cursor") or None,
        limit=PAGE_SIZE,
    )
    people, _ = await users.list_users(session, page.scope, role=None, q=None, cursor=None, limit=200)
    return render(
        request,
        "auditoria.html",
        page=page,
        nav="auditoria",
        entries=[AuditEntryRead.model_validate(entry) for entry in entries],
        next_cursor=next_cursor,
        sent=sent,
        people={user.id: user.name for user in people},
        show=shown,
        **values,
    )


@router.get("")
async def audit_log(request: Request, page: ManagerPage, session: DbSession) -> Response:
    return await _render(request, page, session)


@router.get("/cadeia")
async def verify_chain(request: Request, page: ManagerPage, session: DbSession) -> Response:
    """The chain check: a fragment for the page's indicator, or the whole page when asked without script."""
    report = await audit.verify_chain(session, page.scope)
    if is_script_request(request):
        return render(request, "_audit_chain.html", page=page, chain=report)
    return await _render(request, page, session, chain=report)
