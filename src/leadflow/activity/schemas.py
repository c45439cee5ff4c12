from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, computed_field

from leadflow.kit.schemas import InputSchema, OutputSchema
from leadflow.kit.time import utcnow
from leadflow.models import Direction, InteractionChannel, VisitStatus

LEAD_EXAMPLE = "0193a1f2-7c4e-7d21-9a51-3f0c2b9e8d10"
PERSON_EXAMPLE = "0193a1f2-6b1d-7a02-8c33-5e4f1a2b3c4d"
USER_EXAMPLE = "0193a1f0-2e9a-7f11-b5c2-8d7e6f5a4b3c"
PROPERTY_EXAMPLE = "0193a1f1-4d3c-7b20-a1e2-9f8e7d6c5b4a"

# Interactions


class InteractionCreate(InputSchema):
    """Log a contact with the person. Name the lead, the person, or both (the lead's person)."""

    lead_id: uuid.UUID | None = Field(default=None, examples=[LEAD_EXAMPLE])
    person_id: uuid.UUID | None = Field(
        default=None, examples=[PERSON_EXAMPLE], description="Default: the person of the lead"
    )
    channel: InteractionChannel = Field(examples=["whatsapp"])
    direction: Direction = Field(examples=["outbound"], description="outbound counts as the lead's first response")
    occurred_at: AwareDatetime | None = Field(
        default=None, examples=["2026-11-23T14:05:00-03:00"], description="Default now; at most 5 minutes ahead"
    )
    duration_seconds: int | None = Field(default=None, ge=0, le=86_400, examples=[185])
    outcome: str | None = Field(default=None, max_length=60, examples=["atendeu"])
    subject: str | None = Field(default=None, max_length=200, examples=["Retorno sobre o apartamento em Pinheiros"])
    body: str | None = Field(
        default=None, max_length=50_000, examples=["Cliente quer visitar no sábado de manhã; aceita financiamento."]
    )


class InteractionUpdate(InputSchema):
    """Correct a logged interaction; its lead and person do not change."""

    channel: InteractionChannel | None = Field(default=None, examples=["call"])
    direction: Direction | None = Field(default=None, examples=["outbound"])
    occurred_at: AwareDatetime | None = Field(default=None, examples=["2026-11-23T14:05:00-03:00"])
    duration_seconds: int | None = Field(default=None, ge=0, le=86_400, examples=[240])
    outcome: str | None = Field(default=None, max_length=60, examples=["caixa postal"])
    subject: str | None = Field(default=None, max_length=200, examples=["Proposta enviada"])
    body: str | None = Field(default=None, max_length=50_000, examples=["Enviei a proposta por e-mail."])


class InteractionRead(OutputSchema):
    id: uuid.UUID
    lead_id: uuid.UUID | None = Field(examples=[LEAD_EXAMPLE])
    person_id: uuid.UUID | None = Field(examples=[PERSON_EXAMPLE])
    channel: InteractionChannel = Field(examples=["whatsapp"])
    direction: Direction = Field(examples=["outbound"])
    occurred_at: datetime
    duration_seconds: int | None = Field(examples=[185])
    outcome: str | None = Field(examples=["atendeu"])
    subject: str | None = Field(examples=["Retorno sobre o apartamento em Pinheiros"])
    body: str | None = Field(examples=["Cliente quer visitar no sábado de manhã."])
    author_id: uuid.UUID | None = Field(examples=[USER_EXAMPLE])
    external_id: str | None = Field(examples=["wamid.HBgMNTUxMTk4NzY1NDMyMRUCABEYEjQ"])
    delivery_status: str | None = Field(examples=["read"])
    created_at: datetime
    updated_at: datetime


class InteractionFilters(BaseModel):
    """Filters of the interaction list; all combine with AND. Newest first."""

    lead_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    channel: InteractionChannel | None = None
    direction: Direction | None = None
    author_id: uuid.UUID | None = None
    since: AwareDatetime | None = Field(default=None, description="occurred_at at or after")
    until: AwareDatetime | None = Field(default=None, description="occurred_at before")


