from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select

from leadflow.kit.audit import HASHED_FIELDS
from leadflow.kit.repository import Repository
from leadflow.models import AuditChainHead, AuditEntry


class AuditRepository(Repository[AuditEntry]):
    model = AuditEntry

    def filtered(
        self,
        *,
        entity_type: str | None,
        entity_id: uuid.UUID | None,
        actor_id: uuid.UUID | None,
        action: str | None,
        since: datetime | None,
        until: datetime | None,
    ) -> Select[Any]:
        stmt = self.select()
        if entity_type:
            stmt = stmt.where(AuditEntry.entity_type == entity_type)
        if entity_id:
            stmt = stmt.where(AuditEntry.entity_id == entity_id)
        if actor_id:
            stmt = stmt.where(AuditEntry.actor_id == actor_id)
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        if since:
            stmt = stmt.where(AuditEntry.occurred_at >= since)
        if until:
            stmt = stmt.where(AuditEntry.occurred_at < until)
        return stmt

    async def first_unchained(self) -> uuid.UUID | None:
        """An entry written outside the chain (no sequence or hash), if any."""
        stmt = select(AuditEntry.id).where(or_(AuditEntry.seq.is_(None), AuditEntry.hash.is_(None))).limit(1)
        return await self.session.scalar(stmt)

    async def changes_of(self, action: str) -> list[dict[str, Any]]:
        stmt = select(AuditEntry.changes).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        return list((await self.session.scalars(stmt)).all())

    async def chain_batch(self, *, after: int, limit: int) -> list[dict[str, Any]]:
        """The next ``limit`` entries after sequence ``after``: every field the hash covers, plus the links."""
        columns = [
            getattr(AuditEntry, name) for name in (*HASHED_FIELDS, "changes", "redacted_at", "prev_hash", "hash")
        ]
        stmt = select(*columns).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(limit)
        return [dict(row._mapping) for row in (await self.session.execute(stmt)).all()]

    async def chain_head(self) -> tuple[int, str | None] | None:
        head = (await self.session.execute(select(AuditChainHead.last_seq, AuditChainHead.last_hash))).one_or_none()
        return (int(head.last_seq), head.last_hash) if head is not None else None

    async def unredacted_of(self, entity_type: str, entity_ids: Sequence[uuid.UUID]) -> list[AuditEntry]:
        stmt = self.select().where(
            AuditEntry.entity_type == entity_type,
            AuditEntry.entity_id.in_(entity_ids),
            AuditEntry.redacted_at.is_(None),
        )
        return list((await self.session.scalars(stmt)).all())
