"""Retention: delete what is past its period and anonymise people whose leads never converted, one batch per
kind of record per step. A step runs in the caller's transaction; the caller (``leadflow retention run`` or the
worker's daily message) commits it and calls again while a step reports more work. Every step is idempotent: a
step after everything due is gone changes nothing and records nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.audit.chain import PURGE_ACTION
from leadflow.kit import audit
from leadflow.kit.scope import Scope
from leadflow.kit.storage import Storage
from leadflow.models import Attachment, Development, Interaction, Lead, Person, Property, RetentionPolicy, Task, Visit
from leadflow.privacy import service as privacy
from leadflow.retention.policy import RetentionPeriods, effective_periods
from leadflow.retention.repository import RetentionRepository, access_log_target, operational_targets
from leadflow.retention.schemas import RetentionOverrides

log = structlog.get_logger("leadflow.retention")

DEFAULT_BATCH = 500
ANONYMISE_BATCH = 20  # anonymising touches many tables per person: fewer per step
APPLIED_ACTION = "retention.applied"


@dataclass
class AuditPurge:
    from_seq: int
    to_seq: int
    count: int
    anchor_hash: str | None


@dataclass
class RetentionReport:
    """What one step removed (or, in a dry run, would remove), by kind of record."""

    dry_run: bool
    periods: RetentionPeriods
    removed: dict[str, int] = field(default_factory=dict)
    audit_purge: AuditPurge | None = None
    audit_entries_removed: int = 0
    files_removed: int = 0
    anonymised: list[uuid.UUID] = field(default_factory=list)
    more: bool = False  # a batch was full: call again

    @property
    def changed_anything(self) -> bool:
        return bool(any(self.removed.values()) or self.audit_entries_removed or self.anonymised)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "removed": self.removed,
            "audit_purge": self.audit_purge.__dict__ if self.audit_purge else None,
            "audit_entries_removed": self.audit_entries_removed,
            "files_removed": self.files_removed,
            "anonymised": [str(p) for p in self.anonymised],
        }


# Soft-deletable rows hard-deleted after the grace period, children before parents; the column names the
# attachments a parent's deletion cascades to (their files must go too).
SOFT_DELETED: list[tuple[type[Any], str | None]] = [
    (Attachment, None),
    (Task, None),
    (Visit, None),
    (Interaction, "interaction_id"),
    (Lead, "lead_id"),
    (Person, "person_id"),
    (Property, "property_id"),
    (Development, None),
]


async def apply_retention(
    session: AsyncSession,
    scope: Scope,
    *,
    now: datetime,
    storage: Storage | None,
    dry_run: bool = False,
    batch: int = DEFAULT_BATCH,
) -> RetentionReport:
    """One step of retention for the scope's tenant (see the module docstring)."""
    repo = RetentionRepository(session)
    periods = effective_periods(await repo.policy())
    report = RetentionReport(dry_run=dry_run, periods=periods)
    # The audit purge goes first, before this step records anything of its own.
    await _purge_audit(repo, session, report, periods.cutoff("audit_days", now), batch)
    for name, (model, condition) in operational_targets(periods.cutoff("operational_days", now)).items():
        await _delete(repo, report, name, model, condition, batch)
    model, condition = access_log_target(periods.cutoff("access_log_days", now))
    await _delete(repo, report, "access_log", model, condition, batch)
    await _hard_delete_soft_deleted(repo, report, periods.cutoff("soft_delete_grace_days", now), storage, batch)
    if periods.unconverted_lead_days > 0:
        await _anonymise_unconverted(repo, session, scope, report, periods.cutoff("unconverted_lead_days", now))
    if not dry_run and (any(report.removed.values()) or report.anonymised):
        audit.record(session, action=APPLIED_ACTION, entity_type="retention", entity_id=None, changes=report.as_dict())
    return report


async def _delete(
    repo: RetentionRepository,
    report: RetentionReport,
    name: str,
    model: type[Any],
    condition: ColumnElement[bool],
    batch: int,
) -> list[uuid.UUID]:
    if report.dry_run:
        report.removed[name] = await repo.count_due(model, condition)
        return []
    ids = await repo.due_ids(model, condition, limit=batch)
    if ids:
        await repo.delete_ids(model, ids)
    report.removed[name] = len(ids)
    report.more = report.more or len(ids) == batch
    return ids


