"""One mechanism for the audit trail: every flush of an audited model records who changed what.

Models opt in with ``__audited__ = True``. Before each flush, the changes of audited rows are turned into
:class:`AuditRecord` values (create, update, delete, restore, hard_delete, with before/after of the changed
fields, secrets masked); they are inserted into the audit table installed by the models package just before
the transaction commits, in it. Actions that are not row changes (a login, a reveal) use :func:`record`. A
rollback discards what was pending.

Each tenant's entries form a hash chain. Appending locks the tenant's row in the chain-heads table (``SELECT …
FOR UPDATE`` on PostgreSQL; SQLite has one writer anyway), numbers the new entries after the head, links each to
the previous one by ``prev_hash`` and seals it with ``hash`` = SHA-256 of :func:`canonical` (its fields and
``prev_hash``), then moves the head: two statements besides the insert, once per commit, however many entries.
"""

from __future__ import annotations

import enum
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, event, insert, inspect, select, update
from sqlalchemy.orm import Session, UOWTransaction

from leadflow.kit.ids import new_id
from leadflow.kit.orm import Base, TenantScoped
from leadflow.kit.scope import get_scope
from leadflow.kit.time import as_utc, utcnow

MASK = "***"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    tenant_id: uuid.UUID
    action: str
    entity_type: str
    entity_id: uuid.UUID | None
    changes: dict[str, Any]
    actor_type: str
    actor_id: uuid.UUID | None
    ip: str | None
    user_agent: str | None
    request_id: str | None


_table: Table | None = None
_heads: Table | None = None
PENDING = "audit_pending"

# The fields an entry's hash covers, besides ``prev_hash``. ``created_at``/``updated_at`` are bookkeeping.
HASHED_FIELDS = (
    "id",
    "tenant_id",
    "seq",
    "occurred_at",
    "actor_type",
    "actor_id",
    "action",
    "entity_type",
    "entity_id",
    "changes_hash",
    "ip",
    "user_agent",
    "request_id",
)
HASH_VERSION = 1


def install(table: Table, *, heads: Table | None = None) -> None:
    """Name the table audit rows go to and the table of chain heads (the models package owns them)."""
    global _table, _heads
    _table, _heads = table, heads


def _canonical_value(value: Any) -> Any:
    """A value as it reads back from either database: JSONB turns an integral float into an integer."""
    if isinstance(value, datetime):
        return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list | tuple):
        return [_canonical_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical_value(v) for k, v in value.items()}
    return value


def canonical(entry: Mapping[str, Any]) -> bytes:
    """The bytes an entry's hash is taken over: stable JSON (sorted keys, no spaces, UTF-8, UTC timestamps with
    microseconds) of the hashed fields and ``prev_hash``, tagged with the format version."""
    document = {name: _canonical_value(entry.get(name)) for name in HASHED_FIELDS}
    document["prev_hash"] = entry.get("prev_hash")
    document["v"] = HASH_VERSION
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


def changes_digest(changes: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of an entry's ``changes``: what the chain commits to instead of the values,
    so that redacting personal values later leaves the chain intact."""
    text = json.dumps(_canonical_value(dict(changes)), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _pending(session: Session) -> list[AuditRecord]:
    pending: list[AuditRecord] = session.info.setdefault(PENDING, [])
    return pending


def _write_pending(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    if not pending or _table is None:
        return
    by_tenant: dict[uuid.UUID, list[AuditRecord]] = {}
    for rec in pending:
        by_tenant.setdefault(rec.tenant_id, []).append(rec)
    connection = session.connection()
    rows: list[dict[str, Any]] = []
    for tenant_id in sorted(by_tenant):  # heads locked in one global order: two writers never deadlock
        rows.extend(_chain(connection, tenant_id, by_tenant[tenant_id]))
    # A Core insert, after the ORM rows are in: audit rows never wait on the unit of work's ordering.
    connection.execute(insert(_table), rows)


def _chain(connection: Connection, tenant_id: uuid.UUID, records: list[AuditRecord]) -> list[dict[str, Any]]:
    """Number, link and seal ``records`` after the tenant's head, and move the head past them."""
    last_seq, last_hash = lock_head(connection, tenant_id)
    now = utcnow()  # read under the lock: a tenant's entries are in time order as well as in chain order
    rows = []
    for rec in records:
        last_seq += 1
        row = {**asdict(rec), "id": new_id(), "occurred_at": now, "created_at": now, "updated_at": now}
        changes = _canonical_value(rec.changes)
        row.update(seq=last_seq, prev_hash=last_hash, changes=changes, changes_hash=changes_digest(changes))
        row["hash"] = last_hash = entry_hash(row)
        rows.append(row)
    if _heads is not None:
        heads = _heads.c
        connection.execute(
            update(_heads)
            .where(heads.tenant_id == tenant_id)
            .values(last_seq=last_seq, last_hash=last_hash, updated_at=now)
        )
    return rows


def lock_head(connection: Connection, tenant_id: uuid.UUID) -> tuple[int, str | None]:
    """The tenant's chain head (sequence and hash of its newest entry), locked until the transaction ends."""
    if _heads is None:
        return 0, None
    heads = _heads.c
    query = select(heads.last_seq, heads.last_hash).where(heads.tenant_id == tenant_id).with_for_update()
    head = connection.execute(query).one_or_none()
    if head is None:
        # The tenant's first entry: create its head; a concurrent first writer makes ours a no-op, then we wait.
        now = utcnow()
        values = {"id": new_id(), "tenant_id": tenant_id, "last_seq": 0, "created_at": now, "updated_at": now}
        connection.execute(_insert_if_absent(connection, _heads, values))
        head = connection.execute(query).one()
    return int(head.last_seq), head.last_hash


def _insert_if_absent(connection: Connection, table: Table, values: dict[str, Any]) -> Any:
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).values(values).on_conflict_do_nothing(index_elements=["tenant_id"])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).values(values).on_conflict_do_nothing(index_elements=["tenant_id"])


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | datetime | date | Decimal):
        return str(value) if not isinstance(value, datetime | date) else value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _row_tenant(obj: Base) -> uuid.UUID | None:
    if isinstance(obj, TenantScoped):
        return obj.tenant_id
    return obj.id if type(obj).__tablename__ == "tenants" else None


