"""Lead forms: a site's form posted to ``/v1/forms/{key}`` is kept in the event log (type ``form``) before the
answer, then the pipeline makes it a routed lead. Spam (honeypot) and invalid posts are kept as rejected events
with the reason; nothing is dropped silently."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.capture.parsing import storable_text
from leadflow.capture.repository import EventRepository, FormRepository, event_by_message_id
from leadflow.capture.schemas import FormCreate, FormUpdate
from leadflow.capture.sealing import seal_rejected, seal_rows
from leadflow.capture.service import SCHEMA_VERSION, announce_to_pipeline
from leadflow.kit.errors import Conflict, NotFound, ValidationFailed
from leadflow.kit.ids import new_id
from leadflow.kit.scope import Scope
from leadflow.models import Development, EventType, FailureType, LeadForm, Pipeline, Property, RejectedEvent, Team
from leadflow.pipeline.enrich import CLICK_ID_FIELDS, UTM_FIELDS

FORM_SOURCE = "form"
CONTACT_FIELDS = ("name", "email", "phone", "message")
# A touch as the form's hidden fields carry it: the enrich stage reads the same names.
TOUCH_FIELDS = (*UTM_FIELDS, *CLICK_ID_FIELDS, "referrer", "landing_page", "page_url")
HONEYPOT = "lf_hp"
CONTROL_FIELDS = frozenset({*TOUCH_FIELDS, HONEYPOT, "lf_tracking_id", "lf_last_touch", "lf_consent", "lf_message_id"})
LIMITS = {"name": 200, "email": 254, "phone": 40, "message": 5000}
MAX_EXTRA_FIELDS = 30
MAX_VALUE = 2048


class FormNotFound(NotFound):
    commit_on_error = True  # the refused post is kept as a rejected event


class InvalidSubmission(ValidationFailed):
    commit_on_error = True


class SpamSubmission(Exception):
    """The honeypot was filled: answered like a success (bots learn nothing), kept as rejected."""


@dataclass(frozen=True, slots=True)
class Visit:
    """Where and when the post came in."""

    received_at: datetime
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class Submitted:
    form: LeadForm
    event_id: uuid.UUID
    duplicate: bool


async def submit(
    session: AsyncSession, scope: Scope, *, form_key: str, fields: Mapping[str, str], visit: Visit
) -> Submitted:
    """Log the post as a ``form`` event (once per submission) and announce it to the pipeline."""
    form = await FormRepository(session).by_key(form_key)
    if form is None or not form.is_active:
        await _reject(session, scope, visit, fields, f"no active form with key {form_key!r}", form_key=form_key)
        raise FormNotFound(f"no active form with key {form_key!r}")
    if fields.get(HONEYPOT, "").strip():
        await _reject(session, scope, visit, fields, "honeypot field filled: treated as spam", form_key=form_key)
        raise SpamSubmission(form_key)
    contact = await _checked_contact(session, scope, visit, fields, form_key)
    row = _event_row(scope, form, contact, fields, visit)
    repo = EventRepository(session)
    await seal_rows(session, scope, [row])
    inserted = await repo.append([row])
    announce_to_pipeline(session, [row] if row["id"] in inserted else [])
    if inserted:
        return Submitted(form=form, event_id=row["id"], duplicate=False)
    existing = await event_by_message_id(session, row["message_id"])
    return Submitted(form=form, event_id=existing.id if existing else row["id"], duplicate=True)


def form_payload(
    *,
    form_key: str,
    fields: Mapping[str, str],
    first_touch: Mapping[str, str],
    last_touch: Mapping[str, str],
    tracking_id: str | None,
    consent: bool | None,
) -> dict[str, Any]:
    """What a form post keeps in the event log (the only writer is the forms endpoint)."""
    return {
        "form_key": form_key,
        "fields": dict(fields),
        "first_touch": dict(first_touch),
        "last_touch": dict(last_touch),
        "tracking_id": tracking_id,
        "consent": consent,
    }


async def _checked_contact(
    session: AsyncSession, scope: Scope, visit: Visit, fields: Mapping[str, str], form_key: str
) -> dict[str, str]:
    contact = {name: value for name in CONTACT_FIELDS if (value := _clean(fields.get(name)))}
    errors = [
        {"field": name, "message": f"at most {limit} characters"}
        for name, limit in LIMITS.items()
        if len(contact.get(name, "")) > limit
    ]
    if not contact.get("email") and not contact.get("phone"):
        errors.append({"field": "email", "message": "give an e-mail or a phone so the team can answer"})
    if errors:
        reason = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        await _reject(session, scope, visit, fields, reason, form_key=form_key)
        raise InvalidSubmission("the form is incomplete", errors=errors)
    return contact


def _event_row(
    scope: Scope, form: LeadForm, contact: dict[str, str], fields: Mapping[str, str], visit: Visit
) -> dict[str, Any]:
    first = {name: value for name in TOUCH_FIELDS if (value := _clean(fields.get(name)))}
    last = _last_touch(fields.get("lf_last_touch"))
    extra = {
        storable_text(name)[:60]: value
        for name, raw in list(fields.items())[: len(CONTACT_FIELDS) + len(CONTROL_FIELDS) + MAX_EXTRA_FIELDS]
        if name not in CONTROL_FIELDS and name not in CONTACT_FIELDS and (value := _clean(raw))
    }
    tracking_id = _clean(fields.get("lf_tracking_id"), 255)
    payload = form_payload(
        form_key=form.key,
        fields={**contact, **extra},
        first_touch=first,
        last_touch=last,
        tracking_id=tracking_id,
        consent=_consent(fields.get("lf_consent")),
    )
    return {
        "id": new_id(),
        "tenant_id": scope.tenant_id,  # a core insert: the scope guard does not see it
        "type": EventType.FORM,
        "name": form.key,
        "source": FORM_SOURCE,
        "message_id": _message_id(form.key, payload, fields.get("lf_message_id"), visit),
        "anonymous_id": tracking_id,
        "user_id": None,
        "tracking_id": tracking_id,
        "received_at": visit.received_at,
        "sent_at": None,
        "timestamp": None,
        "occurred_at": visit.received_at,
        "schema_version": SCHEMA_VERSION,
        "api_key_id": None,
        "ip": visit.ip,
        "user_agent": visit.user_agent,
        "payload": payload,
        "utm_source": first.get("utm_source", "")[:255] or None,
        "utm_medium": first.get("utm_medium", "")[:255] or None,
        "utm_campaign": first.get("utm_campaign", "")[:255] or None,
        "page_url": first.get("page_url") or first.get("landing_page"),
        "referrer": first.get("referrer"),
    }


def _message_id(form_key: str, payload: dict[str, Any], sent: str | None, visit: Visit) -> str:
    """The page's own id when t.js sent one; else the same fields within the same minute are one submission
    (a double click, a re-sent POST), so they are stored once."""
    if (given := _clean(sent, 100)) is not None:
        return f"form:{given}"
    minute = visit.received_at.strftime("%Y%m%d%H%M")
    digest = hashlib.sha256(json.dumps([form_key, payload, minute], sort_keys=True).encode()).hexdigest()
    return f"form:{digest[:48]}"


def _last_touch(raw: str | None) -> dict[str, str]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {name: text for name in TOUCH_FIELDS if (text := _clean(value.get(name)))}


def _consent(raw: str | None) -> bool | None:
    if raw is None:
        return None
    return raw.strip().lower() in ("1", "true", "on", "yes", "sim")


def _clean(value: object, limit: int = MAX_VALUE) -> str | None:
    if not isinstance(value, str):
        return None
    text = storable_text(value).strip()[:limit]
    return text or None


async def _reject(
    session: AsyncSession, scope: Scope, visit: Visit, fields: Mapping[str, str], reason: str, *, form_key: str
) -> None:
    rejected = RejectedEvent(
        received_at=visit.received_at,
        source=FORM_SOURCE,
        failure_type=FailureType.SCHEMA_VIOLATION,
        failure=[{"path": f"forms.{form_key}", "message": reason}],
        raw=storable_text(json.dumps(dict(fields), ensure_ascii=False))[:100_000],
        ip=visit.ip,
    )
    await seal_rejected(session, scope, [rejected])
    session.add(rejected)


# Managing forms


async def create_form(session: AsyncSession, scope: Scope, *, data: FormCreate) -> LeadForm:
    repo = FormRepository(session)
    if await repo.by_key(data.key) is not None:
        raise Conflict(f"a form with key {data.key!r} exists")
    await _check_references(session, data.model_dump())
    return repo.add(LeadForm(**data.model_dump()))


_REFERENCES: dict[str, type[Team | Pipeline | Property | Development]] = {
    "team_id": Team,
    "pipeline_id": Pipeline,
    "property_id": Property,
    "development_id": Development,
}


async def _check_references(session: AsyncSession, values: Mapping[str, Any]) -> None:
    """Every id a form points at is a live row of the tenant (the scoped query hides the others' rows)."""
    for name, model in _REFERENCES.items():
        ref = values.get(name)
        if ref is not None and await session.scalar(select(model.id).where(model.id == ref)) is None:
            raise ValidationFailed(f"no such {name.removesuffix('_id')}", errors=[{"field": name}])


async def get_form(session: AsyncSession, scope: Scope, *, form_id: uuid.UUID) -> LeadForm:
    return await FormRepository(session).get_or_raise(form_id, error=FormNotFound)


async def list_forms(
    session: AsyncSession, scope: Scope, *, cursor: str | None, limit: int
) -> tuple[list[LeadForm], str | None]:
    repo = FormRepository(session)
    return await repo.page(repo.select(), cursor=cursor, limit=limit)


async def update_form(session: AsyncSession, scope: Scope, *, form_id: uuid.UUID, data: FormUpdate) -> LeadForm:
    form = await get_form(session, scope, form_id=form_id)
    await _check_references(session, data.model_dump(exclude_unset=True))
    for name, value in data.model_dump(exclude_unset=True).items():
        setattr(form, name, value)
    return form
