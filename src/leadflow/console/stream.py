"""New leads and notifications without reload: a server-sent event per lead the user may see, as it arrives, one
per new notification of the user, and the count of their unread ones.

Each open console page holds one EventSource. The stream polls the lead list (the same service and visibility as
every page: a broker hears of their own leads only) every few seconds in a short session of its own, so it holds
no database connection between polls and works the same with one process or many. It ends after a few minutes
and the browser reconnects by itself, resuming after the ``Last-Event-ID`` it saw (no lead is missed between).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from leadflow.console.auth import Page
from leadflow.console.notificacoes import notice_text
from leadflow.console.web import ConsoleRoute, t
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.lead import service as leads
from leadflow.lead.schemas import LeadFilters, LeadRead, LeadSort
from leadflow.models import Notification
from leadflow.notification import service as notices

router = APIRouter(prefix="/app", route_class=ConsoleRoute, include_in_schema=False)
POLL_SECONDS = 3.0
STREAM_SECONDS = 300.0  # then the browser reconnects (EventSource does so by itself)
BATCH = 20


def _since(request: Request) -> datetime:
    last = request.headers.get("last-event-id", "")
    try:
        return datetime.fromisoformat(last.split("|", 1)[0]) if last else utcnow()
    except ValueError:
        return utcnow()


async def leads_created_since(db: Database, scope: Scope, since: datetime) -> list[LeadRead]:
    async with db.session(scope) as session:
        filters = LeadFilters(created_from=since)
        rows, _ = await leads.list_leads(
            session, scope, filters=filters, sort=LeadSort.CREATED_ASC, cursor=None, limit=BATCH
        )
    return rows


async def notices_since(db: Database, scope: Scope, since: datetime) -> tuple[list[Notification], int]:
    """The user's notifications created after ``since`` and how many are unread (an API key has none)."""
    if scope.actor_id is None or scope.actor_type == "api_key":
        return [], 0
    async with db.session(scope) as session:
        fresh = await notices.created_since(session, scope, since=since, limit=BATCH)
        return list(fresh), await notices.unread_count(session, scope)


def _notice_events(fresh: list[Notification], unread: int, locale: str) -> str:
    out = [
        f"event: notice\ndata: {json.dumps({'text': notice_text(locale, n), 'url': '/app/notificacoes'})}\n\n"
        for n in fresh
    ]
    out.append(f"event: unread\ndata: {json.dumps({'unread': unread})}\n\n")
    return "".join(out)


def _event(lead: LeadRead, scope: Scope, locale: str) -> str:
    text = t(locale, "New lead: %(name)s", name=lead.person_name or "—")
    data = {"id": str(lead.id), "url": f"/app/leads/{lead.id}", "text": text, "mine": lead.owner_id == scope.actor_id}
    return f"id: {lead.created_at.isoformat()}|{lead.id}\nevent: lead\ndata: {json.dumps(data)}\n\n"


async def _events(request: Request, db: Database, scope: Scope, locale: str, since: datetime) -> AsyncIterator[str]:
    seen: set[str] = set()
    deadline = time.monotonic() + STREAM_SECONDS
    noticed_since = utcnow()  # notifications already there are on the page's badge count, not announced again
    yield "retry: 3000\n\n"
    while time.monotonic() < deadline and not await request.is_disconnected():
        for lead in await leads_created_since(db, scope, since):
            if str(lead.id) not in seen:  # created_from is inclusive: the last one comes back once more
                seen.add(str(lead.id))
                since = max(since, lead.created_at)
                yield _event(lead, scope, locale)
        fresh, unread = await notices_since(db, scope, noticed_since)
        noticed_since = max([noticed_since, *(n.created_at for n in fresh)])
        yield _notice_events(fresh, unread, locale)
        await asyncio.sleep(POLL_SECONDS)


@router.get("/stream")
async def stream(request: Request, page: Page) -> StreamingResponse:
    events = _events(request, request.app.state.db, page.scope, page.locale, _since(request))
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)
