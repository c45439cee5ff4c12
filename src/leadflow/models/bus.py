"""The outbox (the bus's queue in the `db` transport) and the record of which handler ran for which message."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.kit.orm import Base, TenantScoped, enum_column
from leadflow.kit.time import utcnow


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"


class OutboxMessage(Base, TenantScoped):
    """A domain event written in the transaction that caused it, delivered at least once to its handlers."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_available", "status", "available_at"),)

    event_name: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_until: Mapped[datetime | None]
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    dead_at: Mapped[datetime | None]


class HandlerRun(Base, TenantScoped):
    """One handler finished one message: written in the handler's own transaction, so it never runs twice."""

    __tablename__ = "handler_runs"
    __table_args__ = (UniqueConstraint("tenant_id", "message_id", "handler"),)

    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    handler: Mapped[str] = mapped_column(String(128))
    finished_at: Mapped[datetime | None]
