"""The audit log is a hash chain per tenant: any change, deletion, insertion or reordering of stored entries is
found by ``verify_chain``, which names the first broken entry."""

from __future__ import annotations

import itertools
import json
import uuid

from sqlalchemy import select

from leadflow.audit.service import redact_changes
from leadflow.kit.audit import entry_hash
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import AuditChainHead, Tenant
from tests import factories
from tests.audit.conftest import chain_of, raw_sql, record_actions, verify


class TestAppending:
    async def test_entries_are_numbered_from_one_and_each_links_to_the_one_before(
        self, db: Database, tenant: Tenant
    ) -> None:
        await factories.make_user(db, tenant)
        await record_actions(db, tenant, 3)

        chain = await chain_of(db, tenant)

        assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
        assert chain[0].prev_hash is None
        assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(chain))

    async def test_each_hash_is_the_sha256_of_the_entry_as_stored(self, db: Database, tenant: Tenant) -> None:
        await record_actions(db, tenant, 2)

        for entry in await chain_of(db, tenant):
            assert entry.hash == entry_hash({c.key: getattr(entry, c.key) for c in entry.__table__.columns})

    async def test_the_chain_head_names_the_newest_entry(self, db: Database, tenant: Tenant) -> None:
        await record_actions(db, tenant, 2)

        newest = (await chain_of(db, tenant))[-1]
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            head = (await session.scalars(select(AuditChainHead))).one()
        assert (head.last_seq, head.last_hash) == (newest.seq, newest.hash)

    async def test_each_tenant_has_its_own_chain(self, db: Database, tenant: Tenant, other_tenant: Tenant) -> None:
        await record_actions(db, tenant, 3)
        await record_actions(db, other_tenant, 1)

        assert [e.seq for e in await chain_of(db, other_tenant)] == [1, 2]  # its creation, then the action
        assert (await verify(db, tenant)).holds
        assert (await verify(db, other_tenant)).holds


