from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from leadflow.kit.schemas import InputSchema, OutputSchema
from leadflow.models import ConnectionStatus

CONNECTION_KEY_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$"


class ProviderRead(BaseModel):
    name: str = Field(examples=["whatsapp"])
    title: str = Field(examples=["WhatsApp Cloud API"])
    capabilities: list[str] = Field(examples=[["lead_source", "messaging"]])
    settings_schema: dict[str, Any] = Field(description="JSON schema of the settings; writeOnly fields are secrets")
    connect: str = Field(
        default="POST /v1/integrations",
        examples=["POST /v1/integrations", "PUT /v1/sync/hubspot"],
        description="Where its settings are sent (a CRM has one connection per tenant, under /v1/sync)",
    )


class ConnectionCreate(InputSchema):
    """Connect a provider: ``settings`` is validated by the provider's own schema."""

    provider: str = Field(max_length=32, examples=["whatsapp"])
    key: str = Field(
        pattern=CONNECTION_KEY_PATTERN,
        examples=["demo-whatsapp"],
        description="Public: the webhook URL is /hooks/<provider>/<key>",
    )
    name: str = Field(min_length=1, max_length=120, examples=["WhatsApp da loja"])
    team_id: uuid.UUID | None = Field(default=None, description="The roleta that routes its new leads")
    settings: dict[str, Any] = Field(examples=[{"phone_number_id": "100000000000001", "app_secret": "…"}])


class ConnectionUpdate(InputSchema):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    team_id: uuid.UUID | None = None
    settings: dict[str, Any] | None = Field(
        default=None, description="Replaces the settings; secret fields left out keep their stored value"
    )


class ConnectionRead(OutputSchema):
    id: uuid.UUID
    provider: str
    key: str
    name: str
    team_id: uuid.UUID | None
    settings: dict[str, Any] = Field(description="The settings without their secrets")
    secrets_set: list[str] = Field(description="Which secret fields hold a value (values are never returned)")
    webhook_path: str = Field(examples=["/hooks/whatsapp/demo-whatsapp"])
    status: ConnectionStatus
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    created_at: datetime


class ConnectionHealth(BaseModel):
    status: ConnectionStatus
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    backlog: int = Field(description="Verified deliveries of the tenant still waiting for their intake")


class ConnectionTestResult(BaseModel):
    ok: bool
    detail: str | None = None


class WhatsAppTemplateIn(InputSchema):
    name: str = Field(min_length=1, max_length=512, examples=["boas_vindas"])
    language: str = Field(default="pt_BR", max_length=15)
    components: list[dict[str, Any]] = Field(default_factory=list, max_length=20)


class WhatsAppSend(InputSchema):
    """A text (only inside the 24-hour customer-service window) or an approved template (any time)."""

    text: str | None = Field(default=None, min_length=1, max_length=4096, examples=["Oi Maria! Sou a Ana."])
    template: WhatsAppTemplateIn | None = None


class WhatsAppSent(BaseModel):
    interaction_id: uuid.UUID
    external_id: str
    to: str
    delivery_status: str | None
