"""What the pipeline decides and keeps: lead forms, versioned rule sets, conversions and routing decisions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.kit.orm import Base, SoftDeletable, TenantScoped, enum_column


class LeadForm(Base, TenantScoped, SoftDeletable):
    """A form of a tenant's site, posted to ``/v1/forms/{key}``: where its leads go and where the visitor lands."""

    __tablename__ = "lead_forms"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)
    __audited__ = True

    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    pipeline_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("pipelines.id", ondelete="SET NULL"))
    property_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("properties.id", ondelete="SET NULL"))
    development_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("developments.id", ondelete="SET NULL"))
    thank_you_url: Mapped[str | None] = mapped_column(String(2048))
    source: Mapped[str] = mapped_column(String(60), default="site")
    is_active: Mapped[bool] = mapped_column(default=True)


class RuleSetVersion(Base, TenantScoped):
    """One version of a tenant's rules. Versions are never edited: a change is a new version, the newest rules."""

    __tablename__ = "rule_sets"
    __table_args__ = (UniqueConstraint("tenant_id", "version"),)
    __audited__ = True

    version: Mapped[int]
    rules: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    note: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ConversionKind(StrEnum):
    CREATED = "created"  # the conversion created the lead
    RECONVERTED = "reconverted"  # a known person converted again while their lead was open


class LeadConversion(Base, TenantScoped):
    """One conversion (form, chat, portal) of a lead, with its own attribution. One per event: the pipeline's
    idempotency key."""

    __tablename__ = "lead_conversions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "event_id"),
        Index("ix_lead_conversions_lead", "tenant_id", "lead_id", "occurred_at"),
    )

    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    kind: Mapped[ConversionKind] = mapped_column(enum_column(ConversionKind, "conversion_kind"))
    occurred_at: Mapped[datetime]
    form_key: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(60))
    channel: Mapped[str | None] = mapped_column(String(60))
    attribution: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enrichment: Mapped[dict[str, Any]] = mapped_column(default=dict)  # device, contact problems, …


class DecisionKind(StrEnum):
    NEW_LEAD = "new_lead"
    SLA_REROUTE = "sla_reroute"
    SLA_ESCALATION = "sla_escalation"
    REPLAY = "replay"


class RoutingDecisionRecord(Base, TenantScoped):
    """Why a lead went to whom: the rules evaluated, the brokers considered, who was skipped and why, who won."""

    __tablename__ = "routing_decisions"
    __table_args__ = (
        Index("ix_routing_decisions_lead", "tenant_id", "lead_id", "decided_at"),
        Index("ix_routing_decisions_team", "tenant_id", "team_id", "decided_at"),
    )

    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    kind: Mapped[DecisionKind] = mapped_column(enum_column(DecisionKind, "decision_kind"))
    decided_at: Mapped[datetime]
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    step: Mapped[str | None] = mapped_column(String(32))
    why: Mapped[str] = mapped_column(Text)
    rule_set_version: Mapped[int | None]
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)  # RulesOutcome as JSON
    roleta: Mapped[dict[str, Any]] = mapped_column(default=dict)  # RoutingDecision as JSON
