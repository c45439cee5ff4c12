"""Partner webhooks: a tenant's endpoints, each delivery (a row before it is a request) and every attempt."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.kit.orm import Base, SoftDeletable, TenantScoped, enum_column


class EndpointStatus(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"  # by a manager, or automatically after failing for days (see disabled_reason)


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # an attempt is due (first or retry)
    DELIVERED = "delivered"  # a 2xx answered
    FAILED = "failed"  # retries exhausted, or the endpoint was disabled or deleted meanwhile


class AttemptTrigger(StrEnum):
    SCHEDULED = "scheduled"
    MANUAL = "manual"  # a manager asked for a redelivery


class WebhookEndpoint(Base, TenantScoped, SoftDeletable):
    """Where a tenant wants its events POSTed. ``secret`` is the signing key sealed with the instance's key ring,
    bound to this row; while a rotation's grace period lasts, ``previous_secret`` signs too."""

    __tablename__ = "webhook_endpoints"
    __audited__ = True
    __secret_fields__ = frozenset({"secret", "previous_secret"})
    __audit_exclude__ = frozenset({"failing_since"})

    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")
    event_types: Mapped[list[str]] = mapped_column(default=list)
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    previous_secret: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[EndpointStatus] = mapped_column(
        enum_column(EndpointStatus, "webhook_endpoint_status"), default=EndpointStatus.ENABLED
    )
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
    disabled_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # Set by the first failed attempt after a success, cleared by the next success: how long it has been failing.
    failing_since: Mapped[datetime | None] = mapped_column(default=None)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class WebhookDelivery(Base, TenantScoped):
    """One event for one endpoint. ``body`` is the exact JSON sent (and signed) on every attempt; its
    ``webhook-id`` (``msg_<id>``) stays the same across retries so the partner can drop duplicates."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "endpoint_id", "event_id"),
        Index("ix_webhook_deliveries_endpoint_created", "tenant_id", "endpoint_id", "created_at"),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, "webhook_delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


class WebhookAttempt(Base, TenantScoped):
    """One try at POSTing a delivery: what the partner answered (status, a short excerpt) or how it failed."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "tenant_id", "delivery_id", "number"),)

    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    number: Mapped[int]
    trigger: Mapped[AttemptTrigger] = mapped_column(enum_column(AttemptTrigger, "webhook_attempt_trigger"))
    started_at: Mapped[datetime]
    duration_ms: Mapped[int]
    status_code: Mapped[int | None] = mapped_column(default=None)
    response_excerpt: Mapped[str | None] = mapped_column(Text, default=None)
    # timeout | connect | blocked (SSRF guard) | protocol | http (a non-2xx answer)
    error_kind: Mapped[str | None] = mapped_column(String(32), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
