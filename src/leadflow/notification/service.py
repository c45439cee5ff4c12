"""In-app notifications: the bus tells a user something (a lead that came to them when another broker's first
response time ran out, a rule's ``notify``, a partner endpoint disabled after failing for days); the user reads
them in the console (and the API) and marks them read. Services never commit: the caller's transaction holds the
notice with what caused it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.kit.errors import Forbidden, NotFound
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import Notification
from leadflow.notification.repository import NotificationRepository, RecipientRepository
from leadflow.notification.schemas import NotificationRead, Notifications

# What a notification may say (the console words each one; docs/notifications.md lists their params).
SLA_HANDED_TO_YOU = "sla_handed_to_you"
SLA_TAKEN_FROM_YOU = "sla_taken_from_you"
RULE_NOTICE = "rule_notice"
WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled"
KINDS = (SLA_HANDED_TO_YOU, SLA_TAKEN_FROM_YOU, RULE_NOTICE, WEBHOOK_ENDPOINT_DISABLED)


class NotificationNotFound(NotFound):
    code = "notification-not-found"
    title = "Notification not found"


async def notify(
    session: AsyncSession, *, user_ids: Iterable[uuid.UUID], kind: str, params: dict[str, Any], link: str | None
) -> int:
    """One notification for each active user named (each once); returns how many were written."""
    assert kind in KINDS, kind
    recipients = await RecipientRepository(session).active(sorted(set(user_ids)))
    repo = NotificationRepository(session)
    for user_id in recipients:
        repo.add(Notification(user_id=user_id, kind=kind, params=params, link=link))
    return len(recipients)


def _user(scope: Scope) -> uuid.UUID:
    if scope.actor_id is None or scope.actor_type == "api_key":
        raise Forbidden("notifications belong to a signed-in user")
    return scope.actor_id


async def list_mine(session: AsyncSession, scope: Scope, *, unread_only: bool, limit: int) -> Notifications:
    user_id = _user(scope)
    repo = NotificationRepository(session)
    rows = await repo.of_user(user_id, unread_only=unread_only, limit=limit)
    return Notifications(
        items=[NotificationRead.model_validate(row) for row in rows], unread=await repo.unread_count(user_id)
    )


async def unread_count(session: AsyncSession, scope: Scope) -> int:
    return await NotificationRepository(session).unread_count(_user(scope))


async def created_since(session: AsyncSession, scope: Scope, *, since: datetime, limit: int) -> Sequence[Notification]:
    return await NotificationRepository(session).created_since(_user(scope), since, limit=limit)


async def open_notification(session: AsyncSession, scope: Scope, *, notification_id: uuid.UUID) -> Notification:
    """The user's own notification, marked read (another user's, or another tenant's, is not found)."""
    user_id = _user(scope)
    repo = NotificationRepository(session)
    found = await repo.get(notification_id)
    if found is None or found.user_id != user_id:
        raise NotificationNotFound(f"notification {notification_id} not found")
    if found.read_at is None:
        found.read_at = utcnow()
    return found


async def mark_all_read(session: AsyncSession, scope: Scope) -> int:
    return await NotificationRepository(session).mark_read(_user(scope), utcnow())
