"""The providers leadflow knows, what each can do and the schema of its settings.

A provider's settings schema is one Pydantic model: its ``SecretStr`` fields are the credentials (sealed at rest,
never shown again), the others are shown back as they were given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, SecretStr

from leadflow.integrations.base import Capability, Handshake, LeadSource
from leadflow.integrations.chatwoot.inbound import ChatwootSettings, ChatwootSource
from leadflow.integrations.instagram.provider import InstagramSettings, InstagramSource
from leadflow.integrations.meta_leads.provider import MetaLeadsClient, MetaLeadsSettings, MetaLeadsSource
from leadflow.integrations.whatsapp.provider import WhatsAppMessaging, WhatsAppSettings, WhatsAppSource
from leadflow.integrations.zap.provider import ZapSettings, ZapSource


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    name: str
    title: str
    capabilities: frozenset[Capability]
    settings_schema: type[BaseModel]
    source: Callable[[Any], LeadSource]
    handshake: Callable[[Any], Handshake] | None = None
    messaging: Callable[[Any], Any] | None = None

    def secret_fields(self) -> frozenset[str]:
        return secret_fields(self.settings_schema)

    def public_schema(self) -> dict[str, Any]:
        return public_schema(self.settings_schema)


def secret_fields(settings_schema: type[BaseModel]) -> frozenset[str]:
    return frozenset(name for name, field in settings_schema.model_fields.items() if _is_secret(field.annotation))


def split_secrets(validated: BaseModel) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what may be shown, the secrets) of validated settings: their ``SecretStr`` fields are the secrets."""
    secret_names = secret_fields(type(validated))
    public = validated.model_dump(mode="json", exclude=set(secret_names))
    secrets = {
        name: value.get_secret_value() for name in secret_names if (value := getattr(validated, name)) is not None
    }
    return public, secrets


def public_schema(settings_schema: type[BaseModel]) -> dict[str, Any]:
    """The settings' JSON schema with every secret marked ``writeOnly`` (typed once, never shown back)."""
    schema = settings_schema.model_json_schema()
    for name in secret_fields(settings_schema):
        schema.get("properties", {}).get(name, {})["writeOnly"] = True
    return schema


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


PROVIDERS: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (
        ProviderSpec(
            name="whatsapp",
            title="WhatsApp Cloud API",
            capabilities=frozenset({Capability.LEAD_SOURCE, Capability.MESSAGING, Capability.CONNECTION_TEST}),
            settings_schema=WhatsAppSettings,
            source=WhatsAppSource,
            handshake=WhatsAppSource,
            messaging=WhatsAppMessaging,
        ),
        ProviderSpec(
            name="zap",
            title="Grupo ZAP / OLX (ZAP Imóveis, VivaReal, OLX)",
            capabilities=frozenset({Capability.LEAD_SOURCE}),
            settings_schema=ZapSettings,
            source=ZapSource,
        ),
        ProviderSpec(
            name="meta_leads",
            title="Meta Lead Ads (Facebook and Instagram lead forms)",
            capabilities=frozenset({Capability.LEAD_SOURCE, Capability.CONNECTION_TEST}),
            settings_schema=MetaLeadsSettings,
            source=MetaLeadsSource,
            handshake=MetaLeadsSource,
            messaging=MetaLeadsClient,
        ),
        ProviderSpec(
            name="instagram",
            title="Instagram Direct",
            capabilities=frozenset({Capability.LEAD_SOURCE}),
            settings_schema=InstagramSettings,
            source=InstagramSource,
            handshake=InstagramSource,
        ),
        ProviderSpec(
            name="chatwoot",
            title="Chatwoot",
            capabilities=frozenset({Capability.LEAD_SOURCE}),
            settings_schema=ChatwootSettings,
            source=ChatwootSource,
        ),
    )
}


def provider(name: str) -> ProviderSpec | None:
    return PROVIDERS.get(name)
