"""A signed-in user's notifications (``/v1/me/notifications``); API keys have none."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from leadflow.auth.dependencies import allow
from leadflow.kit.scope import Scope
from leadflow.kit.web import DbSession, UnitOfWorkRoute
from leadflow.models import Role
from leadflow.notification import service
from leadflow.notification.schemas import MarkedRead, NotificationRead, Notifications

router = APIRouter(prefix="/v1/me/notifications", route_class=UnitOfWorkRoute, tags=["notifications"])
SignedIn = Annotated[Scope, Depends(allow(Role.OWNER, Role.MANAGER, Role.BROKER, Role.VIEWER))]


@router.get("", summary="My notifications, newest first, and how many are unread")
async def my_notifications(
    scope: SignedIn,
    session: DbSession,
    unread: Annotated[bool, Query(description="Only the unread ones")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Notifications:
    return await service.list_mine(session, scope, unread_only=unread, limit=limit)


@router.post("/read", summary="Mark all my notifications read")
async def mark_all_read(scope: SignedIn, session: DbSession) -> MarkedRead:
    return MarkedRead(marked=await service.mark_all_read(session, scope))


@router.post("/{notification_id}/read", summary="Mark one of my notifications read")
async def mark_read(notification_id: uuid.UUID, scope: SignedIn, session: DbSession) -> NotificationRead:
    return NotificationRead.model_validate(
        await service.open_notification(session, scope, notification_id=notification_id)
    )
