"""Ingestion: each valid event appended once to the log, each invalid one kept with its reason (Snowplow's split).

Requests do not write on their own: they validate their events and hand the rows to the tenant's :class:`EventLog`,
which writes the rows of every request waiting at that moment in one transaction (group commit) and answers each
request with its own counts once that transaction has committed.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import Counter, Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.outbox import enqueue
from leadflow.capture.events import pipeline_event_for
from leadflow.capture.parsing import (
    Refusal,
    body_text,
    check_event,
    event_text,
    generated_message_id,
    storable_text,
)
from leadflow.capture.repository import EventRepository, RejectedEventRepository
from leadflow.capture.schemas import EventRead, IngestResult, RejectedEventRead, RejectedItem, SegmentEvent
from leadflow.capture.sealing import open_events, open_rejected_raw, seal_rejected, seal_rows
from leadflow.kit.db import Database
from leadflow.kit.errors import MalformedJson
from leadflow.kit.groupcommit import GroupCommit, GroupCommitStats
from leadflow.kit.ids import new_id
from leadflow.kit.metrics import REGISTRY
from leadflow.kit.scope import Scope
from leadflow.models import Event, EventType, FailureType, RejectedEvent

SCHEMA_VERSION = 1
SEGMENT = "segment"
TRACKING_SCRIPT = "t.js"
MAX_GROUP_ROWS = 5000  # rows per shared transaction; one request heavier than that is written alone

EVENTS_ACCEPTED = Counter("leadflow_events_accepted_total", "Events appended to the log", registry=REGISTRY)
EVENTS_DUPLICATE = Counter("leadflow_events_duplicate_total", "Events already in the log", registry=REGISTRY)
EVENTS_REJECTED = Counter("leadflow_events_rejected_total", "Events kept as rejected", registry=REGISTRY)
INGEST_TRANSACTIONS = Counter(
    "leadflow_ingest_transactions_total", "Transactions committed by the event log", registry=REGISTRY
)
INGEST_GROUP_REQUESTS = Histogram(
    "leadflow_ingest_group_requests",
    "Requests sharing one event-log transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
    registry=REGISTRY,
)


class InvalidBody(MalformedJson):
    """The body itself could not be read as events; it is kept as a rejected event before the 400."""


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


@dataclass(slots=True)
class Submission:
    """One request's share of a group: its valid rows (unique by message id) and its refusals, not yet stored."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)  # RejectedEvent columns
    refused: list[RejectedItem] = field(default_factory=list)  # the answer's `rejected`
    repeated: int = 0  # events repeating a message id earlier in the same request

    @property
    def weight(self) -> int:
        return max(1, len(self.rows) + len(self.rejected))

    def outcome(self, inserted: set[uuid.UUID]) -> IngestResult:
        accepted = sum(1 for row in self.rows if row["id"] in inserted)
        duplicates = self.repeated + len(self.rows) - accepted
        return IngestResult(accepted=accepted, duplicates=duplicates, rejected=self.refused)


class EventLog:
    """The group-commit writer of one database: one transaction at a time per tenant, shared by its requests."""

    def __init__(self, db: Database, *, max_group_rows: int = MAX_GROUP_ROWS) -> None:
        self._db = db
        self._group: GroupCommit[uuid.UUID, tuple[AsyncSession, Scope], Submission, IngestResult] = GroupCommit(
            begin=self._begin, write=self._write, max_weight=max_group_rows, on_commit=_count_transaction
        )

    @property
    def stats(self) -> GroupCommitStats:
        return self._group.stats

    async def append(self, scope: Scope, submission: Submission) -> IngestResult:
        """Store the submission in the next shared transaction of the scope's tenant; return once it committed.

        Raises :class:`~leadflow.kit.groupcommit.GroupCommitFailed` (503) when that transaction did not commit.
        """
        if scope.tenant_id is None:
            raise ValueError("the event log writes for one tenant at a time")
        result = await self._group.submit(scope.tenant_id, submission, weight=submission.weight)
        EVENTS_ACCEPTED.inc(result.accepted)
        EVENTS_DUPLICATE.inc(result.duplicates)
        EVENTS_REJECTED.inc(len(submission.rejected))
        return result

    @asynccontextmanager
    async def _begin(self, tenant_id: uuid.UUID) -> AsyncIterator[tuple[AsyncSession, Scope]]:
        scope = Scope.for_tenant(tenant_id)
        async with self._db.session(scope) as session:
            yield session, scope

    @staticmethod
    async def _write(unit: tuple[AsyncSession, Scope], submissions: list[Submission]) -> list[IngestResult]:
        session, scope = unit
        return await write_group(session, scope, submissions=submissions)


def _count_transaction(requests: int, _rows: int) -> None:
    INGEST_TRANSACTIONS.inc()
    INGEST_GROUP_REQUESTS.observe(requests)


_event_logs: weakref.WeakKeyDictionary[Database, EventLog] = weakref.WeakKeyDictionary()


def event_log(db: Database) -> EventLog:
    """The event log writer of this database (one per database object, made on first use)."""
    log = _event_logs.get(db)
    if log is None:
        log = _event_logs[db] = EventLog(db)
    return log


