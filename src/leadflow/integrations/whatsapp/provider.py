"""The WhatsApp Cloud API provider: settings schema, inbound (signature, handshake, reading) and messaging."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from leadflow.integrations.base import Delivery, ProviderError, Refused, SentMessage, Template
from leadflow.integrations.graph import DEFAULT_BASE_URL, DEFAULT_VERSION, GraphClient
from leadflow.integrations.jsonbody import json_body
from leadflow.integrations.metahooks import handshake_answer, verify_signature
from leadflow.integrations.whatsapp.parsing import notification_key

MAX_MEDIA_BYTES = 16 * 1024 * 1024  # Cloud API media limit for video/audio; images are smaller


class WhatsAppSettings(BaseModel):
    """A WhatsApp Business number on the Cloud API. Secret fields are stored encrypted and never shown again."""

    model_config = ConfigDict(extra="forbid")

    phone_number_id: str = Field(pattern=r"^[0-9]{5,32}$", examples=["100000000000001"])
    business_account_id: str | None = Field(default=None, pattern=r"^[0-9]{5,32}$")
    graph_base_url: str = Field(default=DEFAULT_BASE_URL, max_length=300, pattern=r"^https?://")
    graph_version: str = Field(default=DEFAULT_VERSION, pattern=r"^v[0-9]+\.[0-9]+$")
    app_secret: SecretStr = Field(min_length=1, max_length=200, description="Meta app secret (signs webhooks)")
    verify_token: SecretStr = Field(min_length=1, max_length=200, description="Echoed by Meta's URL check")
    access_token: SecretStr | None = Field(
        default=None, max_length=1000, description="System-user token: sending and media download"
    )


class WhatsAppSource:
    def __init__(self, settings: WhatsAppSettings) -> None:
        self._settings = settings

    def verify(self, headers: Mapping[str, str], raw: bytes) -> str | None:
        return verify_signature(self._settings.app_secret.get_secret_value(), headers, raw)

    def answer(self, query: Mapping[str, str]) -> str | None:
        return handshake_answer(self._settings.verify_token.get_secret_value(), query)

    def read(self, raw: bytes) -> Delivery:
        body = json_body(raw)
        if not isinstance(body, dict) or body.get("object") != "whatsapp_business_account":
            raise Refused("not a WhatsApp Business Account notification")
        return Delivery(key=notification_key(body, raw), body=body)


class WhatsAppMessaging:
    """Sending through ``POST /{phone_number_id}/messages``; replies go to the wa_id exactly as received."""

    def __init__(self, settings: WhatsAppSettings, *, client: GraphClient | None = None) -> None:
        self._settings = settings
        self._client = client or graph_client(settings)

    async def send_text(self, to: str, text: str) -> SentMessage:
        body = {"type": "text", "text": {"preview_url": False, "body": text}}
        return await self._send(to, body)

    async def send_template(self, to: str, template: Template) -> SentMessage:
        spec: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
        if template.components:
            spec["components"] = template.components
        return await self._send(to, {"type": "template", "template": spec})

    async def fetch_media(self, media_id: str) -> tuple[bytes, str | None]:
        """Media arrive as ids: ask the Graph API for the file's URL, then download it with the same token."""
        meta = await self._client.get_json(media_id)
        url = meta.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ProviderError("the media lookup answered no download URL")
        content, content_type = await self._client.get_bytes(url, limit=MAX_MEDIA_BYTES)
        mime = meta.get("mime_type")
        return content, mime if isinstance(mime, str) else content_type

    async def test(self) -> None:
        await self._client.get_json(self._settings.phone_number_id, params={"fields": "id,display_phone_number"})

    async def _send(self, to: str, message: dict[str, Any]) -> SentMessage:
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, **message}
        answer = await self._client.post_json(f"{self._settings.phone_number_id}/messages", payload)
        messages = answer.get("messages")
        first = messages[0] if isinstance(messages, list) and messages and isinstance(messages[0], dict) else {}
        wamid = first.get("id")
        if not isinstance(wamid, str) or not wamid:
            raise ProviderError("the send answered no message id")
        return SentMessage(external_id=wamid, recipient=to)


def graph_client(settings: WhatsAppSettings) -> GraphClient:
    if settings.access_token is None:
        raise ProviderError("the connection has no access token: add one to send messages or fetch media")
    return GraphClient(
        token=settings.access_token.get_secret_value(),
        base_url=settings.graph_base_url,
        version=settings.graph_version,
    )
