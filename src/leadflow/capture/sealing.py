"""Personal data in the event log, sealed (LGPD crypto-shredding, ARCHITECTURE §6, docs/trust/lgpd.md "Sealing").

Each row keeps in clear what routing, KPIs, replay filters and the console need — type, name, ids, times, UTMs,
click ids, touches, page addresses without their other query parameters — and seals the rest of its payload (the
form's fields, traits, properties, context ip, user id, a vendor's raw delivery) under its subject's data key:

- ``visitor``: the tracking (anonymous) id, when the event has one;
- ``user``: the HMAC of the site's user id, when it has only that;
- ``event``: the message id otherwise (a form without tracking id, a vendor delivery), tied to the person by the
  reader that identifies them (``link_event_to_person``).

An event whose traits name an e-mail or a phone is sealed, inside its subject's key, under the key of each of them
(``contact``, named by the HMAC of the match key): whoever owns that e-mail or phone takes the event with them when
anonymised, even if the visitor who sent it was never tied to them.

Anonymising a person destroys their keys (``privacy.service``): the rows stay as written, their personal part never
opens again, and readers get the clear part only (``SealedPart.ANONYMISED`` marks it). Rejected input is sealed under
its visitor's key when the body names one, else under a key per tenant and day, destroyed by retention
(``rejected_day_keys``) once the whole day is past the operational period.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.kit.br import InvalidValue, normalize_email, normalize_phone, phone_match_key
from leadflow.kit.ids import new_id
from leadflow.kit.scope import Scope
from leadflow.models import Event, RejectedEvent
from leadflow.pipeline.enrich import CLICK_ID_FIELDS, UTM_FIELDS, marketing_url
from leadflow.privacy import keys as secrets
from leadflow.privacy.sealing import (
    CONTACT,
    EVENT,
    REJECTED,
    USER,
    VISITOR,
    SealingKeys,
    Subject,
    envelope_subject,
    envelope_subjects,
    link_to_person,
    open_envelope,
    seal_envelope,
)

SEALED: Final = "_sealed"  # the payload key holding the envelope of the personal part
ANONYMISED: Final = "[anonimizado]"  # what a reader shows where the personal part no longer opens
RAW_PREFIX: Final = "sealed:v1:"  # a sealed rejected body: the prefix, then the envelope as JSON


class _Keep:
    """Spec leaf: the value stays in clear."""


class _Url:
    """Spec leaf: an address stays in clear without its other query parameters (they may carry an e-mail)."""


KEEP, URL = _Keep(), _Url()
Spec = Mapping[str, "_Keep | _Url | Spec"]
TOUCH: Spec = {
    **dict.fromkeys((*UTM_FIELDS, *CLICK_ID_FIELDS), KEEP),
    "referrer": URL,
    "landing_page": URL,
    "page_url": URL,
    "channel": KEEP,
    "at": KEEP,
}
CAMPAIGN: Spec = dict.fromkeys(("source", "medium", "name", "term", "content", *UTM_FIELDS, *CLICK_ID_FIELDS), KEEP)
SEGMENT: Spec = {
    **dict.fromkeys(
        ("type", "event", "name", "category", "messageId", "anonymousId", "timestamp", "sentAt"),
        KEEP,
    ),
    **dict.fromkeys(("originalTimestamp", "receivedAt", "version", "channel", "integrations"), KEEP),
    "context": {
        **dict.fromkeys(("library", "userAgent", "locale", "timezone", "screen", "os", "app"), KEEP),
        "campaign": CAMPAIGN,
        "page": {"path": KEEP, "title": KEEP, "url": URL, "referrer": URL},
    },
    "properties": {
        **dict.fromkeys(("form_key", "tracking_id", "path", "title"), KEEP),
        "url": URL,
        "referrer": URL,
        "first_touch": TOUCH,
        "last_touch": TOUCH,
    },
}
FORM: Spec = {
    "form_key": KEEP,
    "tracking_id": KEEP,
    "consent": KEEP,
    "first_touch": TOUCH,
    "last_touch": TOUCH,
}
DELIVERY: Spec = dict.fromkeys(("connection_id", "connection_key", "delivery_event_id", "notice"), KEEP)


@dataclass(frozen=True, slots=True)
class OpenedEvent:
    """An event as a reader sees it: the payload as received (clear and opened parts merged) with its ip and user
    id, or — once the subject was anonymised — the clear part only, ``anonymised`` set."""

    payload: dict[str, Any]
    ip: str | None
    user_id: str | None
    anonymised: bool


# Writing


def spec_for(row: Mapping[str, Any]) -> Spec:
    source, kind = row.get("source"), str(row.get("type"))
    if kind == "form":
        return FORM
    if source in ("segment", "t.js"):
        return SEGMENT
    return DELIVERY


def split_personal(value: Mapping[str, Any], spec: Spec) -> tuple[dict[str, Any], dict[str, Any]]:
    """``value`` as (clear, personal): what the spec keeps, and everything else at the same paths. A trimmed
    address is in both, trimmed in clear and whole in the personal part, which wins when they are merged."""
    clear: dict[str, Any] = {}
    personal: dict[str, Any] = {}
    for name, item in value.items():
        rule = spec.get(name)
        if rule is KEEP:
            clear[name] = item
        elif rule is URL and type(item) is str:
            clear[name] = trimmed = marketing_url(item)
            if trimmed != item:
                personal[name] = item
        elif type(rule) is dict and type(item) is dict:  # exact types: the ABC checks cost more than the walk
            clear[name], inner = split_personal(item, rule)
            if inner:
                personal[name] = inner
        else:
            personal[name] = item
    return clear, personal


def event_subject(row: Mapping[str, Any]) -> Subject:
    if tracking_id := row.get("tracking_id") or row.get("anonymous_id"):
        return VISITOR, str(tracking_id)
    if user_id := row.get("user_id"):
        return user_subject(str(user_id))
    return EVENT, str(row["message_id"])


def contact_subjects(row: Mapping[str, Any]) -> tuple[Subject, ...]:
    """The e-mail and phone a Segment-style event's traits name, as subjects keyed by their HMAC: the event is
    sealed under their keys too, so anonymising whoever owns that e-mail or phone shreds it even when the visitor
    who sent it was never tied to them (an ``identify`` from another browser)."""
    payload = row.get("payload")
    if spec_for(row) is not SEGMENT or not isinstance(payload, dict):
        return ()
    traits = payload.get("traits")
    context = payload.get("context")
    found: list[Subject] = []
    for named in (traits, context.get("traits") if isinstance(context, dict) else None):
        if isinstance(named, dict):
            for kind, match_key in _MATCH_KEYS.items():
                if (subject := _named_subject(kind, match_key, named.get(kind))) is not None:
                    found.append(subject)
    return tuple(dict.fromkeys(found))


# A trait's match key, as the person's identity of that kind keys it.
_MATCH_KEYS: dict[str, Callable[[str], str]] = {
    "email": normalize_email,
    "phone": lambda raw: phone_match_key(normalize_phone(raw)),
}


def _named_subject(kind: str, match_key: Callable[[str], str], value: object) -> Subject | None:
    """The key an e-mail or phone trait names, or None when the trait is missing or not a valid one."""
    if not isinstance(value, str):
        return None
    try:
        return contact_subject(kind, match_key(value))
    except InvalidValue:
        return None


def contact_subject(kind: str, match_key: str) -> Subject:
    """An e-mail's or phone's key, named by the HMAC of its match key under the current secret."""
    return CONTACT, secrets.contact_key_refs(kind, match_key)[0]


def user_subject(user_id: str) -> Subject:
    """A site's user id is often an e-mail: the key is named by its HMAC, never by the id itself."""
    return USER, secrets.contact_digests("user", user_id)[0]