async def _hard_delete_soft_deleted(
    repo: RetentionRepository, report: RetentionReport, cutoff: datetime, storage: Storage | None, batch: int
) -> None:
    for model, attachment_column in SOFT_DELETED:
        condition = model.deleted_at < cutoff
        if model is Person:  # a lead still refers to them (RESTRICT): they go after their leads
            condition = condition & ~exists().where(Lead.person_id == Person.id)
        name = f"{model.__tablename__}_deleted"
        if report.dry_run:
            await _delete(repo, report, name, model, condition, batch)
            continue
        ids = await repo.due_ids(model, condition, limit=batch)
        if not ids:
            report.removed[name] = 0
            continue
        keys = await repo.storage_keys(_attachments_of(model, attachment_column, ids))
        await repo.delete_ids(model, ids)
        report.removed[name] = len(ids)
        report.more = report.more or len(ids) == batch
        report.files_removed += await _remove_files(storage, keys)


def _attachments_of(model: type[Any], column: str | None, ids: list[uuid.UUID]) -> ColumnElement[bool]:
    """The attachments deleting these rows removes: the rows themselves, or their children by cascade."""
    if column is None:
        return Attachment.id.in_(ids) if model is Attachment else Attachment.id.is_(None)
    condition = getattr(Attachment, column).in_(ids)
    if model in (Lead, Person):  # their interactions cascade, and those interactions' attachments with them
        interactions = select(Interaction.id).where(getattr(Interaction, column).in_(ids))
        condition = or_(condition, Attachment.interaction_id.in_(interactions))
    return condition


async def _remove_files(storage: Storage | None, keys: list[str]) -> int:
    """Delete the stored files of deleted attachments. Before the commit: should it fail, the rows (past their
    grace period anyway) are deleted again by the next step, and deleting a missing file is not an error."""
    if storage is None:
        return 0
    for key in keys:
        await storage.delete(key)
    return len(keys)


async def _purge_audit(
    repo: RetentionRepository, session: AsyncSession, report: RetentionReport, cutoff: datetime, batch: int
) -> None:
    """Delete the chain's oldest entries written before ``cutoff``. The first step of a purge appends an
    ``audit.purged`` entry naming the range and the hash of its last entry (the anchor) before deleting, in the
    same transaction, so the chain verifies after every step, even when a purge takes several."""
    declared = await repo.purged_up_to(PURGE_ACTION)
    limit = await repo.audit_purge_limit(cutoff)
    if limit is not None and limit > declared:
        anchor = await repo.audit_entry(limit)
        count = await repo.count_audit_up_to(limit)
        report.audit_purge = AuditPurge(declared + 1, limit, count, anchor.hash if anchor else None)
        if not report.dry_run:
            changes = {**report.audit_purge.__dict__, "before": cutoff.isoformat()}
            audit.record(session, action=PURGE_ACTION, entity_type="audit_log", entity_id=None, changes=changes)
        declared = limit
    if report.dry_run:
        report.audit_entries_removed = await repo.count_audit_up_to(declared) if declared else 0
        return
    ids = await repo.oldest_audit_ids(declared, limit=batch) if declared else []
    removed = await repo.delete_audit_entries(ids) if ids else 0
    report.audit_entries_removed = removed
    # On PostgreSQL a purge declared in this step is committed, and so deletable, only at the next step.
    report.more = report.more or removed == batch or (report.audit_purge is not None and removed < len(ids))


async def _anonymise_unconverted(
    repo: RetentionRepository, session: AsyncSession, scope: Scope, report: RetentionReport, cutoff: datetime
) -> None:
    """People whose leads never converted and saw no activity for the tenant's period lose their personal data
    (``leadflow.privacy.service.anonymise_person``: aggregates stay)."""
    people = await repo.unconverted_people(cutoff, limit=ANONYMISE_BATCH)
    if report.dry_run:
        report.anonymised = people
        return
    for person_id in people:
        await privacy.anonymise_person(session, scope, person_id=person_id, reason="retention")
    report.anonymised = people
    report.more = report.more or len(people) == ANONYMISE_BATCH


async def tenant_periods(session: AsyncSession, scope: Scope) -> tuple[RetentionPeriods, RetentionPolicy | None]:
    """The periods that apply to the scope's tenant, and its overrides (None when it has none)."""
    policy = await RetentionRepository(session).policy()
    return effective_periods(policy), policy


async def set_overrides(session: AsyncSession, scope: Scope, *, data: RetentionOverrides) -> RetentionPeriods:
    """Replace the tenant's overrides: each field given overrides the default, a blank one goes back to it."""
    repo = RetentionRepository(session)
    policy = await repo.policy()
    if policy is None:
        policy = repo.add(RetentionPolicy())
    for name, value in data.model_dump().items():
        setattr(policy, name, value)
    await session.flush()
    return effective_periods(policy)