async def write_group(session: AsyncSession, scope: Scope, *, submissions: list[Submission]) -> list[IngestResult]:
    """Write several requests' rows in the caller's transaction; one answer per request, from what was inserted.

    A message id repeated across the group is inserted once (the earliest request wins); one stored before, by
    this or another process, is skipped by the insert itself. Only inserted rows are announced to the pipeline.
    """
    unique: dict[str, dict[str, Any]] = {}
    for submission in submissions:
        for row in submission.rows:
            unique.setdefault(row["message_id"], row)
    rows = list(unique.values())
    for row in rows:
        row["tenant_id"] = scope.tenant_id  # a core insert: the tenant comes from this session's scope
    await seal_rows(session, scope, rows)
    inserted = await EventRepository(session).append(rows)
    announce_to_pipeline(session, [row for row in rows if row["id"] in inserted])
    rejected = [RejectedEvent(**values) for submission in submissions for values in submission.rejected]
    if rejected:
        await seal_rejected(session, scope, rejected)
        session.add_all(rejected)
    return [submission.outcome(inserted) for submission in submissions]


async def reject_body(
    session: AsyncSession,
    scope: Scope,
    *,
    log: EventLog,
    arrival: Arrival,
    raw: bytes,
    failure_type: FailureType,
    message: str,
) -> None:
    """Keep a body that holds no events as one rejected event (committed before the caller's 400)."""
    rejected = {
        "received_at": arrival.received_at,
        "source": SEGMENT,
        "failure_type": failure_type,
        "failure": [{"path": "$", "message": message}],
        "raw": body_text(raw),
        "ip": arrival.ip,
        "api_key_id": arrival.api_key_id,
    }
    await _release_connection(session)
    await log.append(scope, Submission(rejected=[rejected]))


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


async def ingest(session: AsyncSession, scope: Scope, *, log: EventLog, batch: Batch, arrival: Arrival) -> IngestResult:
    """Validate the batch, then append it through the tenant's shared transaction; answers after the commit."""
    submission = prepare(batch, arrival)
    await _release_connection(session)
    return await log.append(scope, submission)


def prepare(batch: Batch, arrival: Arrival) -> Submission:
    """The rows a batch adds to the log and the refusals it leaves, before anything is stored."""
    submission = Submission()
    seen: set[str] = set()
    for index, item in enumerate(batch.items):
        prepared = _with_batch_defaults(item, batch)
        checked = check_event(prepared)
        if isinstance(checked, Refusal):
            _refuse(submission, arrival, index, item, checked)
            continue
        row = _row(checked, prepared, arrival)
        if row["message_id"] in seen:
            submission.repeated += 1
            continue
        seen.add(row["message_id"])
        submission.rows.append(row)
    return submission


async def _release_connection(session: AsyncSession) -> None:
    """End the request session's reads (tenant and key lookups on a cache miss) before waiting for the writer.

    Nothing was written in it; holding its connection while the writer needs one would deadlock SQLite, which
    has a single connection, and would idle a pooled one on PostgreSQL.
    """
    if session.in_transaction():
        await session.rollback()


def announce_to_pipeline(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Publish, in the ingesting transaction, the rows that may create, update or identify a lead."""
    for row in rows:
        announcement = pipeline_event_for(row["tenant_id"], row["id"], row["type"], row["name"])
        if announcement is not None:
            enqueue(session, announcement)


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


def _refuse(submission: Submission, arrival: Arrival, index: int, item: Any, refusal: Refusal) -> None:
    message_id = item.get("messageId") if isinstance(item, dict) else None
    message_id = message_id if isinstance(message_id, str) and 0 < len(message_id) <= 128 else None
    message_id = message_id if message_id and storable_text(message_id) == message_id else None
    submission.rejected.append(
        {
            "received_at": arrival.received_at,
            "source": SEGMENT,
            "failure_type": refusal.failure_type,
            "failure": refusal.failure,
            "raw": event_text(item),
            "message_id": message_id,
            "ip": arrival.ip,
            "api_key_id": arrival.api_key_id,
        }
    )
    submission.refused.append(RejectedItem(index=index, message_id=message_id, errors=refusal.failure))


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


def _row(event: SegmentEvent, payload: dict[str, Any], arrival: Arrival) -> dict[str, Any]:
    campaign, page = _section(event.context, "campaign"), _section(event.context, "page")
    properties = event.properties or {}
    is_page = event.type == EventType.PAGE.value
    return {
        "id": new_id(),
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
) -> tuple[list[EventRead], str | None]:
    """A page of the log, each payload opened (the clear part only for an anonymised subject)."""
    repo = EventRepository(session)
    events, next_cursor = await repo.page(repo.filtered(**filters), cursor=cursor, limit=limit, sort="received_at")
    opened = await open_events(session, scope, events)
    return [_event_read(e, o) for e, o in zip(events, opened, strict=True)], next_cursor


def _event_read(event: Event, opened: Any) -> EventRead:
    read = EventRead.model_validate(event)
    return read.model_copy(update={"payload": opened.payload, "ip": opened.ip, "user_id": opened.user_id})


async def pages_visited(
    session: AsyncSession, scope: Scope, *, tracking_ids: Sequence[str], limit: int = 100
) -> list[Event]:
    """The pages the visitors with these tracking ids viewed (t.js ``page`` events), newest first, at most
    ``limit``: one query however many visitors."""
    return list(await EventRepository(session).pages_of_visitors(tracking_ids, limit=limit))


async def list_rejected_events(
    session: AsyncSession, scope: Scope, *, cursor: str | None, limit: int, **filters: Any
) -> tuple[list[RejectedEventRead], str | None]:
    """A page of refused input: the reason in clear, the raw body opened (a placeholder once anonymised)."""
    repo = RejectedEventRepository(session)
    rows, next_cursor = await repo.page(repo.filtered(**filters), cursor=cursor, limit=limit, sort="received_at")
    raws = await open_rejected_raw(session, scope, rows)
    pairs = zip(rows, raws, strict=True)
    return [RejectedEventRead.model_validate(r).model_copy(update={"raw": raw}) for r, raw in pairs], next_cursor
