from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.kit.orm import Base, TenantScoped, enum_column


class ApiKeyKind(StrEnum):
    SECRET = "secret"  # server-to-server, with scopes; never shown again after creation
    WRITE = "write"  # public, for a site's t.js and forms: may only post events, from allowed origins


class ApiKey(Base, TenantScoped):
    __tablename__ = "api_keys"
    __audited__ = True
    __secret_fields__ = frozenset({"key_hash"})
    __audit_exclude__ = frozenset({"last_used_at"})

    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[ApiKeyKind] = mapped_column(enum_column(ApiKeyKind, "api_key_kind"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[str]] = mapped_column(default=list)
    allowed_origins: Mapped[list[str]] = mapped_column(default=list)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class RefreshToken(Base, TenantScoped):
    """One link of a rotating refresh-token family; presenting a used link revokes the family."""

    __tablename__ = "refresh_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