# Tasks


class TaskCreate(InputSchema):
    title: str = Field(min_length=1, max_length=200, examples=["Ligar para confirmar a visita"])
    notes: str | None = Field(default=None, max_length=20_000, examples=["Levar a simulação de financiamento."])
    due_at: AwareDatetime = Field(examples=["2026-11-24T10:00:00-03:00"])
    assignee_id: uuid.UUID | None = Field(
        default=None, examples=[USER_EXAMPLE], description="An active user; default: you"
    )
    lead_id: uuid.UUID | None = Field(default=None, examples=[LEAD_EXAMPLE])
    person_id: uuid.UUID | None = Field(
        default=None, examples=[PERSON_EXAMPLE], description="Default: the person of the lead"
    )


class TaskUpdate(InputSchema):
    title: str | None = Field(default=None, min_length=1, max_length=200, examples=["Enviar proposta"])
    notes: str | None = Field(default=None, max_length=20_000)
    due_at: AwareDatetime | None = Field(default=None, examples=["2026-11-25T16:30:00-03:00"])
    assignee_id: uuid.UUID | None = Field(default=None, examples=[USER_EXAMPLE])
    lead_id: uuid.UUID | None = Field(default=None, examples=[LEAD_EXAMPLE])
    person_id: uuid.UUID | None = Field(default=None, examples=[PERSON_EXAMPLE])


class TaskRead(OutputSchema):
    id: uuid.UUID
    title: str = Field(examples=["Ligar para confirmar a visita"])
    notes: str | None
    due_at: datetime
    assignee_id: uuid.UUID | None = Field(examples=[USER_EXAMPLE])
    created_by_id: uuid.UUID | None
    lead_id: uuid.UUID | None = Field(examples=[LEAD_EXAMPLE])
    person_id: uuid.UUID | None = Field(examples=[PERSON_EXAMPLE])
    done_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def done(self) -> bool:
        return self.done_at is not None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overdue(self) -> bool:
        """Not done and due before now."""
        return self.done_at is None and self.due_at < utcnow()


class TaskFilters(BaseModel):
    """Filters of the task list; all combine with AND. Soonest due first."""

    assignee_id: uuid.UUID | None = None
    lead_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    done: bool | None = None
    overdue: bool | None = Field(default=None, description="true: not done and due before now")
    due_from: AwareDatetime | None = Field(default=None, description="due_at at or after")
    due_to: AwareDatetime | None = Field(default=None, description="due_at before")


# Visits


class VisitCreate(InputSchema):
    lead_id: uuid.UUID = Field(examples=[LEAD_EXAMPLE])
    property_id: uuid.UUID | None = Field(default=None, examples=[PROPERTY_EXAMPLE], description="A property or unit")
    broker_id: uuid.UUID | None = Field(
        default=None, examples=[USER_EXAMPLE], description="An active user; default: you"
    )
    scheduled_at: AwareDatetime = Field(examples=["2026-11-29T10:00:00-03:00"])
    duration_minutes: int = Field(default=60, ge=5, le=24 * 60, examples=[45])
    status: VisitStatus = Field(default=VisitStatus.SCHEDULED, examples=["agendada"])
    feedback: str | None = Field(
        default=None, max_length=20_000, examples=["Gostou da varanda; achou o condomínio alto."]
    )
    notes: str | None = Field(default=None, max_length=20_000, examples=["Chaves na portaria, falar com o Sr. João."])


class VisitUpdate(InputSchema):
    """Marking a visit ``realizada`` logs a visit interaction on the lead (it counts as first response)."""

    property_id: uuid.UUID | None = Field(default=None, examples=[PROPERTY_EXAMPLE])
    broker_id: uuid.UUID | None = Field(default=None, examples=[USER_EXAMPLE])
    scheduled_at: AwareDatetime | None = Field(default=None, examples=["2026-11-29T11:00:00-03:00"])
    duration_minutes: int | None = Field(default=None, ge=5, le=24 * 60, examples=[60])
    status: VisitStatus | None = Field(default=None, examples=["realizada"])
    feedback: str | None = Field(default=None, max_length=20_000, examples=["Quer fazer proposta na segunda-feira."])
    notes: str | None = Field(default=None, max_length=20_000)


