"""Reading WhatsApp Cloud API webhook bodies (contracts §3.2 to 3.3). Tolerant: a field that is missing or of
another type reads as None, never as an error — the raw delivery is already kept in the event log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from leadflow.integrations.delivery_keys import delivery_key

MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
MEDIA_LABELS = {"image": "imagem", "video": "vídeo", "audio": "áudio", "document": "documento", "sticker": "figurinha"}
STATUS_ORDER = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3, "played": 3}
MAX_TEXT = 4096


@dataclass(frozen=True, slots=True)
class Referral:
    """A Click-to-WhatsApp ad click, carried only by the first message after it."""

    ctwa_clid: str | None
    source_url: str | None
    source_id: str | None
    source_type: str | None
    headline: str | None
    body: str | None
    media_type: str | None


@dataclass(frozen=True, slots=True)
class Media:
    id: str
    kind: str
    mime_type: str | None
    filename: str | None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    id: str
    phone_number_id: str | None
    wa_id: str | None  # as received: the address replies go to
    user_id: str | None  # Meta's business-scoped user id (2026), when present
    name: str | None
    occurred_at: datetime | None
    type: str
    text: str | None
    media: Media | None
    referral: Referral | None


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    id: str  # the wamid our send returned
    status: str
    occurred_at: datetime | None
    recipient_id: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Notification:
    messages: list[InboundMessage]
    statuses: list[StatusUpdate]


def read_notification(body: Any) -> Notification:
    messages: list[InboundMessage] = []
    statuses: list[StatusUpdate] = []
    for value in _values(body):
        contacts = _contacts(value)
        phone_number_id = _text(_obj(value.get("metadata")).get("phone_number_id"))
        for item in _list(value.get("messages")):
            message = _message(_obj(item), contacts, phone_number_id)
            if message is not None:
                messages.append(message)
        for item in _list(value.get("statuses")):
            status = _status(_obj(item))
            if status is not None:
                statuses.append(status)
    return Notification(messages=messages, statuses=statuses)


def notification_key(body: Any, raw: bytes) -> str:
    """Keyed by the wamids it carries (a status by wamid and status), so Meta's retries change nothing."""
    found = read_notification(body)
    ids = [f"msg:{m.id}" for m in found.messages] + [f"st:{s.id}:{s.status}" for s in found.statuses]
    return delivery_key("wa", ids, raw)


def _values(body: Any) -> list[dict[str, Any]]:
    values = []
    for entry in _list(_obj(body).get("entry")):
        for change in _list(_obj(entry).get("changes")):
            change = _obj(change)
            if change.get("field", "messages") == "messages":
                values.append(_obj(change.get("value")))
    return values


def _contacts(value: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The senders' profiles by wa_id (and by user id, for username-only senders)."""
    found: dict[str, dict[str, Any]] = {}
    for contact in _list(value.get("contacts")):
        contact = _obj(contact)
        for key in (_text(contact.get("wa_id")), _text(contact.get("user_id"))):
            if key:
                found[key] = contact
    return found


def _message(
    item: dict[str, Any], contacts: dict[str, dict[str, Any]], phone_number_id: str | None
) -> InboundMessage | None:
    wamid = _text(item.get("id"))
    kind = _text(item.get("type")) or "unknown"
    if wamid is None or kind in ("system", "unsupported", "reaction"):
        return None
    wa_id = _text(item.get("from"))
    contact = contacts.get(wa_id or "") or contacts.get(_text(item.get("from_user_id")) or "") or {}
    user_id = _text(item.get("from_user_id")) or _text(contact.get("user_id"))
    if wa_id is None and user_id is None:
        return None
    return InboundMessage(
        id=wamid,
        phone_number_id=phone_number_id,
        wa_id=wa_id,
        user_id=user_id,
        name=_text(_obj(contact.get("profile")).get("name")),
        occurred_at=_unix(item.get("timestamp")),
        type=kind,
        text=_readable(item, kind),
        media=_media(item, kind),
        referral=_referral(_obj(item.get("referral"))),
    )


def _readable(item: dict[str, Any], kind: str) -> str | None:
    """What a broker reads on the timeline for each kind of message."""
    section = _obj(item.get(kind))
    if kind == "text":
        return _text(section.get("body"), MAX_TEXT)
    if kind in MEDIA_TYPES:
        caption = _text(section.get("caption")) or _text(section.get("filename"))
        return f"[{MEDIA_LABELS[kind]}] {caption}" if caption else f"[{MEDIA_LABELS[kind]}]"
    if kind == "interactive":
        reply = _obj(section.get("button_reply")) or _obj(section.get("list_reply"))
        return _text(reply.get("title"), MAX_TEXT)
    if kind == "button":
        return _text(section.get("text"), MAX_TEXT)
    if kind == "location":
        return _location(section)
    if kind == "contacts":
        names = [_text(_obj(_obj(c).get("name")).get("formatted_name")) for c in _list(item.get("contacts"))]
        return "[contato] " + ", ".join(n for n in names if n) if any(names) else "[contato]"
    return None


def _location(section: dict[str, Any]) -> str:
    place = " — ".join(t for t in (_text(section.get("name")), _text(section.get("address"))) if t)
    lat, lon = section.get("latitude"), section.get("longitude")
    where = f"{lat}, {lon}" if isinstance(lat, int | float) and isinstance(lon, int | float) else ""
    return "[localização] " + " ".join(t for t in (place, f"({where})" if where else "") if t)


def _media(item: dict[str, Any], kind: str) -> Media | None:
    if kind not in MEDIA_TYPES:
        return None
    section = _obj(item.get(kind))
    media_id = _text(section.get("id"))
    if media_id is None:
        return None
    return Media(
        id=media_id, kind=kind, mime_type=_text(section.get("mime_type")), filename=_text(section.get("filename"))
    )


def _referral(section: dict[str, Any]) -> Referral | None:
    if not section:
        return None
    return Referral(
        ctwa_clid=_text(section.get("ctwa_clid")),
        source_url=_text(section.get("source_url")),
        source_id=_text(section.get("source_id")),
        source_type=_text(section.get("source_type")),
        headline=_text(section.get("headline")),
        body=_text(section.get("body")),
        media_type=_text(section.get("media_type")),
    )


def _status(item: dict[str, Any]) -> StatusUpdate | None:
    wamid, status = _text(item.get("id")), _text(item.get("status"))
    if wamid is None or status is None:
        return None
    errors = [_obj(e) for e in _list(item.get("errors"))]
    error = None
    if errors:
        first = errors[0]
        error = " ".join(str(v) for v in (first.get("code"), _text(first.get("title"))) if v is not None) or None
    return StatusUpdate(
        id=wamid,
        status=status[:20],
        occurred_at=_unix(item.get("timestamp")),
        recipient_id=_text(item.get("recipient_id")),
        error=error,
    )


def is_later_status(current: str | None, new: str) -> bool:
    """Statuses arrive out of order: sent < delivered < read; failed ends it unless a later delivered/read comes
    (multi-device)."""
    if current is None:
        return True
    if new == "failed":
        return current in ("accepted", "sent")
    if current == "failed":
        return new in ("delivered", "read", "played")
    return STATUS_ORDER.get(new, -1) > STATUS_ORDER.get(current, -1)


def _unix(value: Any) -> datetime | None:
    try:
        seconds = int(value)
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any, limit: int = 200) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", "").strip()
    return text[:limit] if text else None
