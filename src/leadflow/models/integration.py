"""A tenant's connections to outside channels (WhatsApp, portals, Meta Lead Ads, …) and who writes in on them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.kit.orm import Base, TenantScoped, enum_column


class ConnectionStatus(StrEnum):
    ACTIVE = "active"  # last contact with the provider worked (or none yet)
    FAILING = "failing"  # the last call or delivery failed: see last_error


class IntegrationConnection(Base, TenantScoped):
    """One connection of a tenant to a provider, reached by ``/hooks/<provider>/<key>``.

    ``settings`` holds what may be shown (ids, base URLs); ``credentials`` the secrets (app secret, tokens,
    passwords) as one JSON object sealed with the instance's key ring, bound to this row's id: it is never logged,
    never returned by the API and never copied to another row.
    """

    __tablename__ = "integration_connections"
    __table_args__ = (
        UniqueConstraint("tenant_id", "provider", "key"),
        Index("ix_integration_connections_provider", "tenant_id", "provider"),
    )
    __audited__ = True
    __secret_fields__ = frozenset({"credentials"})
    __audit_exclude__ = frozenset({"last_success_at", "last_error_at", "last_error", "status"})

    provider: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))  # public, part of the webhook URL
    name: Mapped[str] = mapped_column(String(120))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    credentials: Mapped[bytes] = mapped_column(LargeBinary)
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    status: Mapped[ConnectionStatus] = mapped_column(
        enum_column(ConnectionStatus, "connection_status"), default=ConnectionStatus.ACTIVE
    )
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class ChannelContact(Base, TenantScoped):
    """Who wrote in on a messaging connection: the address to reply to exactly as the provider gave it (a
    WhatsApp ``wa_id`` keeps its form with or without the ninth digit), and when they last wrote (the 24-hour
    customer-service window)."""

    __tablename__ = "channel_contacts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "connection_id", "address"),
        Index("ix_channel_contacts_person", "tenant_id", "person_id"),
    )

    connection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("integration_connections.id", ondelete="CASCADE"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(200))  # wa_id, Instagram-scoped id
    user_id: Mapped[str | None] = mapped_column(String(200), default=None)  # Meta's business-scoped user id
    last_inbound_at: Mapped[datetime | None] = mapped_column(default=None)
