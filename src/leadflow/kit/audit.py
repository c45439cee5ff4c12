"""One mechanism for the audit trail: every flush of an audited model records who changed what.

Models opt in with ``__audited__ = True``. Before each flush, the changes of audited rows are turned into
:class:`AuditRecord` values (create, update, delete, restore, hard_delete, with before/after of the changed
fields, secrets masked); after the flush they are inserted into the audit table installed by the models
package, in the same transaction. Actions that are not row changes (a login, a reveal) use :func:`record` and
are written before the commit. A rollback discards what was pending.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, event, insert, inspect
from sqlalchemy.orm import Session, UOWTransaction

from leadflow.kit.ids import new_id
from leadflow.kit.orm import Base, TenantScoped
from leadflow.kit.scope import get_scope
from leadflow.kit.time import utcnow

MASK = "***"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    tenant_id: uuid.UUID
    action: str
    entity_type: str
    entity_id: uuid.UUID | None
    changes: dict[str, list[Any]]
    actor_type: str
    actor_id: uuid.UUID | None
    ip: str | None
    user_agent: str | None
    request_id: str | None


_table: Table | None = None
PENDING = "audit_pending"


def install(table: Table) -> None:
    """Name the table audit rows go to (the models package owns it)."""
    global _table
    _table = table


def _pending(session: Session) -> list[AuditRecord]:
    pending: list[AuditRecord] = session.info.setdefault(PENDING, [])
    return pending


def _write_pending(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    if not pending or _table is None:
        return
    now = utcnow()
    rows = [
        {**asdict(rec), "id": new_id(), "occurred_at": now, "created_at": now, "updated_at": now} for rec in pending
    ]
    # A Core insert, after the ORM rows are in: audit rows never wait on the unit of work's ordering.
    session.connection().execute(insert(_table), rows)


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
    changes: dict[str, list[Any]] | None = None,
) -> None:
    """Record an action that is not a row change (login, logout, reveal). Works with async sessions."""
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
    changes: dict[str, list[Any]],
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


@event.listens_for(Session, "after_flush")
def _write_after_flush(session: Session, flush_context: UOWTransaction) -> None:
    _write_pending(session)


@event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    _write_pending(session)


@event.listens_for(Session, "after_soft_rollback")
def _discard_on_rollback(session: Session, previous_transaction: object) -> None:
    session.info.pop(PENDING, None)


def _record_for(session: Session, obj: Base, action: str, changes: dict[str, list[Any]]) -> AuditRecord:
    tenant_id = _row_tenant(obj)
    if tenant_id is None:
        raise RuntimeError(f"audited row {type(obj).__name__} has no tenant")
    return _make_record(session, tenant_id, action, type(obj).__tablename__, obj.id, changes)
