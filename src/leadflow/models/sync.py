"""What leadflow pushed to outside systems (CRMs): one row per (provider, our entity), making pushes idempotent."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.kit.orm import Base, TenantScoped


class ExternalRef(Base, TenantScoped):
    """Our lead or person as a record of a provider. ``last_pushed_hash`` is the hash of the payload last accepted
    by the provider: a push whose payload hashes the same is skipped, so replays and duplicate events are no-ops."""

    __tablename__ = "external_refs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "provider", "entity_type", "entity_id"),
        UniqueConstraint("tenant_id", "provider", "external_type", "external_id"),
    )

    provider: Mapped[str] = mapped_column(String(32))
    entity_type: Mapped[str] = mapped_column(String(32))  # "lead", "person"
    entity_id: Mapped[uuid.UUID]
    external_type: Mapped[str] = mapped_column(String(32))  # the provider's object: "contact", "person", …
    external_id: Mapped[str] = mapped_column(String(128))
    last_pushed_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    last_pushed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_error_at: Mapped[datetime | None] = mapped_column(default=None)


class CrmConnection(Base, TenantScoped):
    """A tenant's link to one CRM (HubSpot, …): ``settings`` is shown back (field mapping), ``credentials`` is
    one JSON object sealed with the instance's key ring and bound to this row (the access token)."""

    __tablename__ = "crm_connections"
    __table_args__ = (UniqueConstraint("tenant_id", "provider"),)
    __audited__ = True
    __secret_fields__ = frozenset({"credentials"})
    __audit_exclude__ = frozenset({"last_success_at", "last_error_at", "last_error"})

    provider: Mapped[str] = mapped_column(String(32))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    credentials: Mapped[bytes] = mapped_column(LargeBinary)
    enabled: Mapped[bool] = mapped_column(default=True)
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