def record(
    session: Session | Any,
    *,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | None,
    tenant_id: uuid.UUID | None = None,
    changes: dict[str, Any] | None = None,
) -> None:
    """Record an action that is not a row change (login, logout, reveal, purge). Works with async sessions."""
    sync = getattr(session, "sync_session", session)
    scope = get_scope(sync)
    tid = tenant_id or (scope.tenant_id if scope else None)
    if tid is None:
        raise RuntimeError("an audit record needs a tenant")
    _pending(sync).append(_make_record(sync, tid, action, entity_type, entity_id, changes or {}))


def _make_record(
    session: Session,
    tenant_id: uuid.UUID,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | None,
    changes: dict[str, Any],
) -> AuditRecord:
    scope = get_scope(session)
    request = session.info.get("request") or {}
    return AuditRecord(
        tenant_id=tenant_id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        changes=changes,
        actor_type=scope.actor_type if scope else "system",
        actor_id=scope.actor_id if scope else None,
        ip=request.get("ip"),
        user_agent=request.get("user_agent"),
        request_id=request.get("request_id"),
    )


def _field_changes(obj: Base, *, all_fields: bool) -> dict[str, list[Any]]:
    state = inspect(obj)
    secret = type(obj).__secret_fields__
    changes: dict[str, list[Any]] = {}
    for attr in state.mapper.column_attrs:
        if attr.key in ("updated_at", "created_at") or attr.key in type(obj).__audit_exclude__:
            continue
        hist = state.attrs[attr.key].history
        if all_fields:
            after = getattr(obj, attr.key)
            if after is not None:
                changes[attr.key] = [None, MASK if attr.key in secret else _jsonable(after)]
        elif hist.has_changes():
            before = hist.deleted[0] if hist.deleted else None
            after = hist.added[0] if hist.added else None
            if attr.key in secret:
                changes[attr.key] = [MASK, MASK]
            else:
                changes[attr.key] = [_jsonable(before), _jsonable(after)]
    return changes


def _action_for_update(changes: dict[str, list[Any]]) -> str:
    if "deleted_at" in changes:
        before, after = changes["deleted_at"]
        if before is None and after is not None:
            return "delete"
        if before is not None and after is None:
            return "restore"
    return "update"


@event.listens_for(Session, "before_flush")
def _collect_changes(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    records: list[AuditRecord] = []
    for obj in list(session.new):
        if isinstance(obj, Base) and obj.__audited__:
            records.append(_record_for(session, obj, "create", _field_changes(obj, all_fields=True)))
    for obj in list(session.dirty):
        if isinstance(obj, Base) and obj.__audited__ and session.is_modified(obj, include_collections=False):
            changes = _field_changes(obj, all_fields=False)
            if changes:
                records.append(_record_for(session, obj, _action_for_update(changes), changes))
    for obj in list(session.deleted):
        if isinstance(obj, Base) and obj.__audited__:
            records.append(_record_for(session, obj, "hard_delete", {}))
    _pending(session).extend(records)


@event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    # Entries are written only now, at the end of the transaction: the chain head's lock is held for the commit
    # alone, never while the transaction goes on to lock other rows (which could deadlock with a writer that holds
    # those rows and waits for the head). The flush first collects the changes the commit would flush anyway.
    session.flush()
    _write_pending(session)


@event.listens_for(Session, "after_soft_rollback")
def _discard_on_rollback(session: Session, previous_transaction: object) -> None:
    session.info.pop(PENDING, None)


def _record_for(session: Session, obj: Base, action: str, changes: dict[str, list[Any]]) -> AuditRecord:
    tenant_id = _row_tenant(obj)
    if tenant_id is None:
        raise RuntimeError(f"audited row {type(obj).__name__} has no tenant")
    return _make_record(session, tenant_id, action, type(obj).__tablename__, obj.id, changes)
