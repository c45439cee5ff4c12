from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.kit.orm import Base, SoftDeletable, TenantScoped, enum_column


class StageKind(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class LeadStatus(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class Temperature(StrEnum):
    COLD = "frio"
    WARM = "morno"
    HOT = "quente"


class Purpose(StrEnum):
    BUY = "compra"
    RENT = "locacao"


class Pipeline(Base, TenantScoped, SoftDeletable):
    """A sales funnel (funil): "Venda", "Locação", "Lançamento X"."""

    __tablename__ = "pipelines"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    __audited__ = True

    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)
    is_default: Mapped[bool] = mapped_column(default=False)
    # When true only the transitions in stage_transitions are allowed; otherwise any move between open stages
    # and to won/lost is.
    restrict_transitions: Mapped[bool] = mapped_column(default=False)


class Stage(Base, TenantScoped):
    """A step of a pipeline. Deleting one archives it (``is_active`` false): the history that names it stays."""

    __tablename__ = "stages"
    __table_args__ = (Index("ix_stages_pipeline", "tenant_id", "pipeline_id", "position"),)
    __audited__ = True

    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[StageKind] = mapped_column(enum_column(StageKind, "stage_kind"), default=StageKind.OPEN)
    probability: Mapped[int] = mapped_column(default=0)  # percent, for forecast
    color: Mapped[str] = mapped_column(String(16), default="#64748b")
    required_fields: Mapped[list[str]] = mapped_column(default=list)  # lead fields needed to enter this stage
    is_active: Mapped[bool] = mapped_column(default=True)


class StageTransition(Base, TenantScoped):
    __tablename__ = "stage_transitions"
    __table_args__ = (UniqueConstraint("tenant_id", "from_stage_id", "to_stage_id"),)
    __audited__ = True

    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"), index=True)
    from_stage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"))
    to_stage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"))


class LossReason(Base, TenantScoped, SoftDeletable):
    __tablename__ = "loss_reasons"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    __audited__ = True

    name: Mapped[str] = mapped_column(String(120))


class Tag(Base, TenantScoped):
    """The tenant's tag catalogue (colour, description); rows carry tag names in their ``tags`` lists."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(60))
    color: Mapped[str] = mapped_column(String(16), default="#64748b")


class CustomFieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    BOOLEAN = "boolean"
    SELECT = "select"
    MULTISELECT = "multiselect"


class CustomFieldDefinition(Base, TenantScoped):
    __tablename__ = "custom_field_definitions"
    __table_args__ = (UniqueConstraint("tenant_id", "entity", "key"),)
    __audited__ = True

    entity: Mapped[str] = mapped_column(String(32))  # lead, person, property
    key: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(120))
    type: Mapped[CustomFieldType] = mapped_column(enum_column(CustomFieldType, "custom_field_type"))
    options: Mapped[list[str]] = mapped_column(default=list)
    required: Mapped[bool] = mapped_column(default=False)


class Lead(Base, TenantScoped, SoftDeletable):
    """A person's opportunity in a funnel, owned by a broker."""

    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_stage_owner", "tenant_id", "stage_id", "owner_id", "created_at"),
        Index("ix_leads_owner_status", "tenant_id", "owner_id", "status", "created_at"),
        Index("ix_leads_pipeline_status", "tenant_id", "pipeline_id", "status", "created_at"),
        Index("ix_leads_campaign", "tenant_id", "utm_campaign", "created_at"),
        Index("ix_leads_created", "tenant_id", "created_at"),
        Index("ix_leads_updated", "tenant_id", "updated_at"),
        Index("ix_leads_person", "tenant_id", "person_id"),
        Index("ix_leads_first_response", "tenant_id", "first_responded_at", "first_response_due_at"),
        Index("ix_leads_team", "tenant_id", "team_id", "created_at"),
        Index("ix_leads_follow_up", "tenant_id", "next_follow_up_at"),
    )
    __audited__ = True
    __secret_fields__ = frozenset({"title", "loss_note", "custom_fields"})  # personal data stays out of the audit log

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id", ondelete="RESTRICT"))
    stage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stages.id", ondelete="RESTRICT"))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    title: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[LeadStatus] = mapped_column(enum_column(LeadStatus, "lead_status"), default=LeadStatus.OPEN)
    loss_reason_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("loss_reasons.id", ondelete="SET NULL"))
    loss_note: Mapped[str | None] = mapped_column(Text)
    value_cents: Mapped[int | None] = mapped_column(BigInteger)
    temperature: Mapped[Temperature | None] = mapped_column(enum_column(Temperature, "temperature"))
    score: Mapped[int] = mapped_column(default=0)
    tags: Mapped[list[str]] = mapped_column(default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str | None] = mapped_column(String(60))  # site, portal_zap, whatsapp, indicação, …
    channel: Mapped[str | None] = mapped_column(String(60))  # channel group: Paid Search, Organic Social, …
    utm_campaign: Mapped[str | None] = mapped_column(String(200))  # first-touch campaign, projected for filters
    first_touch: Mapped[dict[str, Any]] = mapped_column(default=dict)  # utm_*, click ids, referrer, landing page
    last_touch: Mapped[dict[str, Any]] = mapped_column(default=dict)
    property_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("properties.id", ondelete="SET NULL"))
    development_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("developments.id", ondelete="SET NULL"))
    stage_entered_at: Mapped[datetime | None]
    first_response_due_at: Mapped[datetime | None]
    first_responded_at: Mapped[datetime | None]
    next_follow_up_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    def enter(
        self, stage: Stage, *, at: datetime, loss_reason_id: uuid.UUID | None = None, loss_note: str | None = None
    ) -> int | None:
        """Put the lead in ``stage`` (the move was checked before) and settle its status from the stage's kind:
        a won stage wins it, a lost stage loses it for ``loss_reason_id``, an open stage reopens it.

        Returns the whole seconds the lead spent in the stage it leaves (None when it had not entered one).
        """
        spent = max(0, int((at - self.stage_entered_at).total_seconds())) if self.stage_entered_at else None
        self.pipeline_id, self.stage_id, self.stage_entered_at = stage.pipeline_id, stage.id, at
        if stage.kind is StageKind.OPEN:
            self.reopen()
        else:
            self.status = LeadStatus.WON if stage.kind is StageKind.WON else LeadStatus.LOST
            self.closed_at = at
            lost = stage.kind is StageKind.LOST
            self.loss_reason_id, self.loss_note = (loss_reason_id, loss_note) if lost else (None, None)
        return spent

    def reopen(self) -> None:
        self.status, self.closed_at, self.loss_reason_id, self.loss_note = LeadStatus.OPEN, None, None, None


