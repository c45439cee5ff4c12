"""The immutable event log: what came in from sites and SDKs, and what was refused and why (ARCHITECTURE §6)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.kit.orm import Base, TenantScoped, enum_column


class EventType(StrEnum):
    TRACK = "track"
    PAGE = "page"
    SCREEN = "screen"
    IDENTIFY = "identify"
    ALIAS = "alias"
    GROUP = "group"
    FORM = "form"
    WEBHOOK = "webhook"  # a delivery from a connected provider (WhatsApp, a portal, Meta Lead Ads, …)


class FailureType(StrEnum):
    SCHEMA_VIOLATION = "schema_violation"  # valid JSON that is not a valid event
    SIZE_VIOLATION = "size_violation"  # one event over the per-event limit
    MALFORMED_JSON = "malformed_json"  # the body is not JSON at all
    AUTHENTICATION = "authentication"  # a webhook whose signature or credentials did not verify
    UNKNOWN_REFERENCE = "unknown_reference"  # a delivery naming something we do not have (a listing)


class Event(Base, TenantScoped):
    """One accepted event, stored as received with typed columns projected beside it. Never updated."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "message_id"),
        Index("ix_events_tenant_received", "tenant_id", "received_at"),
        Index("ix_events_tenant_type_received", "tenant_id", "type", "received_at"),
        Index("ix_events_tenant_tracking_received", "tenant_id", "tracking_id", "received_at"),
    )

    type: Mapped[EventType] = mapped_column(enum_column(EventType, "event_type"))
    name: Mapped[str | None] = mapped_column(String(255), default=None)  # the event name of a track call
    source: Mapped[str] = mapped_column(String(32))  # "segment", "t.js", "form"
    message_id: Mapped[str] = mapped_column(String(128))
    anonymous_id: Mapped[str | None] = mapped_column(String(255), default=None)
    user_id: Mapped[str | None] = mapped_column(String(255), default=None)
    tracking_id: Mapped[str | None] = mapped_column(String(255), default=None)
    received_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    timestamp: Mapped[datetime | None] = mapped_column(default=None)  # the client's clock
    occurred_at: Mapped[datetime]  # the client's time corrected for its clock skew
    schema_version: Mapped[int] = mapped_column(default=1)
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(512), default=None)
    payload: Mapped[dict[str, Any]] = mapped_column()
    utm_source: Mapped[str | None] = mapped_column(String(255), default=None)
    utm_medium: Mapped[str | None] = mapped_column(String(255), default=None)
    utm_campaign: Mapped[str | None] = mapped_column(String(255), default=None)
    page_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    referrer: Mapped[str | None] = mapped_column(String(2048), default=None)


class RejectedEvent(Base, TenantScoped):
    """Input that was refused, with a typed failure and the raw text as received (Snowplow's bad rows)."""

    __tablename__ = "rejected_events"
    __table_args__ = (Index("ix_rejected_events_tenant_received", "tenant_id", "received_at"),)

    received_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(32))
    failure_type: Mapped[FailureType] = mapped_column(enum_column(FailureType, "failure_type"))
    failure: Mapped[list[dict[str, Any]]] = mapped_column()  # [{"path": "batch.0.event", "message": "..."}]
    raw: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(128), default=None)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
