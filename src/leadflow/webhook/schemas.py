"""The partner webhooks API: endpoints in and out (the secret only once), deliveries with their attempts."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field, field_validator

from leadflow.kit.schemas import InputSchema, OutputSchema
from leadflow.models import AttemptTrigger, DeliveryStatus, EndpointStatus
from leadflow.webhook.events import ALL, SUBSCRIBABLE


def _known_event_types(value: list[str]) -> list[str]:
    unknown = [name for name in value if name != ALL and name not in SUBSCRIBABLE]
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)}; known: {', '.join(SUBSCRIBABLE)} or '*'")
    return sorted(set(value))


class EndpointCreate(InputSchema):
    url: str = Field(min_length=8, max_length=2048, examples=["https://parceiro.example.com.br/hooks/leadflow"])
    event_types: list[str] = Field(min_length=1, examples=[["lead.created", "lead.assigned"]])
    description: str = Field(default="", max_length=500)

    _check_types = field_validator("event_types")(_known_event_types)


class EndpointUpdate(InputSchema):
    url: str | None = Field(default=None, min_length=8, max_length=2048)
    event_types: list[str] | None = Field(default=None, min_length=1)
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None

    @field_validator("event_types")
    @classmethod
    def _check_types(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _known_event_types(value)


class EndpointRead(OutputSchema):
    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    status: EndpointStatus
    disabled_at: datetime | None
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


class EndpointWithSecret(EndpointRead):
    """Answered once, when the endpoint is created or its secret rotated: the secret is not shown again."""

    secret: str


class SecretRotated(OutputSchema):
    secret: str
    previous_secret_expires_at: datetime


class AttemptRead(OutputSchema):
    number: int
    trigger: AttemptTrigger
    started_at: datetime
    duration_ms: int
    status_code: int | None
    response_excerpt: str | None
    error_kind: str | None
    error: str | None
    next_attempt_at: datetime | None


class DeliveryRead(OutputSchema):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    delivered_at: datetime | None
    created_at: datetime


class DeliveryDetail(DeliveryRead):
    body: str
    attempt_log: list[AttemptRead]


class EventTypes(OutputSchema):
    event_types: list[str]
