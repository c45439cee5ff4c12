from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.audit.chain import PURGE_ACTION, Anchor, ChainBreak, ChainChecker
from leadflow.audit.repository import AuditRepository
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import AccessLogEntry, AuditEntry

VERIFY_BATCH = 1000  # entries read per query while verifying: memory stays flat however long the chain


async def list_entries(
    session: AsyncSession,
    scope: Scope,
    *,
    entity_type: str | None = None,
    entity_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[AuditEntry], str | None]:
    repo = AuditRepository(session)
    stmt = repo.filtered(
        entity_type=entity_type, entity_id=entity_id, actor_id=actor_id, action=action, since=since, until=until
    )
    return await repo.page(stmt, cursor=cursor, limit=limit, sort="occurred_at")


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of verifying one tenant's chain."""

    tenant_id: uuid.UUID
    entries: int
    first_seq: int | None
    last_seq: int | None
    broken: ChainBreak | None
    redacted: int = 0  # entries whose personal values were redacted (their changes are no longer checkable)

    @property
    def holds(self) -> bool:
        return self.broken is None


async def verify_chain(session: AsyncSession, scope: Scope, *, batch: int = VERIFY_BATCH) -> ChainReport:
    """Walk the scope's tenant's audit chain oldest first, in batches, and report the first broken entry."""
    assert scope.tenant_id is not None, "a chain belongs to one tenant"
    repo = AuditRepository(session)
    unchained = await repo.first_unchained()
    if unchained is not None:
        broken = ChainBreak(None, unchained, "the entry has no place in the chain (no sequence or hash)")
        return ChainReport(scope.tenant_id, 0, None, None, broken)
    checker = ChainChecker(await _anchors(repo))
    async for entry in _entries(repo, batch):
        if not checker.feed(entry):
            break
    head = await repo.chain_head()
    end = checker.finish(*(head if head is not None else (None, None)))
    return ChainReport(scope.tenant_id, checker.entries, checker.first_seq, checker.last_seq, end, checker.redacted)


async def _anchors(repo: AuditRepository) -> dict[int, Anchor]:
    anchors = {}
    for changes in await repo.changes_of(PURGE_ACTION):
        to_seq = changes.get("to_seq")
        if isinstance(to_seq, int):
            anchors[to_seq] = Anchor(to_seq, changes.get("anchor_hash"))
    return anchors


async def _entries(repo: AuditRepository, batch: int) -> AsyncIterator[dict[str, Any]]:
    after = 0
    while True:
        rows = await repo.chain_batch(after=after, limit=batch)
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = rows[-1]["seq"]


REDACTED = "[redacted]"


async def redact_changes(
    session: AsyncSession, scope: Scope, *, entity_type: str, entity_ids: Sequence[uuid.UUID]
) -> int:
    """LGPD anonymisation: replace every recorded value in the audit entries of these rows with ``[redacted]``
    (the names of the changed fields, who, when and what action stay). The chain commits to ``changes_hash``, not
    to the values, so it still verifies; the entries are marked ``redacted_at``. Returns how many were redacted."""
    entries = await AuditRepository(session).unredacted_of(entity_type, entity_ids)
    now = utcnow()
    for entry in entries:
        entry.changes = {name: _redact(value) for name, value in entry.changes.items()}
        entry.redacted_at = now
    return len(entries)


def _redact(value: Any) -> Any:
    if isinstance(value, list):
        return [None if v is None else REDACTED for v in value]
    return None if value is None else REDACTED


def log_access(session: AsyncSession, scope: Scope, *, method: str, route: str) -> None:
    """Marco Civil art. 15: note who reached the API, when and from where, in the request's own transaction
    (one insert with the request's other writes at commit; nothing when the request rolls back)."""
    request = session.sync_session.info.get("request") or {}
    session.add(
        AccessLogEntry(
            actor_type=scope.actor_type,
            actor_id=scope.actor_id,
            ip=request.get("ip"),
            method=method[:8],
            route=route[:200],
            request_id=request.get("request_id"),
        )
    )
