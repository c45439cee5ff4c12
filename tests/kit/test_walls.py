"""Row-level security, the second wall: on PostgreSQL the app's login cannot reach another tenant's rows even with
a hand-written query, and no tenant setting outlives its transaction on a pooled connection."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from leadflow.kit.db import Database, create_engine
from leadflow.kit.scope import Scope, set_scope
from leadflow.models import Tenant
from tests import factories
from tests.conftest import APP_LOGIN

pytestmark = pytest.mark.usefixtures("postgres_only")

TENANT_TABLES = text(
    """
    SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
           (SELECT array_agg(p.polname::text ORDER BY p.polname) FROM pg_policy p WHERE p.polrelid = c.oid)
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
    ORDER BY c.relname
    """
)


@pytest.fixture
def postgres_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("row-level security is a PostgreSQL wall; SQLite has the session scope only")


@pytest_asyncio.fixture
async def two_tenants_with_leads(db: Database, tenant: Tenant, other_tenant: Tenant) -> tuple[Tenant, Tenant]:
    for owner_of_rows, count in ((tenant, 2), (other_tenant, 3)):
        _, stages = await factories.make_pipeline(db, owner_of_rows)
        for n in range(count):
            person = await factories.make_person(db, owner_of_rows, name=f"Pessoa {n}")
            await factories.make_lead(db, owner_of_rows, person=person, stage=stages[0])
    return tenant, other_tenant


async def _count_leads(db: Database, scope: Scope | None) -> int:
    async with db.session(scope) as session:
        return int(await session.scalar(text("SELECT count(*) FROM leads")) or 0)


class TestTheCatalog:
    async def test_every_table_with_a_tenant_id_forces_row_level_security_with_both_policies(
        self, db: Database
    ) -> None:
        async with db.session() as session:
            rows = (await session.execute(TENANT_TABLES)).all()
        assert len(rows) > 20, "the walls test found no tenant tables: is the schema there?"
        unwalled = [
            name
            for name, enabled, forced, policies in rows
            if not (enabled and forced and policies == ["system_scope", "tenant_isolation"])
        ]
        assert unwalled == [], (
            f"tables without FORCE ROW LEVEL SECURITY and the tenant policies: {unwalled}; "
            "run SELECT leadflow_apply_walls() in the migration that adds them (see docs/security/walls.md)"
        )

    async def test_the_app_login_is_neither_superuser_nor_owner_and_cannot_bypass_row_security(
        self, db: Database
    ) -> None:
        async with db.session() as session:
            user = await session.scalar(text("SELECT current_user"))
            superuser, bypass = (
                await session.execute(text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"))
            ).one()
            owned = await session.scalar(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tableowner = current_user")
            )
        assert (user, superuser, bypass, owned) == (APP_LOGIN, False, False, 0)


class TestAHandWrittenQuery:
    async def test_under_a_tenants_scope_counts_only_that_tenants_rows(
        self, db: Database, two_tenants_with_leads: tuple[Tenant, Tenant]
    ) -> None:
        mine, theirs = two_tenants_with_leads
        assert await _count_leads(db, Scope.for_tenant(mine.id)) == 2
        assert await _count_leads(db, Scope.for_tenant(theirs.id)) == 3

    async def test_without_a_tenant_sees_nothing(self, db: Database, two_tenants_with_leads: object) -> None:
        assert await _count_leads(db, None) == 0

    async def test_in_the_system_scope_sees_every_tenant(self, db: Database, two_tenants_with_leads: object) -> None:
        assert await _count_leads(db, Scope.system()) == 5

    async def test_with_an_empty_tenant_setting_sees_nothing(
        self, db: Database, two_tenants_with_leads: object
    ) -> None:
        async with db.session(None) as session:
            await session.execute(text("SELECT set_config('app.tenant_id', '', true)"))
            assert await session.scalar(text("SELECT count(*) FROM leads")) == 0

    async def test_cannot_update_or_delete_another_tenants_rows(
        self, db: Database, two_tenants_with_leads: tuple[Tenant, Tenant]
    ) -> None:
        mine, theirs = two_tenants_with_leads
        async with db.session(Scope.for_tenant(mine.id)) as session:
            touched = await session.execute(
                text("UPDATE leads SET source = 'hacked' WHERE tenant_id = :theirs"), {"theirs": theirs.id}
            )
            removed = await session.execute(text("DELETE FROM leads WHERE tenant_id = :theirs"), {"theirs": theirs.id})
        assert (touched.rowcount, removed.rowcount) == (0, 0)  # type: ignore[attr-defined]
        assert await _count_leads(db, Scope.for_tenant(theirs.id)) == 3

    async def test_cannot_insert_a_row_for_another_tenant(
        self, db: Database, two_tenants_with_leads: tuple[Tenant, Tenant]
    ) -> None:
        mine, theirs = two_tenants_with_leads
        with pytest.raises(ProgrammingError, match="row-level security"):
            async with db.session(Scope.for_tenant(mine.id)) as session:
                await session.execute(
                    text(
                        "INSERT INTO tags (id, tenant_id, name, created_at, updated_at)"
                        " VALUES (:id, :t, 'x', now(), now())"
                    ),
                    {"id": uuid.uuid4(), "t": theirs.id},
                )


class TestScopesBoundMidTransaction:
    async def test_a_scope_bound_inside_a_rolled_back_savepoint_is_set_again_afterwards(
        self, db: Database, two_tenants_with_leads: tuple[Tenant, Tenant]
    ) -> None:
        mine, _ = two_tenants_with_leads
        async with db.session() as session:
            assert await session.scalar(text("SELECT count(*) FROM tags WHERE false")) == 0  # begins, no tenant
            savepoint = await session.begin_nested()
            set_scope(session, Scope.for_tenant(mine.id))  # e.g. a request resolving its tenant
            assert await session.scalar(text("SELECT count(*) FROM leads")) == 2
            await savepoint.rollback()  # and the SET LOCAL made inside it with it
            assert await session.scalar(text("SELECT count(*) FROM leads")) == 2


class TestTheAuditLog:
    async def test_the_app_may_insert_and_read_audit_entries_but_never_change_them(self, db: Database) -> None:
        async with db.session() as session:
            rights = (
                await session.execute(
                    text(
                        "SELECT has_table_privilege('audit_log', 'SELECT'), has_table_privilege('audit_log', 'INSERT'),"
                        " has_table_privilege('audit_log', 'UPDATE'), has_table_privilege('audit_log', 'DELETE')"
                    )
                )
            ).one()
        assert tuple(rights) == (True, True, False, False)

    async def test_a_hand_written_delete_of_audit_entries_is_refused(self, db: Database, tenant: Tenant) -> None:
        with pytest.raises(ProgrammingError, match="permission denied"):
            async with db.session(Scope.for_tenant(tenant.id)) as session:
                await session.execute(text("DELETE FROM audit_log"))


@pytest_asyncio.fixture
async def one_connection(database_urls: dict[str, str]) -> AsyncIterator[AsyncEngine]:
    """The app's engine with a pool of one: every session gets the same server connection back."""
    engine = create_engine(database_urls["postgresql"], pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


class TestPooledConnections:
    async def test_a_tenant_set_in_one_transaction_is_gone_in_the_next_on_the_same_connection(
        self, one_connection: AsyncEngine
    ) -> None:
        db = Database(one_connection)
        async with db.session(Scope.for_tenant(uuid.uuid4())) as session:
            inside = await session.scalar(text("SELECT current_setting('app.tenant_id', true)"))
            first_pid = await session.scalar(text("SELECT pg_backend_pid()"))
        async with one_connection.connect() as conn:
            after = (await conn.execute(text("SELECT current_setting('app.tenant_id', true), pg_backend_pid()"))).one()
        assert inside not in (None, "")
        assert after[1] == first_pid  # the very same server connection came back from the pool
        assert after[0] in (None, "")

    async def test_a_session_without_a_scope_after_a_tenants_session_sees_no_rows(
        self, one_connection: AsyncEngine
    ) -> None:
        db = Database(one_connection)
        async with db.session(Scope.for_tenant(uuid.uuid4())) as session:
            await session.execute(text("SELECT 1"))
        async with db.session() as session:
            setting = await session.scalar(text("SELECT current_setting('app.tenant_id', true)"))
            system = await session.scalar(text("SELECT current_setting('app.system', true)"))
        assert (setting, system) == ("", "off")

    async def test_the_system_scope_is_gone_after_its_transaction(self, one_connection: AsyncEngine) -> None:
        db = Database(one_connection)
        async with db.session(Scope.system()) as session:
            assert await session.scalar(text("SELECT current_setting('app.system', true)")) == "on"
        async with one_connection.connect() as conn:
            assert await conn.scalar(text("SELECT current_setting('app.system', true)")) in (None, "")
