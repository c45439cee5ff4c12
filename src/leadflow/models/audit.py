from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, Index, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.kit import audit
from leadflow.kit.orm import Base, TenantScoped
from leadflow.kit.time import utcnow


class AuditEntry(Base, TenantScoped):
    """Append-only: who did what to which row, when, from where. Rows are never updated.

    Each tenant's entries form a hash chain: ``seq`` counts them from 1, ``prev_hash`` is the previous entry's
    ``hash``, and ``hash`` is the SHA-256 of this entry's fields and ``prev_hash`` (see ``kit/audit.py``).
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_tenant_entity", "tenant_id", "entity_type", "entity_id"),
        Index("ix_audit_log_tenant_occurred", "tenant_id", "occurred_at"),
        # Two writers can never give two entries the same place in a chain: a fork fails instead.
        UniqueConstraint("tenant_id", "seq", name="uq_audit_log_tenant_seq"),
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
    # The hash covers ``changes_hash``, not ``changes``: personal values in ``changes`` can be redacted (LGPD
    # anonymisation) while the chain still holds; ``redacted_at`` says so, and verify reports it.
    changes_hash: Mapped[str | None] = mapped_column(String(64))
    redacted_at: Mapped[datetime | None]
    seq: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(Base, TenantScoped):
    """The newest link of a tenant's audit chain. Writers lock this row, so appends to one chain never fork, and
    ``leadflow audit verify`` compares it with the last entry, so cutting off the newest entries shows."""

    __tablename__ = "audit_chain_heads"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_audit_chain_heads_tenant"),)

    last_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_hash: Mapped[str | None] = mapped_column(String(64))


class AccessLogEntry(Base, TenantScoped):
    """Marco Civil art. 15: who reached the API when and from which address; kept 6 months, then purged.

    One row per authenticated request (users and secret keys), never per query. Ingestion with public write keys
    is not logged here: it stores its own ``ip`` with each event.
    """

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_tenant_at", "tenant_id", "at"),)

    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    route: Mapped[str] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(64))


audit.install(cast(Table, AuditEntry.__table__), heads=cast(Table, AuditChainHead.__table__))
