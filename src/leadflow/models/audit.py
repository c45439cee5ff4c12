from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.kit import audit
from leadflow.kit.orm import Base, TenantScoped
from leadflow.kit.time import utcnow


class AuditEntry(Base, TenantScoped):
    """Append-only: who did what to which row, when, from where. Rows are never updated."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_tenant_entity", "tenant_id", "entity_type", "entity_id"),
        Index("ix_audit_log_tenant_occurred", "tenant_id", "occurred_at"),
    )

    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(32))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[uuid.UUID | None]
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    request_id: Mapped[str | None] = mapped_column(String(64))


audit.install(cast(Table, AuditEntry.__table__))
