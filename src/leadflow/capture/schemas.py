"""Segment-spec events as they arrive, and what the ingestion and inspection endpoints answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from leadflow.kit.schemas import InputSchema, OutputSchema
from leadflow.kit.time import as_utc
from leadflow.models import EventType, FailureType


def _as_text(value: Any) -> Any:
    """SDKs send user ids as numbers too; they are stored as text."""
    if isinstance(value, bool):
        raise ValueError("must be a string")
    return str(value) if isinstance(value, int) else value


IdText = Annotated[str | None, BeforeValidator(_as_text)]


class SegmentEvent(BaseModel):
    """One event of the Segment spec. Unknown fields are tolerated: the event is stored as received."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    type: Literal["track", "page", "screen", "identify", "alias", "group"]
    message_id: str | None = Field(None, alias="messageId", min_length=1, max_length=128)
    anonymous_id: IdText = Field(None, alias="anonymousId", min_length=1, max_length=255)
    user_id: IdText = Field(None, alias="userId", min_length=1, max_length=255)
    previous_id: IdText = Field(None, alias="previousId", min_length=1, max_length=255)
    group_id: IdText = Field(None, alias="groupId", min_length=1, max_length=255)
    event: str | None = Field(None, min_length=1, max_length=255)
    name: str | None = Field(None, max_length=255)
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    timestamp: datetime | None = None
    original_timestamp: datetime | None = Field(None, alias="originalTimestamp")
    sent_at: datetime | None = Field(None, alias="sentAt")

    @field_validator("timestamp", "original_timestamp", "sent_at", mode="after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        try:
            return as_utc(value)
        except OverflowError as exc:
            raise ValueError("the date is out of range") from exc

    @model_validator(mode="after")
    def _type_specific(self) -> SegmentEvent:
        if self.anonymous_id is None and self.user_id is None:
            raise ValueError("anonymousId or userId is required")
        if self.type == "track" and self.event is None:
            raise ValueError("a track call needs its event name in `event`")
        if self.type == "alias" and self.previous_id is None:
            raise ValueError("an alias call needs `previousId`")
        if self.type == "group" and self.group_id is None:
            raise ValueError("a group call needs `groupId`")
        return self

    @property
    def client_time(self) -> datetime | None:
        return self.timestamp or self.original_timestamp


class RejectedItem(BaseModel):
    index: int = Field(examples=[2])
    message_id: str | None = Field(None, serialization_alias="messageId", examples=["ajs-next-3f1c"])
    errors: list[dict[str, str]] = Field(examples=[[{"path": "event", "message": "a track call needs its event"}]])


class IngestResult(BaseModel):
    success: bool = True
    accepted: int = Field(0, examples=[9])
    duplicates: int = Field(0, examples=[1])
    rejected: list[RejectedItem] = Field(default_factory=list)


class EventRead(OutputSchema):
    id: uuid.UUID
    type: EventType
    name: str | None = Field(examples=["Formulário enviado"])
    source: str = Field(examples=["segment"])
    message_id: str = Field(examples=["ajs-next-3f1c9a0e"])
    anonymous_id: str | None = Field(examples=["trk_01HZX5R8Q2W9K3M7N4P6T1V0Y2"])
    user_id: str | None
    tracking_id: str | None
    received_at: datetime
    sent_at: datetime | None
    timestamp: datetime | None
    occurred_at: datetime
    schema_version: int
    api_key_id: uuid.UUID | None
    ip: str | None
    user_agent: str | None
    utm_source: str | None = Field(examples=["facebook"])
    utm_medium: str | None = Field(examples=["paid"])
    utm_campaign: str | None = Field(examples=["aurora-lancamento"])
    page_url: str | None = Field(examples=["https://aurora.imobiliaria-exemplo.com.br/residencial-aurora"])
    referrer: str | None
    payload: dict[str, Any]


class RejectedEventRead(OutputSchema):
    id: uuid.UUID
    received_at: datetime
    source: str
    failure_type: FailureType
    failure: list[dict[str, Any]] = Field(examples=[[{"path": "batch.2.event", "message": "Field required"}]])
    raw: str = Field(examples=['{"type": "track", "anonymousId": "trk_01"}'])
    message_id: str | None
    ip: str | None
    api_key_id: uuid.UUID | None


# ---------------------------------------------------------------- lead forms

FORM_KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class FormCreate(InputSchema):
    key: str = Field(pattern=FORM_KEY_PATTERN, examples=["contato"], description="Used in /v1/forms/{key}")
    name: str = Field(min_length=1, max_length=120, examples=["Fale conosco"])
    team_id: uuid.UUID | None = Field(default=None, description="The team whose roleta receives the leads")
    pipeline_id: uuid.UUID | None = Field(default=None, description="Omitted: the default pipeline")
    property_id: uuid.UUID | None = Field(default=None, description="The property the form is about")
    development_id: uuid.UUID | None = Field(default=None, description="The development the form is about")
    thank_you_url: str | None = Field(
        default=None, max_length=2048, pattern=r"^(https?://|/)", examples=["https://demo.localhost:8000/obrigado"]
    )
    source: str = Field(default="site", min_length=1, max_length=60, examples=["site"])
    is_active: bool = True


class FormUpdate(InputSchema):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    team_id: uuid.UUID | None = None
    pipeline_id: uuid.UUID | None = None
    property_id: uuid.UUID | None = None
    development_id: uuid.UUID | None = None
    thank_you_url: str | None = Field(default=None, max_length=2048, pattern=r"^(https?://|/)")
    source: str | None = Field(default=None, min_length=1, max_length=60)
    is_active: bool | None = None


class FormRead(OutputSchema):
    id: uuid.UUID
    key: str
    name: str
    team_id: uuid.UUID | None
    pipeline_id: uuid.UUID | None
    property_id: uuid.UUID | None
    development_id: uuid.UUID | None
    thank_you_url: str | None
    source: str
    is_active: bool
    created_at: datetime


class FormAccepted(BaseModel):
    accepted: bool = True
    duplicate: bool = Field(default=False, description="The same submission arrived before: stored once")
    event_id: uuid.UUID | None = None
