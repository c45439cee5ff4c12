from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.kit.orm import Base, SoftDeletable, Timestamped


class Tenant(Base, Timestamped, SoftDeletable):
    """A real-estate company (imobiliária) using leadflow; every other row belongs to one."""

    __tablename__ = "tenants"
    __audited__ = True

    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64), default="America/Sao_Paulo")
    locale: Mapped[str] = mapped_column(String(16), default="pt-BR")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)


class TenantHost(Base, Timestamped):
    """A custom domain that selects its tenant (besides ``<slug>.<base domain>``)."""

    __tablename__ = "tenant_hosts"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(253), unique=True)
