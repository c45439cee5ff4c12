"""Instagram DMs through Meta's webhook: signed like WhatsApp, one ``messaging`` item per message, the sender known
only by its Instagram-scoped id (IGSID). Timestamps are Unix milliseconds. Echoes (``is_echo``: written by the
business itself) are not inbound messages and are skipped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from leadflow.integrations.base import Delivery, Refused
from leadflow.integrations.delivery_keys import delivery_key
from leadflow.integrations.graph import DEFAULT_BASE_URL, DEFAULT_VERSION
from leadflow.integrations.jsonbody import json_body
from leadflow.integrations.metahooks import handshake_answer, verify_signature

MAX_TEXT = 4096


class InstagramSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str = Field(pattern=r"^[0-9]{5,32}$", examples=["17841400000000000"])
    graph_base_url: str = Field(default=DEFAULT_BASE_URL, max_length=300, pattern=r"^https?://")
    graph_version: str = Field(default=DEFAULT_VERSION, pattern=r"^v[0-9]+\.[0-9]+$")
    app_secret: SecretStr = Field(min_length=1, max_length=200)
    verify_token: SecretStr = Field(min_length=1, max_length=200)
    access_token: SecretStr | None = Field(default=None, max_length=1000)


@dataclass(frozen=True, slots=True)
class DirectMessage:
    id: str  # message.mid
    sender_id: str  # IGSID
    occurred_at: datetime | None
    text: str | None
    ad_id: str | None  # Click-to-Direct ads


class InstagramSource:
    def __init__(self, settings: InstagramSettings) -> None:
        self._settings = settings

    def verify(self, headers: Mapping[str, str], raw: bytes) -> str | None:
        return verify_signature(self._settings.app_secret.get_secret_value(), headers, raw)

    def answer(self, query: Mapping[str, str]) -> str | None:
        return handshake_answer(self._settings.verify_token.get_secret_value(), query)

    def read(self, raw: bytes) -> Delivery:
        body = json_body(raw)
        if not isinstance(body, dict) or body.get("object") != "instagram":
            raise Refused("not an Instagram notification")
        return Delivery(key=delivery_key("ig", [m.id for m in read_direct_messages(body)], raw), body=body)


def read_direct_messages(body: Any) -> list[DirectMessage]:
    found = []
    for entry in _list(_obj(body).get("entry")):
        for item in _list(_obj(entry).get("messaging")):
            message = _direct_message(_obj(item))
            if message is not None:
                found.append(message)
    return found


def _direct_message(item: dict[str, Any]) -> DirectMessage | None:
    message = _obj(item.get("message"))
    mid, sender = _text(message.get("mid"), 200), _text(_obj(item.get("sender")).get("id"), 64)
    if mid is None or sender is None or message.get("is_echo") or message.get("is_deleted"):
        return None
    text = _text(message.get("text"), MAX_TEXT)
    if text is None:
        kinds = [_text(_obj(a).get("type"), 20) for a in _list(message.get("attachments"))]
        text = " ".join(f"[{k}]" for k in kinds if k) or None
    return DirectMessage(
        id=mid,
        sender_id=sender,
        occurred_at=_millis(item.get("timestamp")),
        text=text,
        ad_id=_text(_obj(item.get("referral")).get("ad_id"), 64),
    )


def _millis(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any, limit: int) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", "").strip()
    return text[:limit] if text else None
