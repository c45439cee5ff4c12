from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from leadflow.audit import service
from leadflow.audit.schemas import AuditEntryRead
from leadflow.auth.dependencies import Manager
from leadflow.kit.schemas import Page
from leadflow.kit.web import DbSession, UnitOfWorkRoute

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute)


@router.get("/audit", tags=["audit"], summary="The audit trail, newest first")
async def list_audit(
    scope: Manager,
    session: DbSession,
    entity_type: Annotated[str | None, Query(max_length=64, examples=["users"])] = None,
    entity_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=32, examples=["update"])] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[AuditEntryRead]:
    entries, next_cursor = await service.list_entries(
        session,
        scope,
        entity_type=entity_type,
        entity_id=entity_id,
        actor_id=actor_id,
        action=action,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )
    return Page(items=[AuditEntryRead.model_validate(e) for e in entries], next_cursor=next_cursor)
