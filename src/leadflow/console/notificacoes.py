"""Notificações: the user's notices, newest first, worded in the reader's language; opening one marks it read and
follows its link; "mark all read". The stream (``console/stream.py``) announces new ones without a reload."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from leadflow.console.auth import Page
from leadflow.console.web import ConsoleRoute, render, t
from leadflow.kit.web import DbSession
from leadflow.models import Notification
from leadflow.notification import service as notices
from leadflow.notification.schemas import NotificationRead

router = APIRouter(prefix="/app", route_class=ConsoleRoute, include_in_schema=False)
SHOWN = 100


def notice_text(locale: str, notice: Notification | NotificationRead) -> str:
    """What the notice says, in the reader's language (the kinds are ``notification.service.KINDS``)."""
    params = notice.params or {}
    if notice.kind == notices.SLA_HANDED_TO_YOU:
        if params.get("escalated"):
            return t(locale, "A lead was escalated to you: no broker answered it in time.")
        return t(locale, "A lead came to you: the previous broker's first-response time ran out.")
    if notice.kind == notices.SLA_TAKEN_FROM_YOU:
        return t(locale, "A lead was passed on to another broker: its first-response time ran out.")
    if notice.kind == notices.RULE_NOTICE:
        return t(locale, "A new lead matched a rule that notifies %(target)s.", target=params.get("target", ""))
    if notice.kind == notices.WEBHOOK_ENDPOINT_DISABLED:
        return t(locale, "The partner endpoint %(url)s was disabled after failing for days.", url=params.get("url", ""))
    return notice.kind


@router.get("/notificacoes")
async def notifications_page(request: Request, page: Page, session: DbSession) -> Response:
    listed = await notices.list_mine(session, page.scope, unread_only=False, limit=SHOWN)
    shown = [(notice, notice_text(page.locale, notice)) for notice in listed.items]
    return render(request, "notificacoes.html", page=page, nav="notificacoes", notices=shown, unread=listed.unread)


@router.post("/notificacoes/{notification_id}/abrir")
async def open_notification(notification_id: uuid.UUID, page: Page, session: DbSession) -> Response:
    """Mark it read and go where it points (only to a console page: a stored link never leaves the console)."""
    notice = await notices.open_notification(session, page.scope, notification_id=notification_id)
    link = notice.link if notice.link and notice.link.startswith("/app/") else "/app/notificacoes"
    return RedirectResponse(link, status_code=303)


@router.post("/notificacoes/lidas")
async def mark_all_read(page: Page, session: DbSession) -> Response:
    await notices.mark_all_read(session, page.scope)
    return RedirectResponse("/app/notificacoes", status_code=303)
