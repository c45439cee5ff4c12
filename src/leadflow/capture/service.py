"""Ingestion: each valid event appended once to the log, each invalid one kept with its reason (Snowplow's split)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.capture.parsing import (
    Refusal,
    body_text,
    check_event,
    event_text,
    generated_message_id,
    storable_text,
)
from leadflow.capture.repository import EventRepository, RejectedEventRepository
from leadflow.capture.schemas import IngestResult, RejectedItem, SegmentEvent
from leadflow.kit.errors import MalformedJson
from leadflow.kit.ids import new_id
from leadflow.kit.scope import Scope
from leadflow.models import Event, EventType, FailureType, RejectedEvent

SCHEMA_VERSION = 1
SEGMENT = "segment"
TRACKING_SCRIPT = "t.js"


class InvalidBody(MalformedJson):
    """The body itself could not be read as events; it is kept as a rejected event before the 400."""

    commit_on_error = True


@dataclass(frozen=True, slots=True)
class Arrival:
    """Where and when a request came in."""

    received_at: datetime
    api_key_id: uuid.UUID
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class Batch:
    items: list[Any]
    context: dict[str, Any]
    sent_at: Any


def reject_body(
    session: AsyncSession, arrival: Arrival, *, raw: bytes, failure_type: FailureType, message: str
) -> None:
    session.add(
        RejectedEvent(
            received_at=arrival.received_at,
            source=SEGMENT,
            failure_type=failure_type,
            failure=[{"path": "$", "message": message}],
            raw=body_text(raw),
            ip=arrival.ip,
            api_key_id=arrival.api_key_id,
        )
    )


def read_batch(body: Any, *, single_type: str | None) -> Batch | str:
    """The events of a body, or why the body holds none: ``{"batch": [...]}`` or one event for /v1/<type>."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if single_type is not None:
        event = {k: v for k, v in body.items() if k != "writeKey"}
        return Batch(items=[{**event, "type": single_type}], context={}, sent_at=None)
    items, context = body.get("batch"), body.get("context")
    if not isinstance(items, list):
        return "`batch` must be a list of events"
    return Batch(items=items, context=context if isinstance(context, dict) else {}, sent_at=body.get("sentAt"))


async def ingest(session: AsyncSession, scope: Scope, *, batch: Batch, arrival: Arrival) -> IngestResult:
    result = IngestResult()
    rows: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(batch.items):
        prepared = _with_batch_defaults(item, batch)
        checked = check_event(prepared)
        if isinstance(checked, Refusal):
            _reject(session, arrival, index, item, checked, result)
            continue
        row = _row(scope, checked, prepared, arrival)
        if row["message_id"] in rows:
            result.duplicates += 1
        else:
            rows[row["message_id"]] = row
    repo = EventRepository(session)
    stored = await repo.existing_message_ids(list(rows))
    fresh = [row for message_id, row in rows.items() if message_id not in stored]
    await repo.append(fresh)
    result.accepted, result.duplicates = len(fresh), result.duplicates + len(rows) - len(fresh)
    return result


def _with_batch_defaults(item: Any, batch: Batch) -> Any:
    """Segment's batch-level ``context`` and ``sentAt`` apply to every event that does not set its own."""
    if not isinstance(item, dict):
        return item
    merged = dict(item)
    if batch.context:
        own = item.get("context")
        merged["context"] = {**batch.context, **own} if isinstance(own, dict) else own or batch.context
    if batch.sent_at is not None and "sentAt" not in item:
        merged["sentAt"] = batch.sent_at
    return merged


def _reject(
    session: AsyncSession, arrival: Arrival, index: int, item: Any, refusal: Refusal, result: IngestResult
) -> None:
    message_id = item.get("messageId") if isinstance(item, dict) else None
    message_id = message_id if isinstance(message_id, str) and 0 < len(message_id) <= 128 else None
    message_id = message_id if message_id and storable_text(message_id) == message_id else None
    session.add(
        RejectedEvent(
            received_at=arrival.received_at,
            source=SEGMENT,
            failure_type=refusal.failure_type,
            failure=refusal.failure,
            raw=event_text(item),
            message_id=message_id,
            ip=arrival.ip,
            api_key_id=arrival.api_key_id,
        )
    )
    result.rejected.append(RejectedItem(index=index, message_id=message_id, errors=refusal.failure))


def occurred_at(received_at: datetime, sent_at: datetime | None, client_time: datetime | None) -> datetime:
    """Snowplow's clock-skew correction: the client's offset between event and send, applied to our clock."""
    if sent_at is not None and client_time is not None:
        try:
            return received_at - (sent_at - client_time)
        except OverflowError:  # absurd client clocks: keep what the client said
            return client_time
    return client_time or received_at


def _text(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _section(mapping: dict[str, Any] | None, key: str) -> dict[str, Any]:
    value = (mapping or {}).get(key)
    return value if isinstance(value, dict) else {}


def _source(context: dict[str, Any] | None) -> str:
    library = _section(context, "library").get("name")
    return TRACKING_SCRIPT if isinstance(library, str) and library.startswith("leadflow") else SEGMENT


def _row(scope: Scope, event: SegmentEvent, payload: dict[str, Any], arrival: Arrival) -> dict[str, Any]:
    campaign, page = _section(event.context, "campaign"), _section(event.context, "page")
    properties = event.properties or {}
    is_page = event.type == EventType.PAGE.value
    return {
        "id": new_id(),
        "tenant_id": scope.tenant_id,  # a core insert: the scope guard does not see it
        "type": EventType(event.type),
        "name": event.event or event.name,
        "source": _source(event.context),
        "message_id": event.message_id or generated_message_id(payload),
        "anonymous_id": event.anonymous_id,
        "user_id": event.user_id,
        "tracking_id": event.anonymous_id,
        "received_at": arrival.received_at,
        "sent_at": event.sent_at,
        "timestamp": event.client_time,
        "occurred_at": occurred_at(arrival.received_at, event.sent_at, event.client_time),
        "schema_version": SCHEMA_VERSION,
        "api_key_id": arrival.api_key_id,
        "ip": arrival.ip,
        "user_agent": _text((event.context or {}).get("userAgent"), 512) or arrival.user_agent,
        "payload": payload,
        "utm_source": _text(campaign.get("source"), 255),
        "utm_medium": _text(campaign.get("medium"), 255),
        "utm_campaign": _text(campaign.get("name"), 255),
        "page_url": _text(page.get("url") or (properties.get("url") if is_page else None), 2048),
        "referrer": _text(page.get("referrer") or (properties.get("referrer") if is_page else None), 2048),
    }


async def list_events(
    session: AsyncSession, scope: Scope, *, cursor: str | None, limit: int, **filters: Any
) -> tuple[list[Event], str | None]:
    repo = EventRepository(session)
    return await repo.page(repo.filtered(**filters), cursor=cursor, limit=limit, sort="received_at")


async def list_rejected_events(
    session: AsyncSession, scope: Scope, *, cursor: str | None, limit: int, **filters: Any
) -> tuple[list[RejectedEvent], str | None]:
    repo = RejectedEventRepository(session)
    return await repo.page(repo.filtered(**filters), cursor=cursor, limit=limit, sort="received_at")
