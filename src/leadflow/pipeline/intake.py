"""Reading a conversion out of the event log: who wrote in, through which form, from which first and last touch.

Two shapes arrive: a post to our ``/v1/forms/{key}`` (an event of type ``form`` whose payload is
``capture.forms.form_payload``) and a site's own form reported by t.js (a ``track`` call named ``form_submitted`` with
``properties.form_key``, ``properties.fields`` and the touches in ``properties`` or ``context``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from leadflow.capture.forms import CONTACT_FIELDS
from leadflow.capture.sealing import OpenedEvent
from leadflow.models import Event, EventType
from leadflow.pipeline.enrich import (
    Attribution,
    Contact,
    Device,
    attribution_from_fields,
    attribution_from_url,
    device_from_user_agent,
    merge_attribution,
    normalize_contact,
)

MAX_NAME = 200
MAX_MESSAGE = 5000


@dataclass(frozen=True, slots=True)
class Submission:
    """A conversion, enriched: contact normalised, touches with their channel, device from the user agent."""

    event_id: Any
    form_key: str | None
    name: str | None
    message: str | None
    contact: Contact
    tracking_id: str | None
    first_touch: Attribution
    last_touch: Attribution
    device: Device
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        """What the CRM calls the person when the form did not ask for a name."""
        return self.name or self.contact.email or self.contact.phone or "Visitante do site"


def read_submission(event: Event, opened: OpenedEvent) -> Submission:
    """The conversion an event holds (``opened``: its payload through ``capture.sealing.open_event``); fields it
    lacks are None, never an error (the event was accepted). An anonymised subject's event keeps its touches and
    loses its contact: a replay re-decides on the attribution and never brings the person back."""
    payload = opened.payload
    if event.type is EventType.FORM:
        return _from_form(event, payload)
    return _from_track(event, payload)


def _from_form(event: Event, payload: dict[str, Any]) -> Submission:
    fields = _mapping(payload.get("fields"))
    first = attribution_from_fields(_mapping(payload.get("first_touch")))
    last_fields = _mapping(payload.get("last_touch"))
    last = attribution_from_fields(last_fields) if last_fields else first
    return _submission(event, _text(payload.get("form_key")), fields, first, last, payload.get("tracking_id"))


def _from_track(event: Event, payload: dict[str, Any]) -> Submission:
    properties = _mapping(payload.get("properties"))
    context = _mapping(payload.get("context"))
    page = _mapping(context.get("page"))
    from_page = attribution_from_url(_text(page.get("url")) or "", _text(page.get("referrer")))
    first_fields = _mapping(properties.get("first_touch"))
    first = attribution_from_fields(first_fields) if first_fields else from_page
    first = merge_attribution(first, _mapping(context.get("campaign")))
    last_fields = _mapping(properties.get("last_touch"))
    last = attribution_from_fields(last_fields) if last_fields else first
    fields = _mapping(properties.get("fields"))
    tracking_id = event.tracking_id or _text(properties.get("tracking_id"))
    return _submission(event, _text(properties.get("form_key")), fields, first, last, tracking_id)


def _submission(
    event: Event,
    form_key: str | None,
    fields: Mapping[str, Any],
    first: Attribution,
    last: Attribution,
    tracking_id: object,
) -> Submission:
    contact = normalize_contact(email=_text(fields.get("email")), phone=_text(fields.get("phone")))
    extra = {
        key[:60]: value[:500]
        for key, value in fields.items()
        if key not in CONTACT_FIELDS and isinstance(value, str) and value.strip()
    }
    return Submission(
        event_id=event.id,
        form_key=form_key,
        name=_text(fields.get("name"), MAX_NAME),
        message=_paragraphs(fields.get("message"), MAX_MESSAGE),
        contact=contact,
        tracking_id=_text(tracking_id, 255),
        first_touch=first,
        last_touch=last,
        device=device_from_user_agent(event.user_agent),
        extra=dict(list(extra.items())[:30]),
    )


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object, limit: int = 255) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.replace("\x00", "").split())[:limit]
    return text or None


def _paragraphs(value: object, limit: int) -> str | None:
    """A visitor's message keeps its line breaks (a broker reads it as written)."""
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", "").strip()[:limit].strip()
    return text or None
