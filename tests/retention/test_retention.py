"""Retention: operational logs go after 30 days, the access log and the audit trail after 6 months, soft-deleted
rows after a 30-day grace, people whose leads never converted are anonymised after the tenant's period. Periods
can be overridden per tenant; a second run changes nothing; the audit chain verifies after every purge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from leadflow.audit.chain import PURGE_ACTION
from leadflow.capture.sealing import seal_rejected
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.storage import LocalStorage, tenant_key
from leadflow.models import (
    AccessLogEntry,
    Attachment,
    AuditEntry,
    FailureType,
    Lead,
    LeadStatus,
    Notification,
    OutboxMessage,
    OutboxStatus,
    Person,
    RejectedEvent,
    RetentionPolicy,
    Tenant,
)
from leadflow.models.privacy import Anonymisation, DataKey
from leadflow.privacy.sealing import REJECTED, VISITOR
from leadflow.retention.service import apply_retention
from tests import factories
from tests.audit.conftest import (
    attacker_login,  # noqa: F401 - autouse: who tampers on PostgreSQL
    chain_of,
    raw_sql,
    record_actions,
    verify,
)
from tests.retention.conftest import backdate, days_ago, run_retention


async def count(db: Database, tenant: Tenant, model: type[Any], *where: Any) -> int:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        stmt = select(func.count()).select_from(model).where(*where).execution_options(include_deleted=True)
        return int(await session.scalar(stmt) or 0)


async def add_rows(db: Database, tenant: Tenant, *rows: Any) -> None:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        session.add_all(rows)


def delivered(days: float) -> OutboxMessage:
    at = days_ago(days)
    return OutboxMessage(event_name="lead.created", occurred_at=at, available_at=at, status=OutboxStatus.DONE)


def rejected(days: float) -> RejectedEvent:
    return RejectedEvent(
        received_at=days_ago(days), source="segment", failure_type=FailureType.MALFORMED_JSON, failure=[], raw="{"
    )


def access(days: float) -> AccessLogEntry:
    return AccessLogEntry(at=days_ago(days), actor_type="user", ip="198.51.100.7", method="GET", route="/v1/leads")


async def set_policy(db: Database, tenant: Tenant, **days: int) -> None:
    await add_rows(db, tenant, RetentionPolicy(**days))


class TestOperationalLogs:
    async def test_delivered_messages_and_rejected_input_older_than_30_days_are_deleted(
        self, db: Database, tenant: Tenant
    ) -> None:
        await add_rows(db, tenant, delivered(31), delivered(29), rejected(45), rejected(2))

        totals = await run_retention(db, tenant)

        assert totals["removed"]["outbox_delivered"] == 1
        assert totals["removed"]["rejected_events"] == 1
        assert await count(db, tenant, OutboxMessage, OutboxMessage.event_name == "lead.created") == 1
        assert await count(db, tenant, RejectedEvent) == 1

    async def test_pending_and_dead_messages_are_kept_whatever_their_age(self, db: Database, tenant: Tenant) -> None:
        dead, pending = delivered(90), delivered(90)
        dead.status, pending.status = OutboxStatus.DEAD, OutboxStatus.PENDING
        pending.available_at = days_ago(-1)  # not due yet: no worker picks it up meanwhile
        await add_rows(db, tenant, dead, pending)

        await run_retention(db, tenant)

        assert await count(db, tenant, OutboxMessage, OutboxMessage.event_name == "lead.created") == 2

    async def test_a_tenant_override_shortens_the_period_for_that_tenant_only(
        self, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        await set_policy(db, tenant, operational_days=7)
        await add_rows(db, tenant, rejected(10))
        await add_rows(db, other_tenant, rejected(10))

        await run_retention(db, tenant)
        await run_retention(db, other_tenant)

        assert await count(db, tenant, RejectedEvent) == 0
        assert await count(db, other_tenant, RejectedEvent) == 1

    async def test_deletes_go_in_batches_until_nothing_is_due(self, db: Database, tenant: Tenant) -> None:
        await add_rows(db, tenant, *(rejected(40) for _ in range(5)))

        totals = await run_retention(db, tenant, batch=2)

        assert totals["removed"]["rejected_events"] == 5
        assert await count(db, tenant, RejectedEvent) == 0


async def add_sealed_rejected(db: Database, tenant: Tenant, *rows: RejectedEvent) -> None:
    """Refused input as ingestion keeps it: its raw body sealed under the visitor's key or the day's."""
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        await seal_rejected(session, Scope.for_tenant(tenant.id), rows)
        session.add_all(rows)


async def day_keys(db: Database, tenant: Tenant) -> set[str]:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        stmt = select(DataKey.subject_ref).where(DataKey.subject_kind.in_((REJECTED, VISITOR)))
        return set((await session.scalars(stmt)).all())


class TestRejectedInputKeys:
    async def test_the_key_of_a_day_past_retention_is_destroyed_with_its_rows(
        self, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        old, recent = rejected(45), rejected(2)
        visitor = rejected(45)
        visitor.raw = (
            '{"anonymousId": "anon-123", "type": "nonsense"}'  # names a visitor: sealed under the visitor's key
        )
        await add_sealed_rejected(db, tenant, old, recent, visitor)
        await add_sealed_rejected(db, other_tenant, rejected(45))
        old_day, recent_day = f"day:{old.received_at.date()}", f"day:{recent.received_at.date()}"
        assert await day_keys(db, tenant) == {old_day, recent_day, "anon-123"}

        totals = await run_retention(db, tenant)

        assert totals["removed"]["rejected_day_keys"] == 1
        assert await day_keys(db, tenant) == {recent_day, "anon-123"}  # a visitor's key lives with the visitor
        assert await count(db, tenant, RejectedEvent) == 1
        assert await day_keys(db, other_tenant) == {old_day}  # each tenant's retention is its own

    async def test_a_second_run_destroys_nothing_more(self, db: Database, tenant: Tenant) -> None:
        await add_sealed_rejected(db, tenant, rejected(45))
        await run_retention(db, tenant)
        assert (await run_retention(db, tenant))["removed"]["rejected_day_keys"] == 0


class TestNotifications:
    async def test_read_long_ago_go_unread_and_recently_read_stay(self, db: Database, tenant: Tenant) -> None:
        user = await factories.make_user(db, tenant)
        notices = [Notification(user_id=user.id, kind="rule_notice", read_at=read) for read in
                   (days_ago(45), days_ago(2), None)]  # fmt: skip
        notices[2].created_at = days_ago(90)  # old, but nobody read it yet
        await add_rows(db, tenant, *notices)

        totals = await run_retention(db, tenant)

        assert totals["removed"]["notifications_read"] == 1
        assert await count(db, tenant, Notification) == 2


class TestAccessLog:
    async def test_entries_older_than_six_months_are_deleted_younger_ones_kept(
        self, db: Database, tenant: Tenant
    ) -> None:
        await add_rows(db, tenant, access(200), access(150))

        await run_retention(db, tenant)

        assert await count(db, tenant, AccessLogEntry) == 1


class TestAuditPurge:
    @pytest_asyncio.fixture
    async def db(self, engine: AsyncEngine) -> AsyncIterator[Database]:
        """Committed for real: the tampering below comes from another login (see tests/audit/conftest.py)."""
        yield Database(engine)

    async def test_the_oldest_run_of_old_entries_is_purged_and_the_chain_still_verifies(
        self, db: Database, aged_tenant: Tenant, audit_clock: Any
    ) -> None:
        audit_clock(200)
        await record_actions(db, aged_tenant, 4)
        old = await chain_of(db, aged_tenant)
        audit_clock(0)
        await record_actions(db, aged_tenant, 2)

        totals = await run_retention(db, aged_tenant)

        chain = await chain_of(db, aged_tenant)
        assert totals["audit_entries_removed"] == len(old)
        assert chain[0].seq == len(old) + 1
        purge = chain[-1]
        assert purge.action == PURGE_ACTION
        assert purge.changes == {
            "from_seq": 1,
            "to_seq": len(old),
            "count": len(old),
            "anchor_hash": old[-1].hash,
            "before": purge.changes["before"],
        }
        assert chain[0].prev_hash == old[-1].hash  # the first kept entry links to the anchor
        assert (await verify(db, aged_tenant)).holds

    async def test_a_second_run_changes_nothing(self, db: Database, aged_tenant: Tenant, audit_clock: Any) -> None:
        audit_clock(200)
        await record_actions(db, aged_tenant, 3)
        await add_rows(db, aged_tenant, rejected(40), access(200))
        audit_clock(0)
        await run_retention(db, aged_tenant)
        before = [(e.seq, e.hash) for e in await chain_of(db, aged_tenant)]

        totals = await run_retention(db, aged_tenant)

        assert [(e.seq, e.hash) for e in await chain_of(db, aged_tenant)] == before
        assert not any(totals["removed"].values())
        assert totals["audit_entries_removed"] == 0
        assert "audit_purge" not in totals

    async def test_a_purge_spread_over_several_steps_verifies_after_each(
        self, db: Database, aged_tenant: Tenant, audit_clock: Any
    ) -> None:
        audit_clock(200)
        await record_actions(db, aged_tenant, 5)
        audit_clock(0)
        await record_actions(db, aged_tenant, 1)
        scope = Scope.for_tenant(aged_tenant.id)

        for _ in range(4):
            async with db.session(scope) as session:
                report = await apply_retention(session, scope, now=days_ago(0), storage=None, batch=2)
            assert (await verify(db, aged_tenant)).holds, "an interrupted purge must leave a verifiable chain"
            if not report.more:
                break
        assert len([e for e in await chain_of(db, aged_tenant) if e.action == PURGE_ACTION]) == 1
        assert (await chain_of(db, aged_tenant))[0].seq == 7

    async def test_deleting_the_first_kept_entry_after_a_purge_is_still_found(
        self, db: Database, aged_tenant: Tenant, audit_clock: Any
    ) -> None:
        audit_clock(200)
        await record_actions(db, aged_tenant, 3)
        audit_clock(0)
        await record_actions(db, aged_tenant, 2)
        await run_retention(db, aged_tenant)
        first_kept = (await chain_of(db, aged_tenant))[0]

        await raw_sql(db, "DELETE FROM audit_log WHERE id = :id", id=first_kept.id)

        report = await verify(db, aged_tenant)
        assert report.broken is not None
        assert report.broken.seq == first_kept.seq + 1

    async def test_a_dry_run_reports_the_purge_and_changes_nothing(
        self, db: Database, aged_tenant: Tenant, audit_clock: Any
    ) -> None:
        audit_clock(200)
        await record_actions(db, aged_tenant, 3)
        audit_clock(0)
        await add_rows(db, aged_tenant, rejected(40))
        before = await chain_of(db, aged_tenant)

        totals = await run_retention(db, aged_tenant, dry_run=True)

        assert totals["audit_entries_removed"] == 4  # the tenant's creation and the three actions
        assert totals["removed"]["rejected_events"] == 1
        assert [e.id for e in await chain_of(db, aged_tenant)] == [e.id for e in before]
        assert await count(db, aged_tenant, RejectedEvent) == 1

    async def test_a_tenant_can_keep_its_audit_trail_longer(
        self, db: Database, aged_tenant: Tenant, audit_clock: Any
    ) -> None:
        audit_clock(200)
        await record_actions(db, aged_tenant, 3)
        audit_clock(0)
        await set_policy(db, aged_tenant, audit_days=400)

        totals = await run_retention(db, aged_tenant)

        assert totals["audit_entries_removed"] == 0
        assert await count(db, aged_tenant, AuditEntry, AuditEntry.action == PURGE_ACTION) == 0


class TestSoftDeletedRows:
    async def test_rows_deleted_more_than_30_days_ago_are_removed_with_their_files(
        self, db: Database, tenant: Tenant, storage: LocalStorage
    ) -> None:
        _, stages = await factories.make_pipeline(db, tenant)
        person = await factories.make_person(db, tenant, name="Joana Antiga")
        old = await factories.make_lead(db, tenant, person=person, stage=stages[0])
        recent = await factories.make_lead(db, tenant, person=person, stage=stages[0])
        key = tenant_key(tenant.id, "attachments", "contrato")
        await storage.put(key, b"%PDF-1.7")
        attachment = Attachment(lead_id=old.id, filename="contrato.pdf", content_type="application/pdf",
                                size_bytes=8, sha256="0" * 64, storage_key=key)  # fmt: skip
        await add_rows(db, tenant, attachment)
        await backdate(db, tenant, Lead, [old.id], deleted_at=days_ago(31))
        await backdate(db, tenant, Lead, [recent.id], deleted_at=days_ago(5))

        totals = await run_retention(db, tenant, storage=storage)

        assert totals["removed"]["leads_deleted"] == 1
        assert await count(db, tenant, Lead) == 1
        assert await count(db, tenant, Attachment) == 0  # went with its lead
        assert not await storage.exists(key)
        assert totals["files_removed"] == 1

    async def test_a_deleted_person_goes_only_after_their_leads(self, db: Database, tenant: Tenant) -> None:
        _, stages = await factories.make_pipeline(db, tenant)
        person = await factories.make_person(db, tenant, name="Pedro Removido")
        lead = await factories.make_lead(db, tenant, person=person, stage=stages[0])
        await backdate(db, tenant, Person, [person.id], deleted_at=days_ago(40))
        await backdate(db, tenant, Lead, [lead.id], deleted_at=days_ago(10))

        await run_retention(db, tenant)
        assert await count(db, tenant, Person, Person.id == person.id) == 1

        await backdate(db, tenant, Lead, [lead.id], deleted_at=days_ago(40))
        await run_retention(db, tenant)
        assert await count(db, tenant, Person, Person.id == person.id) == 0


class TestUnconvertedLeads:
    async def test_people_whose_leads_never_converted_are_anonymised_after_the_period(
        self, db: Database, tenant: Tenant
    ) -> None:
        _, stages = await factories.make_pipeline(db, tenant)
        stale = await factories.make_person(db, tenant, name="Carlos Parado", email="carlos@example.com")
        buyer = await factories.make_person(db, tenant, name="Beatriz Compradora")
        fresh = await factories.make_person(db, tenant, name="Fabio Recente")
        stale_lead = await factories.make_lead(db, tenant, person=stale, stage=stages[0])
        won = await factories.make_lead(db, tenant, person=buyer, stage=stages[-2], status=LeadStatus.WON)
        await factories.make_lead(db, tenant, person=fresh, stage=stages[0])
        await set_policy(db, tenant, unconverted_lead_days=365)
        await backdate(db, tenant, Person, [stale.id, buyer.id], updated_at=days_ago(400))
        await backdate(db, tenant, Lead, [stale_lead.id, won.id], updated_at=days_ago(400))

        totals = await run_retention(db, tenant)

        assert totals["anonymised"] == 1
        assert await count(db, tenant, Anonymisation, Anonymisation.person_id == stale.id) == 1
        assert await count(db, tenant, Anonymisation) == 1
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            assert (await session.get_one(Person, stale.id)).name != "Carlos Parado"
        second = await run_retention(db, tenant)
        assert second["anonymised"] == 0