def event_context(tenant_id: object, message_id: str) -> bytes:
    return f"{tenant_id}|event|{message_id}".encode()


async def seal_rows(session: AsyncSession, scope: Scope, rows: Sequence[dict[str, Any]]) -> None:
    """Seal, in place and before they are inserted, the personal part of event rows (column dicts): one query for
    the keys of all their subjects, one insert for the new ones, then one AES-GCM operation per row."""
    pending = split_rows(rows)
    keys = await SealingKeys.for_writing(session, scope, subjects_to_seal(pending))
    seal_split(keys, pending)


Pending = list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]  # (row, clear payload, personal part)


def split_rows(rows: Sequence[dict[str, Any]]) -> Pending:
    pending = []
    for row in rows:
        clear, personal = split_personal(row["payload"], spec_for(row))
        secret = {"payload": personal, "ip": row.get("ip"), "user_id": row.get("user_id")}
        pending.append((row, clear, {name: value for name, value in secret.items() if value}))
    return pending


def subjects_to_seal(pending: Pending) -> set[Subject]:
    return {subject for row, _, secret in pending if secret for subject in (event_subject(row), *contact_subjects(row))}


def seal_split(keys: SealingKeys, pending: Pending) -> None:
    """The rows rewritten: clear payload plus the envelope of their personal part; ip and user id only inside."""
    for row, clear, secret in pending:
        if secret:
            context = event_context(keys.scope.tenant_id, row["message_id"])
            also = contact_subjects(row)
            clear[SEALED] = seal_envelope(keys, event_subject(row), secret, context=context, also=also)
        row["payload"], row["ip"], row["user_id"] = clear, None, None
        for column in ("page_url", "referrer"):
            if isinstance(row.get(column), str):
                row[column] = marketing_url(row[column])[:2048] or None


