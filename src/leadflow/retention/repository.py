"""Every query retention makes. All of them run in a session scoped to one tenant, which confines them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, delete, exists, func, or_, select, text
from sqlalchemy.dialects import postgresql

from leadflow.kit.repository import Repository
from leadflow.models import (
    AccessLogEntry,
    Attachment,
    AuditChainHead,
    AuditEntry,
    Lead,
    LeadStatus,
    Notification,
    OutboxMessage,
    OutboxStatus,
    Person,
    RefreshToken,
    RejectedEvent,
    RetentionPolicy,
)
from leadflow.models.privacy import Anonymisation, DataKey
from leadflow.privacy.sealing import REJECTED

ALL_ROWS = {"include_deleted": True}


class RetentionRepository(Repository[RetentionPolicy]):
    model = RetentionPolicy

    async def policy(self) -> RetentionPolicy | None:
        return (await self.session.scalars(select(RetentionPolicy))).one_or_none()

    async def due_ids(self, model: type[Any], condition: ColumnElement[bool], *, limit: int) -> list[uuid.UUID]:
        """Up to ``limit`` ids of ``model`` rows matching ``condition`` (soft-deleted rows included)."""
        stmt = select(model.id).where(condition).order_by(model.id).limit(limit).execution_options(**ALL_ROWS)
        return list((await self.session.scalars(stmt)).all())

    async def count(self, stmt: Select[Any]) -> int:
        return await super().count(stmt.execution_options(**ALL_ROWS))

    async def count_due(self, model: type[Any], condition: ColumnElement[bool]) -> int:
        return await self.count(select(model.id).where(condition))

    async def delete_ids(self, model: type[Any], ids: Sequence[uuid.UUID]) -> None:
        stmt = delete(model).where(model.id.in_(ids))
        await self.session.execute(stmt.execution_options(synchronize_session=False, **ALL_ROWS))

    async def storage_keys(self, condition: ColumnElement[bool]) -> list[str]:
        stmt = select(Attachment.storage_key).where(condition).execution_options(**ALL_ROWS)
        return list((await self.session.scalars(stmt)).all())

    # The audit chain.

    async def audit_purge_limit(self, cutoff: datetime) -> int | None:
        """The last sequence of the chain's oldest run of entries written before ``cutoff`` (None: no such run)."""
        first_young = await self.session.scalar(
            select(func.min(AuditEntry.seq)).where(AuditEntry.occurred_at >= cutoff)
        )
        if first_young is not None:
            return int(first_young) - 1 if first_young > 1 else None
        newest = await self.session.scalar(select(AuditChainHead.last_seq))
        return int(newest) if newest else None

    async def audit_entry(self, seq: int) -> AuditEntry | None:
        return (await self.session.scalars(select(AuditEntry).where(AuditEntry.seq == seq))).one_or_none()

    async def oldest_audit_ids(self, up_to_seq: int, *, limit: int) -> list[uuid.UUID]:
        stmt = select(AuditEntry.id).where(AuditEntry.seq <= up_to_seq).order_by(AuditEntry.seq).limit(limit)
        return list((await self.session.scalars(stmt)).all())

    async def delete_audit_entries(self, ids: Sequence[uuid.UUID]) -> int:
        """Delete purged audit entries. On PostgreSQL the app role may not DELETE from the audit log: a function
        owned by the migration role deletes what a committed ``audit.purged`` entry declared (migration 0007)."""
        if self.session.get_bind().dialect.name != "postgresql":
            await self.delete_ids(AuditEntry, ids)
            return len(ids)
        purge = text("SELECT leadflow_purge_audit(:ids)").bindparams(
            bindparam("ids", type_=postgresql.ARRAY(postgresql.UUID(as_uuid=True)))
        )
        return int(await self.session.scalar(purge, {"ids": list(ids)}) or 0)

    async def count_audit_up_to(self, up_to_seq: int) -> int:
        return await self.count(select(AuditEntry.id).where(AuditEntry.seq <= up_to_seq))

    async def purged_up_to(self, action: str) -> int:
        """The highest sequence a recorded purge covers (0 when none)."""
        purges = (await self.session.scalars(select(AuditEntry.changes).where(AuditEntry.action == action))).all()
        return max((int(c.get("to_seq", 0)) for c in purges), default=0)

    # People whose leads never converted.

    async def unconverted_people(self, cutoff: datetime, *, limit: int) -> list[uuid.UUID]:
        """People with leads, none won, no change to them or their leads since ``cutoff``, not yet anonymised."""
        stmt = (
            select(Person.id)
            .where(
                Person.updated_at < cutoff,
                exists().where(Lead.person_id == Person.id),
                ~exists().where(
                    Lead.person_id == Person.id, or_(Lead.status == LeadStatus.WON, Lead.updated_at >= cutoff)
                ),
                ~exists().where(Anonymisation.person_id == Person.id),
            )
            .order_by(Person.id)
            .limit(limit)
            .execution_options(**ALL_ROWS)
        )
        return list((await self.session.scalars(stmt)).all())


def operational_targets(cutoff: datetime) -> dict[str, tuple[type[Any], ColumnElement[bool]]]:
    """Operational logs, by name: what they are and when one is due."""
    return {
        # Delivered bus messages (their handler runs go with them); dead letters wait for a replay decision.
        "outbox_delivered": (
            OutboxMessage,
            and_(OutboxMessage.status == OutboxStatus.DONE, OutboxMessage.occurred_at < cutoff),
        ),
        "rejected_events": (RejectedEvent, RejectedEvent.received_at < cutoff),
        # The key of each whole day of refused input nobody could be named in, once that day is past retention:
        # destroying it shreds whatever of the day a batch has not deleted yet (ISO dates compare as text).
        "rejected_day_keys": (
            DataKey,
            and_(DataKey.subject_kind == REJECTED, DataKey.subject_ref < f"day:{cutoff.date().isoformat()}"),
        ),
        "refresh_tokens_expired": (RefreshToken, RefreshToken.expires_at < cutoff),
        # Notifications the user read that long ago (unread ones stay until they are seen).
        "notifications_read": (Notification, and_(Notification.read_at.is_not(None), Notification.read_at < cutoff)),
    }


def access_log_target(cutoff: datetime) -> tuple[type[Any], ColumnElement[bool]]:
    return AccessLogEntry, AccessLogEntry.at < cutoff


async def pending_retention_messages(repo: Repository[Any], *, other_than: uuid.UUID | None = None) -> int:
    """How many retention messages of the tenant wait in the outbox (besides ``other_than``, the one running)."""
    stmt = select(OutboxMessage.id).where(
        OutboxMessage.event_name == "retention.due", OutboxMessage.status == OutboxStatus.PENDING
    )
    if other_than is not None:
        stmt = stmt.where(OutboxMessage.id != other_than)
    return await repo.count(stmt)
