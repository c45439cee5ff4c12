"""The Painel: the manager's figures for a period and a team, as readable bars (server-rendered, no chart library)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.console import kpis
from leadflow.console.auth import ConsolePage, ManagerPage
from leadflow.console.web import ConsoleRoute, render, t
from leadflow.kit.time import utcnow
from leadflow.kit.web import DbSession
from leadflow.user import service as users

router = APIRouter(prefix="/app", route_class=ConsoleRoute, include_in_schema=False)
DEFAULT_DAYS = 30


def _parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _parse_id(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def period_filters(request: Request, time_zone: str) -> kpis.PainelFilters:
    """The date range (inclusive days in the tenant's zone; default the last 30 days) and team of the query."""
    zone = ZoneInfo(time_zone)
    today = utcnow().astimezone(zone).date()
    last = _parse_day(request.query_params.get("to")) or today
    first = _parse_day(request.query_params.get("from")) or last - timedelta(days=DEFAULT_DAYS - 1)
    first, last = min(first, last), max(first, last)
    start = datetime.combine(first, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return kpis.PainelFilters(created_from=start, created_to=end, team_id=_parse_id(request.query_params.get("team")))


async def render_painel(request: Request, page: ConsolePage, session: AsyncSession, *, nav: str) -> Response:
    filters = period_filters(request, page.time_zone)
    figures = await kpis.painel(
        session, filters=filters, unknown=t(page.locale, "(not set)"), unassigned=t(page.locale, "(unassigned)")
    )
    teams, _ = await users.list_teams(session, page.scope, cursor=None, limit=200)
    zone = ZoneInfo(page.time_zone)
    shown = {
        "from": filters.created_from.astimezone(zone).date().isoformat(),
        "to": (filters.created_to.astimezone(zone) - timedelta(days=1)).date().isoformat(),
    }
    return render(request, "painel.html", page=page, nav=nav, figures=figures, teams=teams, shown=shown)


@router.get("/painel")
async def painel(request: Request, page: ManagerPage, session: DbSession) -> Response:
    return await render_painel(request, page, session, nav="painel")