def rejected_subject(raw: str, received_at: datetime) -> Subject:
    """The visitor a refused body names (Segment's anonymousId, a form's lf_tracking_id), else the tenant's day."""
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict):
        for name in ("anonymousId", "lf_tracking_id"):
            tracking_id = body.get(name)
            # A refused body may carry anything: only a plausible id names a visitor (PostgreSQL text cannot even
            # hold a NUL, so such an id would fail the whole write group).
            if isinstance(tracking_id, str) and 0 < len(tracking_id) <= 255 and tracking_id.isprintable():
                return VISITOR, tracking_id
    return REJECTED, f"day:{received_at.date().isoformat()}"


async def seal_rejected(session: AsyncSession, scope: Scope, rows: Sequence[RejectedEvent]) -> None:
    """Seal the raw bodies of rejected rows (ORM objects not yet flushed); the failure stays in clear."""
    subjects = [rejected_subject(row.raw, row.received_at) for row in rows]
    keys = await SealingKeys.for_writing(session, scope, subjects)
    for row, subject in zip(rows, subjects, strict=True):
        row.id = row.id or new_id()
        envelope = seal_envelope(keys, subject, {"raw": row.raw}, context=_rejected_context(scope, row.id))
        row.raw = RAW_PREFIX + json.dumps(envelope, separators=(",", ":"))
        row.ip = None


def _rejected_context(scope: Scope, row_id: uuid.UUID) -> bytes:
    return f"{scope.tenant_id}|rejected|{row_id}".encode()


# Reading


async def open_events(session: AsyncSession, scope: Scope, events: Sequence[Event]) -> list[OpenedEvent]:
    """Every reader of event payloads goes through here: the keys of the whole batch in one query."""
    keys = await SealingKeys.for_reading(session, scope, subjects_of_events(events))
    return [_opened(keys, event) for event in events]


async def open_event(session: AsyncSession, scope: Scope, event: Event) -> OpenedEvent:
    return (await open_events(session, scope, [event]))[0]


async def open_rejected_raw(session: AsyncSession, scope: Scope, rows: Sequence[RejectedEvent]) -> list[str]:
    """The raw bodies of rejected rows as received, ``ANONYMISED`` where the key is gone."""
    envelopes = [_raw_envelope(row.raw) for row in rows]
    keys = await SealingKeys.for_reading(session, scope, [s for e in envelopes if (s := envelope_subject(e))])
    opened = []
    for row, envelope in zip(rows, envelopes, strict=True):
        if envelope is None:
            opened.append(row.raw)  # stored before sealing existed
            continue
        value = open_envelope(keys, envelope, context=_rejected_context(scope, row.id))
        opened.append(value["raw"] if isinstance(value, dict) and isinstance(value.get("raw"), str) else ANONYMISED)
    return opened


async def link_event_to_person(session: AsyncSession, scope: Scope, *, event: Event, person_id: uuid.UUID) -> None:
    """The reader identified whose event this is: its key follows the person (destroyed when they are
    anonymised). Visitor keys need no link — the person's tracking ids name them."""
    subject = envelope_subject(_envelope(event.payload))
    if subject is not None and subject[0] == EVENT:
        await link_to_person(session, scope, subject=subject, person_id=person_id)


def _opened(keys: SealingKeys, event: Event) -> OpenedEvent:
    payload = event.payload if isinstance(event.payload, dict) else {}
    envelope = _envelope(payload)
    clear = {name: value for name, value in payload.items() if name != SEALED}
    if envelope is None:  # nothing personal, or a row stored before sealing existed
        return OpenedEvent(payload=clear, ip=event.ip, user_id=event.user_id, anonymised=False)
    secret = open_envelope(keys, envelope, context=event_context(event.tenant_id, event.message_id))
    if not isinstance(secret, dict):
        return OpenedEvent(payload={**clear, SEALED: ANONYMISED}, ip=None, user_id=None, anonymised=True)
    merged = merge(clear, secret.get("payload") or {})
    return OpenedEvent(payload=merged, ip=secret.get("ip"), user_id=secret.get("user_id"), anonymised=False)


def merge(clear: Mapping[str, Any], personal: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as received: the personal part put back at its paths (it wins over a trimmed address)."""
    merged = dict(clear)
    for name, value in personal.items():
        current = merged.get(name)
        both_maps = isinstance(current, Mapping) and isinstance(value, Mapping)
        merged[name] = merge(current, value) if both_maps else value  # type: ignore[arg-type]
    return merged


def _envelope(payload: object) -> dict[str, Any] | None:
    if not isinstance(payload, dict):
        return None
    envelope = payload.get(SEALED)
    return envelope if isinstance(envelope, dict) else None


def _raw_envelope(raw: str) -> dict[str, Any] | None:
    if not raw.startswith(RAW_PREFIX):
        return None
    try:
        envelope = json.loads(raw[len(RAW_PREFIX) :])
    except ValueError:
        return None
    return envelope if isinstance(envelope, dict) else None


def subjects_of_events(events: Iterable[Event]) -> list[Subject]:
    """The keys that sealed these events (anonymisation destroys those of the person's conversions)."""
    return [s for e in events for s in envelope_subjects(_envelope(e.payload))]