class TestVerifying:
    async def test_a_fresh_chain_holds(self, db: Database, tenant: Tenant) -> None:
        await factories.make_user(db, tenant)
        await record_actions(db, tenant, 5)

        report = await verify(db, tenant, batch=2)  # small batches: the walk crosses batch boundaries

        assert report.holds, report.broken
        assert (report.first_seq, report.last_seq, report.entries) == (1, len(await chain_of(db, tenant)), 7)

    async def test_flipping_one_byte_of_a_stored_field_names_that_entry(self, db: Database, tenant: Tenant) -> None:
        await record_actions(db, tenant, 4)
        victim = (await chain_of(db, tenant))[2]

        await raw_sql(db, "UPDATE audit_log SET entity_type = 'leadt' WHERE id = :id", id=victim.id)

        report = await verify(db, tenant)
        assert report.broken is not None
        assert (report.broken.seq, report.broken.entry_id) == (victim.seq, victim.id)
        assert "changed after it was written" in report.broken.problem

    async def test_changing_the_recorded_changes_is_found(self, db: Database, tenant: Tenant) -> None:
        await record_actions(db, tenant, 2)
        victim = (await chain_of(db, tenant))[1]
        changes = '{"n": [null, 2]}'

        await raw_sql(db, "UPDATE audit_log SET changes = :c WHERE id = :id", c=changes, id=victim.id)

        report = await verify(db, tenant)
        assert report.broken is not None
        assert report.broken.entry_id == victim.id

    async def test_rehashing_a_changed_entry_breaks_the_link_of_the_next_one(
        self, db: Database, tenant: Tenant
    ) -> None:
        await record_actions(db, tenant, 3)
        chain = await chain_of(db, tenant)
        victim = chain[1]
        forged = {c.key: getattr(victim, c.key) for c in victim.__table__.columns} | {"ip": "203.0.113.9"}

        await raw_sql(db, "UPDATE audit_log SET ip = :ip, hash = :h WHERE id = :id", ip="203.0.113.9",
                      h=entry_hash(forged), id=victim.id)  # fmt: skip

        report = await verify(db, tenant)
        assert report.broken is not None
        assert (report.broken.seq, report.broken.entry_id) == (chain[2].seq, chain[2].id)
        assert "prev_hash" in report.broken.problem

    async def test_deleting_an_entry_names_the_gap(self, db: Database, tenant: Tenant) -> None:
        await record_actions(db, tenant, 4)
        chain = await chain_of(db, tenant)

        await raw_sql(db, "DELETE FROM audit_log WHERE id = :id", id=chain[2].id)

        report = await verify(db, tenant)
        assert report.broken is not None
        assert report.broken.entry_id == chain[3].id
        assert f"entry {chain[2].seq} is missing" in report.broken.problem

    async def test_deleting_the_first_entry_is_found(self, db: Database, tenant: Tenant) -> None:
        await record_actions(db, tenant, 2)
        chain = await chain_of(db, tenant)

        await raw_sql(db, "DELETE FROM audit_log WHERE id = :id", id=chain[0].id)

        report = await verify(db, tenant)
        assert report.broken is not None
        assert report.broken.entry_id == chain[1].id
        assert "no purge covers them" in report.broken.problem

    async def test_deleting_the_newest_entries_is_found_through_the_chain_head(
        self, db: Database, tenant: Tenant
    ) -> None:
        await record_actions(db, tenant, 3)
        chain = await chain_of(db, tenant)

        await raw_sql(db, "DELETE FROM audit_log WHERE id = :id", id=chain[-1].id)

        report = await verify(db, tenant)
        assert report.broken is not None
        assert report.broken.seq == chain[-1].seq
        assert "missing" in report.broken.problem

    async def test_swapping_the_order_of_two_entries_is_found(self, db: Database, tenant: Tenant) -> None:
        await record_actions(db, tenant, 4)
        chain = await chain_of(db, tenant)
        first, second = chain[1], chain[2]

        await raw_sql(db, "UPDATE audit_log SET seq = -1 WHERE id = :id", id=first.id)
        await raw_sql(db, "UPDATE audit_log SET seq = :s WHERE id = :id", s=first.seq, id=second.id)
        await raw_sql(db, "UPDATE audit_log SET seq = :s WHERE id = :id", s=second.seq, id=first.id)

        report = await verify(db, tenant)
        assert report.broken is not None
        assert (report.broken.seq, report.broken.entry_id) == (first.seq, second.id)

    async def test_an_entry_inserted_outside_the_chain_is_found(self, db: Database, tenant: Tenant) -> None:
        await record_actions(db, tenant, 1)
        forged_id = uuid.UUID("0190f0f0-0000-7000-8000-000000000001")

        await raw_sql(
            db,
            "INSERT INTO audit_log (id, tenant_id, occurred_at, actor_type, action, entity_type, changes,"
            " created_at, updated_at) VALUES (:id, :t, :at, 'system', 'delete', 'leads', '{}', :at, :at)",
            id=forged_id,
            t=tenant.id,
            at=(await chain_of(db, tenant))[0].occurred_at,
        )

        report = await verify(db, tenant)
        assert report.broken is not None
        assert report.broken.entry_id == forged_id
        assert "no place in the chain" in report.broken.problem

    async def test_a_well_formed_entry_appended_behind_the_heads_back_is_found(
        self, db: Database, tenant: Tenant
    ) -> None:
        await record_actions(db, tenant, 1)
        last = (await chain_of(db, tenant))[-1]
        forged = {c.key: getattr(last, c.key) for c in last.__table__.columns}
        forged |= {"id": uuid.UUID("0190f0f0-0000-7000-8000-000000000002"), "seq": last.seq + 1, "prev_hash": last.hash}
        forged["hash"] = entry_hash(forged)

        await raw_sql(
            db,
            "INSERT INTO audit_log (id, tenant_id, seq, prev_hash, hash, occurred_at, actor_type, action, entity_type,"
            " changes, changes_hash, created_at, updated_at) VALUES (:id, :tenant_id, :seq, :prev_hash, :hash,"
            " :occurred_at, :actor_type, :action, :entity_type, :changes, :changes_hash, :occurred_at, :occurred_at)",
            **{k: forged[k] for k in ("id", "tenant_id", "seq", "prev_hash", "hash", "occurred_at", "actor_type",
                                      "action", "entity_type", "changes_hash")},
            changes=json.dumps(forged["changes"]),
        )  # fmt: skip

        report = await verify(db, tenant)
        assert report.broken is not None
        assert report.broken.seq == last.seq + 1
        assert "head" in report.broken.problem

    async def test_tampering_in_one_tenant_leaves_the_other_tenants_chain_intact(
        self, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        await record_actions(db, tenant, 2)
        await record_actions(db, other_tenant, 2)

        await raw_sql(db, "UPDATE audit_log SET action = 'x' WHERE id = :id", id=(await chain_of(db, tenant))[1].id)

        assert not (await verify(db, tenant)).holds
        assert (await verify(db, other_tenant)).holds


class TestRedactingPersonalValues:
    """LGPD anonymisation may blank the values recorded in audit entries: the chain commits to a hash of the
    changes, not to the values, so it still verifies, and the redaction shows."""

    async def test_a_redacted_chain_still_verifies_and_counts_the_redacted_entries(
        self, db: Database, tenant: Tenant
    ) -> None:
        person = await factories.make_person(db, tenant, name="Helena Secreta")
        scope = Scope.for_tenant(tenant.id)

        async with db.session(scope) as session:
            redacted = await redact_changes(session, scope, entity_type="people", entity_ids=[person.id])

        assert redacted == 1
        [entry] = [e for e in await chain_of(db, tenant) if e.entity_id == person.id]
        assert "Helena Secreta" not in json.dumps(entry.changes)
        assert entry.changes["name"] == [None, "[redacted]"]
        report = await verify(db, tenant)
        assert report.holds, report.broken
        assert report.redacted == 1

    async def test_changing_the_changes_without_redacting_is_still_found(self, db: Database, tenant: Tenant) -> None:
        person = await factories.make_person(db, tenant, name="Helena Secreta")
        [entry] = [e for e in await chain_of(db, tenant) if e.entity_id == person.id]

        await raw_sql(
            db, "UPDATE audit_log SET changes = :c WHERE id = :id", c='{"name": [null, "Outra"]}', id=entry.id
        )

        report = await verify(db, tenant)
        assert report.broken is not None
        assert report.broken.entry_id == entry.id
        assert "recorded changes" in report.broken.problem