class LeadInterest(Base, TenantScoped):
    """What the lead is looking for; matched against properties."""

    __tablename__ = "lead_interests"
    __table_args__ = (UniqueConstraint("tenant_id", "lead_id"),)
    __audited__ = True

    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    purpose: Mapped[Purpose | None] = mapped_column(enum_column(Purpose, "purpose"))
    property_types: Mapped[list[str]] = mapped_column(default=list)
    price_min_cents: Mapped[int | None] = mapped_column(BigInteger)
    price_max_cents: Mapped[int | None] = mapped_column(BigInteger)
    bedrooms_min: Mapped[int | None]
    suites_min: Mapped[int | None]
    parking_min: Mapped[int | None]
    area_min: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    area_max: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    neighbourhoods: Mapped[list[str]] = mapped_column(default=list)
    cities: Mapped[list[str]] = mapped_column(default=list)
    accepts_financing: Mapped[bool | None]
    accepts_fgts: Mapped[bool | None]


class LeadStageHistory(Base, TenantScoped):
    __tablename__ = "lead_stage_history"
    __table_args__ = (Index("ix_lead_stage_history_lead", "tenant_id", "lead_id", "moved_at"),)

    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    from_stage_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stages.id", ondelete="SET NULL"))
    to_stage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"))
    moved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    moved_at: Mapped[datetime]
    seconds_in_previous: Mapped[int | None] = mapped_column(BigInteger)


class LeadAssignment(Base, TenantScoped):
    """Every (re)assignment of a lead: manual now, by the roleta later (with its explanation)."""

    __tablename__ = "lead_assignments"
    __table_args__ = (Index("ix_lead_assignments_lead", "tenant_id", "lead_id", "assigned_at"),)

    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    from_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    to_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    assigned_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(40), default="manual")  # manual, roleta, sla, bulk
    explanation: Mapped[dict[str, Any]] = mapped_column(default=dict)
