from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.audit.repository import AuditRepository
from leadflow.kit.scope import Scope
from leadflow.models import AuditEntry


async def list_entries(
    session: AsyncSession,
    scope: Scope,
    *,
    entity_type: str | None = None,
    entity_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[AuditEntry], str | None]:
    repo = AuditRepository(session)
    stmt = repo.filtered(
        entity_type=entity_type, entity_id=entity_id, actor_id=actor_id, action=action, since=since, until=until
    )
    return await repo.page(stmt, cursor=cursor, limit=limit, sort="occurred_at")
