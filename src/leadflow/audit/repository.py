from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select

from leadflow.kit.repository import Repository
from leadflow.models import AuditEntry


class AuditRepository(Repository[AuditEntry]):
    model = AuditEntry

    def filtered(
        self,
        *,
        entity_type: str | None,
        entity_id: uuid.UUID | None,
        actor_id: uuid.UUID | None,
        action: str | None,
        since: datetime | None,
        until: datetime | None,
    ) -> Select[Any]:
        stmt = self.select()
        if entity_type:
            stmt = stmt.where(AuditEntry.entity_type == entity_type)
        if entity_id:
            stmt = stmt.where(AuditEntry.entity_id == entity_id)
        if actor_id:
            stmt = stmt.where(AuditEntry.actor_id == actor_id)
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        if since:
            stmt = stmt.where(AuditEntry.occurred_at >= since)
        if until:
            stmt = stmt.where(AuditEntry.occurred_at < until)
        return stmt
