"""What a user should see in the console: a lead that came to them after an SLA passed, a rule's notice, a
partner endpoint that was disabled."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.kit.orm import Base, TenantScoped


class Notification(Base, TenantScoped):
    """One notice for one user. ``kind`` names the message (the console words it in the reader's language),
    ``params`` fills it (ids, names, a reason), ``link`` is where it leads; ``read_at`` is set once it was seen."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_created", "tenant_id", "user_id", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    link: Mapped[str | None] = mapped_column(String(500), default=None)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
