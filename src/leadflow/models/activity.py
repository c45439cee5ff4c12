from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.kit.orm import Base, SoftDeletable, TenantScoped, enum_column


class InteractionChannel(StrEnum):
    CALL = "call"
    WHATSAPP = "whatsapp"
    EMAIL = "email"
    INSTAGRAM = "instagram"
    SMS = "sms"
    VISIT = "visit"
    NOTE = "note"
    CHAT = "chat"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"  # a note among the team


class VisitStatus(StrEnum):
    SCHEDULED = "agendada"
    CONFIRMED = "confirmada"
    DONE = "realizada"
    CANCELLED = "cancelada"
    NO_SHOW = "nao_compareceu"


class Interaction(Base, TenantScoped, SoftDeletable):
    """A contact with the person: a call, a WhatsApp or e-mail message, a visit, a note."""

    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_lead", "tenant_id", "lead_id", "occurred_at"),
        Index("ix_interactions_person", "tenant_id", "person_id", "occurred_at"),
        Index("ix_interactions_external", "tenant_id", "channel", "external_id"),
        Index("ix_interactions_occurred", "tenant_id", "occurred_at"),
    )
    __audited__ = True
    __secret_fields__ = frozenset({"subject", "body", "meta"})  # personal data stays out of the audit log (LGPD)

    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    channel: Mapped[InteractionChannel] = mapped_column(enum_column(InteractionChannel, "interaction_channel"))
    direction: Mapped[Direction] = mapped_column(enum_column(Direction, "direction"))
    occurred_at: Mapped[datetime]
    duration_seconds: Mapped[int | None]
    outcome: Mapped[str | None] = mapped_column(String(60))  # atendeu, não atendeu, caixa postal, …
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    external_id: Mapped[str | None] = mapped_column(String(200))  # provider message id (integrations)
    delivery_status: Mapped[str | None] = mapped_column(String(20))  # sent, delivered, read, failed
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Task(Base, TenantScoped, SoftDeletable):
    """A follow-up to do by a date (tarefa)."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_assignee_due", "tenant_id", "assignee_id", "done_at", "due_at"),
        Index("ix_tasks_lead", "tenant_id", "lead_id"),
        Index("ix_tasks_person", "tenant_id", "person_id"),
        Index("ix_tasks_due", "tenant_id", "due_at"),
    )
    __audited__ = True
    __secret_fields__ = frozenset({"title", "notes"})  # personal data stays out of the audit log (LGPD)

    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime]
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    done_at: Mapped[datetime | None]


class Visit(Base, TenantScoped, SoftDeletable):
    """A visit to a property or unit with the lead (visita)."""

    __tablename__ = "visits"
    __table_args__ = (
        Index("ix_visits_broker_when", "tenant_id", "broker_id", "scheduled_at"),
        Index("ix_visits_lead", "tenant_id", "lead_id"),
        Index("ix_visits_property", "tenant_id", "property_id"),
        Index("ix_visits_when", "tenant_id", "scheduled_at"),
    )
    __audited__ = True
    __secret_fields__ = frozenset({"feedback", "notes"})  # personal data stays out of the audit log (LGPD)

    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    property_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("properties.id", ondelete="SET NULL"))
    broker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    scheduled_at: Mapped[datetime]
    duration_minutes: Mapped[int] = mapped_column(default=60)
    status: Mapped[VisitStatus] = mapped_column(enum_column(VisitStatus, "visit_status"), default=VisitStatus.SCHEDULED)
    feedback: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)


class Attachment(Base, TenantScoped, SoftDeletable):
    """A file kept behind the storage interface, attached to an interaction, lead, person or property."""

    __tablename__ = "attachments"
    __table_args__ = (
        Index("ix_attachments_interaction", "tenant_id", "interaction_id"),
        Index("ix_attachments_lead", "tenant_id", "lead_id"),
        Index("ix_attachments_person", "tenant_id", "person_id"),
        Index("ix_attachments_property", "tenant_id", "property_id"),
    )
    __audited__ = True
    __secret_fields__ = frozenset({"filename"})  # personal data stays out of the audit log (LGPD)

    interaction_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"))
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    property_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300))
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
