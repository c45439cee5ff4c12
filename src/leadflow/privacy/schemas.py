"""The API of the LGPD features: purposes, consents, data-subject requests, export and anonymisation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, Field, model_validator

from leadflow.kit.schemas import InputSchema, OutputSchema
from leadflow.models import LegalBasis, RequestKind, RequestOutcome, RequestStatus

Channel = str


class PurposeCreate(InputSchema):
    key: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9_-]+$", examples=["newsletter"])
    name: str = Field(min_length=1, max_length=120, examples=["Newsletter de lançamentos"])
    legal_basis: LegalBasis
    description: str | None = Field(default=None, max_length=2000)
    legitimate_interest_assessment: str | None = Field(
        default=None, max_length=10000, description="Required when the legal basis is legitimate interest (art. 10)"
    )
    is_marketing: bool = False

    @model_validator(mode="after")
    def _assessment_for_legitimate_interest(self) -> PurposeCreate:
        if self.legal_basis is LegalBasis.LEGITIMATE_INTEREST and not self.legitimate_interest_assessment:
            raise ValueError("a purpose under legitimate interest needs its legitimate_interest_assessment")
        return self


class PurposeRead(OutputSchema):
    key: str
    name: str
    legal_basis: LegalBasis
    description: str | None
    legitimate_interest_assessment: str | None
    is_marketing: bool
    is_default: bool = Field(description="A built-in purpose the tenant has not redefined")


class ConsentEntryCreate(InputSchema):
    purpose: str = Field(min_length=1, max_length=64, examples=["marketing"], description="A purpose key")
    channel: str = Field(min_length=1, max_length=32, examples=["whatsapp"], description="whatsapp, email, sms, phone")
    granted: bool
    source: str | None = Field(default=None, max_length=120, examples=["form:contato-lancamento"])
    text_version: str | None = Field(default=None, max_length=64, examples=["aviso-2026-03"])


class ConsentEntryRead(OutputSchema):
    id: uuid.UUID
    person_id: uuid.UUID
    purpose: str
    channel: str
    legal_basis: str
    status: str
    source: str | None
    text_version: str | None
    given_at: datetime | None
    withdrawn_at: datetime | None
    recorded_by_id: uuid.UUID | None
    created_at: datetime


class ConsentState(OutputSchema):
    """The current consent of one purpose and channel: the latest log entry."""

    purpose: str
    channel: str
    granted: bool
    since: datetime
    entry_id: uuid.UUID


class ConsentSummary(OutputSchema):
    current: list[ConsentState]
    log: list[ConsentEntryRead]


class RequestCreate(InputSchema):
    kind: RequestKind
    person_id: uuid.UUID | None = Field(default=None, description="The data subject, when already identified")
    channel: str | None = Field(default=None, max_length=32, examples=["email"])
    received_at: AwareDatetime | None = Field(default=None, description="When the subject asked; default now")
    details: str | None = Field(default=None, max_length=5000)


class RequestClose(InputSchema):
    outcome: RequestOutcome
    note: str | None = Field(default=None, max_length=5000)


class RequestRead(OutputSchema):
    id: uuid.UUID
    kind: RequestKind
    status: RequestStatus
    person_id: uuid.UUID | None
    channel: str | None
    received_at: datetime
    due_at: datetime = Field(description="15 days after receipt (LGPD art. 19 II)")
    overdue: bool
    days_left: int = Field(description="Whole days until due_at; negative when overdue")
    details: str | None
    outcome: RequestOutcome | None
    outcome_note: str | None
    closed_at: datetime | None
    created_at: datetime


class AnonymiseRequest(InputSchema):
    reason: str = Field(default="subject_request", min_length=1, max_length=64, examples=["subject_request"])


class AnonymisationRead(OutputSchema):
    person_id: uuid.UUID
    anonymised_at: datetime
    reason: str
    summary: dict[str, int] = Field(description="Rows rewritten or removed per table; keys destroyed")


class OptOutRead(OutputSchema):
    person_id: uuid.UUID | None
    withdrawn: list[ConsentEntryRead]


SubjectExport = dict[str, Any]
