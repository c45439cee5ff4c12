"""Per-tenant retention periods: a row overrides the defaults of ``leadflow.retention.policy``."""

from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped

from leadflow.kit.orm import Base, TenantScoped


class RetentionPolicy(Base, TenantScoped):
    """Days each kind of record is kept for one tenant; an empty column keeps the default."""

    __tablename__ = "retention_policies"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_retention_policies_tenant"),)
    __audited__ = True

    operational_days: Mapped[int | None]
    access_log_days: Mapped[int | None]
    audit_days: Mapped[int | None]
    soft_delete_grace_days: Mapped[int | None]
    # Days without activity after which a person with no won lead is anonymised; 0 turns it off.
    unconverted_lead_days: Mapped[int | None]
