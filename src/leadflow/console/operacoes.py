"""Operações: the bus queues and their lag, dead letters with retry, rejected input with its reasons, and the
replay of conversions through the current rules (a dry run that shows the diff, then the same request applied)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.capture import service as capture
from leadflow.capture.schemas import RejectedEventRead
from leadflow.console.auth import ConsolePage, ManagerPage
from leadflow.console.web import ConsoleRoute, render
from leadflow.kit.errors import ValidationFailed
from leadflow.kit.time import utcnow
from leadflow.kit.web import DbSession
from leadflow.ops import service as ops
from leadflow.ops.schemas import DeadLetterRead
from leadflow.pipeline import replay
from leadflow.pipeline.schemas import ReplayReport, ReplayRequest

router = APIRouter(prefix="/app/operacoes", route_class=ConsoleRoute, include_in_schema=False)


async def _render(
    request: Request,
    page: ConsolePage,
    session: AsyncSession,
    *,
    report: ReplayReport | None = None,
    asked: dict[str, str] | None = None,
) -> Response:
    queues = await ops.queue_depths(session, page.scope)
    dead, _ = await ops.list_dead_letters(session, page.scope, cursor=None, limit=50)
    rejected, _ = await capture.list_rejected_events(
        session,
        page.scope,
        cursor=None,
        limit=20,
        failure_type=None,
        source=None,
        message_id=None,
        received_from=None,
        received_to=None,
    )
    return render(
        request,
        "operacoes.html",
        page=page,
        nav="operacoes",
        queues=queues,
        dead=[DeadLetterRead.model_validate(m) for m in dead],
        rejected=[RejectedEventRead.model_validate(r) for r in rejected],
        report=report,
        asked=asked or {},
    )


@router.get("")
async def operations(request: Request, page: ManagerPage, session: DbSession) -> Response:
    return await _render(request, page, session)


@router.post("/dead-letters/{message_id}/retry")
async def retry_dead_letter(message_id: uuid.UUID, page: ManagerPage, session: DbSession) -> Response:
    await ops.retry_dead_letter(session, page.scope, message_id=message_id)
    return RedirectResponse("/app/operacoes", status_code=303)


@router.post("/dead-letters/retry")
async def retry_all(page: ManagerPage, session: DbSession) -> Response:
    await ops.retry_all_dead_letters(session, page.scope)
    return RedirectResponse("/app/operacoes", status_code=303)


def _day_start(value: str, zone: ZoneInfo, *, next_day: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value) + timedelta(days=1 if next_day else 0)
    except ValueError as exc:
        raise ValidationFailed("give dates as YYYY-MM-DD") from exc
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


@router.post("/replay")
async def run_replay(
    request: Request,
    page: ManagerPage,
    session: DbSession,
    received_from: Annotated[str, Form(max_length=10)] = "",
    received_to: Annotated[str, Form(max_length=10)] = "",
    source: Annotated[str, Form(max_length=32)] = "",
    apply: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Without ``apply`` a dry run (nothing changes); with it the same request for real."""
    zone = ZoneInfo(page.time_zone)
    body = ReplayRequest(
        received_from=_day_start(received_from, zone),
        received_to=_day_start(received_to, zone, next_day=True),
        source=source or None,
        dry_run=apply != "true",
    )
    report = await replay.replay(session, page.scope, request=body, now=utcnow())
    asked = {"received_from": received_from, "received_to": received_to, "source": source}
    return await _render(request, page, session, report=report, asked=asked)
