"""Every change of an audited row lands in audit_log with who, what, before and after."""

from __future__ import annotations

from sqlalchemy import select

from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import AuditEntry, Tenant, User
from tests import factories


async def _entries(db: Database, tenant: Tenant, entity_id: object) -> list[AuditEntry]:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        stmt = select(AuditEntry).where(AuditEntry.entity_id == entity_id).order_by(AuditEntry.occurred_at)
        return list((await session.execute(stmt)).scalars())


class TestAuditTrail:
    async def test_creation_records_the_values_with_secrets_masked(self, db: Database, tenant: Tenant) -> None:
        user = await factories.make_user(db, tenant, email="novo@acme.example.com")
        [entry] = await _entries(db, tenant, user.id)
        assert entry.action == "create"
        assert entry.entity_type == "users"
        assert entry.changes["email"] == [None, "novo@acme.example.com"]
        assert entry.changes["password_hash"] == [None, "***"]

    async def test_an_update_records_before_and_after_of_changed_fields_only(
        self, db: Database, tenant: Tenant
    ) -> None:
        user = await factories.make_user(db, tenant, name="Antes")
        actor = Scope(tenant_id=tenant.id, actor_type="user", actor_id=user.id, role="owner")
        async with db.session(actor) as session:
            (await session.get_one(User, user.id)).name = "Depois"
        entries = await _entries(db, tenant, user.id)
        assert entries[-1].action == "update"
        assert entries[-1].changes == {"name": ["Antes", "Depois"]}
        assert entries[-1].actor_type == "user"
        assert entries[-1].actor_id == user.id

    async def test_soft_delete_and_restore_are_named_as_such(self, db: Database, tenant: Tenant) -> None:
        user = await factories.make_user(db, tenant)
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            (await session.get_one(User, user.id)).deleted_at = utcnow()
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            (await session.get_one(User, user.id, execution_options={"include_deleted": True})).deleted_at = None
        actions = [e.action for e in await _entries(db, tenant, user.id)]
        assert actions == ["create", "delete", "restore"]

    async def test_a_rolled_back_change_leaves_no_entry(self, db: Database, tenant: Tenant) -> None:
        user = await factories.make_user(db, tenant, name="Fica")
        async with db.sessionmaker() as session:
            session.info["scope"] = Scope.for_tenant(tenant.id)
            (await session.get_one(User, user.id)).name = "Some"
            await session.flush()
            await session.rollback()
        assert [e.action for e in await _entries(db, tenant, user.id)] == ["create"]
