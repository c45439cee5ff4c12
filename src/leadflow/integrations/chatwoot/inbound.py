"""Chatwoot webhooks (contracts §2.5): ``contact_created``, ``conversation_created``, ``message_created`` and
``conversation_status_changed``, tied to the visitor by the ``tracking_id`` custom attribute t.js sets, or to the
person by phone or e-mail.

Signing (Chatwoot 2026): ``X-Chatwoot-Signature: sha256=<hex HMAC-SHA256(secret, "{timestamp}.{raw body}")>`` with
``X-Chatwoot-Timestamp``; older self-hosted versions do not sign, so the connection's secret is required and an
unsigned delivery is refused. Deliveries older than five minutes are refused too (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from leadflow.integrations.base import Delivery, Refused
from leadflow.integrations.jsonbody import json_body

EVENTS = frozenset({"contact_created", "conversation_created", "message_created", "conversation_status_changed"})
TOLERANCE_SECONDS = 300
MAX_TEXT = 10_000


class ChatwootSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(max_length=300, pattern=r"^https?://", examples=["https://chat.imobiliaria.com.br"])
    account_id: int = Field(ge=1, examples=[1])
    inbox_id: int | None = Field(default=None, ge=1)
    webhook_secret: SecretStr = Field(min_length=8, max_length=200, description="Signs Chatwoot's webhooks")
    api_access_token: SecretStr | None = Field(default=None, max_length=200, description="Outbound API calls")


@dataclass(frozen=True, slots=True)
class ChatContact:
    id: str
    name: str | None
    email: str | None
    phone: str | None
    tracking_id: str | None


@dataclass(frozen=True, slots=True)
class ChatEvent:
    event: str
    contact: ChatContact | None
    conversation_id: str | None
    message_id: str | None
    content: str | None
    incoming: bool
    private: bool
    status: str | None
    referer: str | None


def signature_of(secret: str, timestamp: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()


class ChatwootSource:
    def __init__(self, settings: ChatwootSettings, *, now: Any = time.time) -> None:
        self._settings = settings
        self._now = now

    def verify(self, headers: Mapping[str, str], raw: bytes) -> str | None:
        presented, timestamp = headers.get("x-chatwoot-signature"), headers.get("x-chatwoot-timestamp")
        if not presented or not timestamp:
            return "missing X-Chatwoot-Signature or X-Chatwoot-Timestamp header"
        if not timestamp.isdigit() or abs(self._now() - int(timestamp)) > TOLERANCE_SECONDS:
            return "X-Chatwoot-Timestamp is not within five minutes"
        expected = signature_of(self._settings.webhook_secret.get_secret_value(), timestamp, raw)
        if not hmac.compare_digest(presented.encode(), expected.encode()):
            return "X-Chatwoot-Signature does not match the body"
        return None

    def read(self, raw: bytes) -> Delivery:
        body = json_body(raw)
        if not isinstance(body, dict) or not isinstance(body.get("event"), str):
            raise Refused("not a Chatwoot webhook")
        return Delivery(key=event_key(body), body=body)


def event_key(body: dict[str, Any]) -> str:
    """Message and contact ids are stable; a status change is keyed by its conversation, status and time."""
    event = str(body.get("event"))[:40]
    parts = [event, str(body.get("id", ""))[:40]]
    if event == "conversation_status_changed":
        parts += [str(body.get("status", ""))[:20], str(body.get("timestamp") or body.get("updated_at") or "")[:30]]
    return "cw:" + ":".join(parts)


def read_chat_event(body: dict[str, Any]) -> ChatEvent | None:
    """What leadflow needs of one of the four events; None for any other event."""
    event = body.get("event")
    if event not in EVENTS:
        return None
    conversation = _obj(body.get("conversation")) if event == "message_created" else body
    sender = _obj(_obj(conversation.get("meta")).get("sender"))
    if event == "contact_created":
        sender = body
    elif event == "message_created" and _obj(body.get("sender")).get("type") == "contact" and not sender:
        sender = _obj(body.get("sender"))
    return ChatEvent(
        event=str(event),
        contact=_contact(sender),
        conversation_id=_text(conversation.get("id"), 40) if event != "contact_created" else None,
        message_id=_text(body.get("id"), 40) if event == "message_created" else None,
        content=_text(body.get("content"), MAX_TEXT) if event == "message_created" else None,
        incoming=body.get("message_type") in ("incoming", 0),
        private=body.get("private") is True,
        status=_text(body.get("status"), 20),
        referer=_text(_obj(conversation.get("additional_attributes")).get("referer"), 2048),
    )


def _contact(sender: dict[str, Any]) -> ChatContact | None:
    contact_id = _text(sender.get("id"), 40)
    if contact_id is None:
        return None
    attributes = _obj(sender.get("custom_attributes"))
    return ChatContact(
        id=contact_id,
        name=_text(sender.get("name"), 200),
        email=_text(sender.get("email"), 254),
        phone=_text(sender.get("phone_number"), 40),
        tracking_id=_text(attributes.get("tracking_id"), 255),
    )


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any, limit: int) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", "").strip()
    return text[:limit] if text else None