class VisitRead(OutputSchema):
    id: uuid.UUID
    lead_id: uuid.UUID = Field(examples=[LEAD_EXAMPLE])
    property_id: uuid.UUID | None = Field(examples=[PROPERTY_EXAMPLE])
    broker_id: uuid.UUID | None = Field(examples=[USER_EXAMPLE])
    scheduled_at: datetime
    duration_minutes: int = Field(examples=[60])
    status: VisitStatus = Field(examples=["confirmada"])
    feedback: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime


class VisitFilters(BaseModel):
    """Filters of the visit list; all combine with AND. Soonest first."""

    broker_id: uuid.UUID | None = None
    lead_id: uuid.UUID | None = None
    property_id: uuid.UUID | None = None
    status: VisitStatus | None = None
    scheduled_from: AwareDatetime | None = Field(default=None, alias="from", description="scheduled_at at or after")
    scheduled_to: AwareDatetime | None = Field(default=None, alias="to", description="scheduled_at before")


# Attachments


class AttachmentRead(OutputSchema):
    id: uuid.UUID
    filename: str = Field(examples=["proposta_ap_0001.pdf"])
    content_type: str = Field(examples=["application/pdf"], description="Sniffed from the bytes")
    size_bytes: int = Field(examples=[184_322])
    sha256: str = Field(examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"])
    interaction_id: uuid.UUID | None
    lead_id: uuid.UUID | None = Field(examples=[LEAD_EXAMPLE], description="Also set for a file of an interaction")
    person_id: uuid.UUID | None = Field(examples=[PERSON_EXAMPLE])
    property_id: uuid.UUID | None
    uploaded_by_id: uuid.UUID | None
    created_at: datetime


class AttachmentFilters(BaseModel):
    """Filters of the attachment list; all combine with AND. Newest first."""

    lead_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    property_id: uuid.UUID | None = None
    interaction_id: uuid.UUID | None = None


# Timeline


class TimelineKind(StrEnum):
    INTERACTION = "interaction"
    STAGE_MOVE = "stage_move"
    ASSIGNMENT = "assignment"
    TASK_CREATED = "task_created"
    TASK_DONE = "task_done"
    VISIT = "visit"
    ATTACHMENT = "attachment"
    AUDIT = "audit"


class TimelineItem(BaseModel):
    kind: TimelineKind = Field(examples=["stage_move"])
    at: datetime
    id: uuid.UUID = Field(description="The id of the row the item shows (interaction, task, …)")
    summary: str = Field(examples=["Etapa: Novo → Contato"])
    data: dict[str, Any] = Field(examples=[{"from_stage": "Novo", "to_stage": "Contato"}])


# My day


class AwaitingLead(BaseModel):
    """A new lead of yours nobody has answered yet."""

    id: uuid.UUID = Field(examples=[LEAD_EXAMPLE])
    person_id: uuid.UUID = Field(examples=[PERSON_EXAMPLE])
    person_name: str = Field(examples=["Maria Silva"])
    title: str | None = Field(examples=["Apartamento 2 dormitórios em Pinheiros"])
    source: str | None = Field(examples=["portal_zap"])
    created_at: datetime
    first_response_due_at: datetime | None
    minutes_left: int | None = Field(examples=[-12], description="Until first_response_due_at; negative: overdue")
    overdue: bool


class MyDayRead(BaseModel):
    day: date = Field(examples=["2026-11-23"], description="Today in the tenant's time zone")
    time_zone: str = Field(examples=["America/Sao_Paulo"])
    awaiting_first_response: list[AwaitingLead] = Field(description="Oldest first")
    overdue_tasks: list[TaskRead] = Field(description="Not done and due before today, oldest first")
    today_tasks: list[TaskRead] = Field(description="Due today, done or not")
    today_visits: list[VisitRead] = Field(description="Scheduled today and not cancelled")
