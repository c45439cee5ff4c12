"""The subject export (LGPD art. 18 II and V, art. 19): every row that holds or points at one person, as JSON or
as a zip of CSV files, raw events included (their payloads as received).

Only rows reached from the person's id (and their leads and visitor ids) are read, inside the tenant scope: the
export cannot carry another person's data unless a row links them.
"""

from __future__ import annotations

import csv
import enum
import io
import json
import uuid
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.capture.sealing import open_events
from leadflow.kit import audit
from leadflow.kit.orm import Base
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint
from leadflow.person.service import get_person
from leadflow.privacy.repository import (
    ConsentLogRepository,
    RequestRepository,
    SubjectDataRepository,
    tracking_ids_of,
)
from leadflow.privacy.service import current_consents, list_purposes
from leadflow.sync.chat import CHATWOOT

EXPORT_VERSION = 1
# Columns that are bookkeeping of the platform, not data about the person.
_SKIPPED = frozenset({"tenant_id", "name_key", "phone_tail", "storage_key"})


async def export_subject(session: AsyncSession, scope: Scope, *, person_id: uuid.UUID) -> dict[str, Any]:
    """The person's data, section by section (see docs/trust/lgpd.md). Audited as an ``export`` of the person."""
    person = await get_person(session, scope, person_id=person_id)
    subject = SubjectDataRepository(session)
    identities = await subject.identities(person.id)
    leads = await subject.leads(person.id)
    lead_ids = [lead.id for lead in leads]
    conversions = await subject.conversions(lead_ids)
    consents = await ConsentLogRepository(session).of_person(person.id)
    events = await subject.events(tracking_ids_of(identities), [c.event_id for c in conversions])
    audit.record(session, action="export", entity_type="people", entity_id=person.id)
    return {
        "export": {"version": EXPORT_VERSION, "generated_at": utcnow().isoformat(), "person_id": str(person.id)},
        "person": _row(person),
        "identities": [_row(i) for i in identities],
        "purposes": [p.model_dump(mode="json") for p in await list_purposes(session, scope)],
        "consents": [_row(c) for c in consents],
        "current_consents": [_plain(vars_of(s)) for s in current_consents(consents)],
        "leads": [_row(lead) for lead in leads],
        "stage_history": [_row(h) for h in await subject.stage_history(lead_ids)],
        "conversions": [_row(c) for c in conversions],
        "interactions": [_row(i) for i in await subject.interactions(person.id, lead_ids)],
        "tasks": [_row(t) for t in await subject.tasks(person.id, lead_ids)],
        "visits": [_row(v) for v in await subject.visits(lead_ids)],
        "attachments": [_row(a) for a in await subject.attachments(person.id, lead_ids)],
        "events": await _opened_events(session, scope, events),
        "privacy_requests": [_row(r) for r in await RequestRepository(session).of_person(person.id)],
        "shared_with": await shared_with(subject, person_id=person.id, lead_ids=lead_ids),
    }


async def shared_with(
    subject: SubjectDataRepository, *, person_id: uuid.UUID, lead_ids: list[uuid.UUID]
) -> list[dict[str, Any]]:
    """The CRMs, chat tools and partners the person's data was sent to (art. 18 VII): who received what, and when.

    A CRM or Chatwoot record is one row (the provider and its record id); a partner endpoint is one row with the
    event types it received about the person, how many deliveries and the first and last time one was sent.
    """
    crms = [
        _plain({
            "recipient_kind": "crm" if ref.provider != CHATWOOT else "chat",
            "recipient": ref.provider,
            "entity_type": ref.entity_type,
            "entity_id": ref.entity_id,
            "external_record": f"{ref.external_type}:{ref.external_id}",
            "first_shared_at": ref.created_at,
            "last_shared_at": ref.last_pushed_at,
        })
        for ref in await subject.external_refs(person_id, lead_ids)
    ]  # fmt: skip
    by_endpoint: dict[uuid.UUID, list[WebhookDelivery]] = {}
    endpoints: dict[uuid.UUID, WebhookEndpoint] = {}
    for delivery, endpoint in await subject.partner_deliveries(person_id, lead_ids):
        by_endpoint.setdefault(endpoint.id, []).append(delivery)
        endpoints[endpoint.id] = endpoint
    partners = [
        _plain({
            "recipient_kind": "partner_webhook",
            "recipient": endpoints[endpoint_id].url,
            "endpoint_id": endpoint_id,
            "event_types": sorted({d.event_type for d in deliveries}),
            "deliveries": len(deliveries),
            "delivered": sum(d.status == DeliveryStatus.DELIVERED for d in deliveries),
            "first_shared_at": deliveries[0].created_at,
            "last_shared_at": deliveries[-1].created_at,
        })
        for endpoint_id, deliveries in by_endpoint.items()
    ]  # fmt: skip
    return crms + partners


def export_as_csv_zip(export: dict[str, Any]) -> bytes:
    """One CSV per section (``person.csv``, ``leads.csv``, …) in a zip; nested values are JSON in their cell."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for section, value in export.items():
            rows = value if isinstance(value, list) else [value]
            archive.writestr(f"{section}.csv", _csv(rows))
    return buffer.getvalue()


def _csv(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


async def _opened_events(session: AsyncSession, scope: Scope, events: list[Event]) -> list[dict[str, Any]]:
    """The raw events with their payloads opened: the subject gets what they sent, not its sealed form."""
    opened = await open_events(session, scope, events)
    return [
        {**_row(e), **_plain({"payload": o.payload, "ip": o.ip, "user_id": o.user_id})}
        for e, o in zip(events, opened, strict=True)
    ]


def vars_of(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


def _row(obj: Base, *, skip: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    mapper = inspect(type(obj))
    return _plain({attr.key: getattr(obj, attr.key) for attr in mapper.column_attrs if attr.key not in _SKIPPED | skip})


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {key: _json(value) for key, value in values.items()}


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return None  # sealed or binary material is never exported
    return value
