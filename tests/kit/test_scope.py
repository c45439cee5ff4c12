"""The tenant scope confines every ORM read and write to one tenant and fails closed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from leadflow.kit.db import Database
from leadflow.kit.scope import CrossTenantWrite, Scope, UnscopedAccess, set_scope
from leadflow.kit.time import utcnow
from leadflow.models import Team, TeamMember, Tenant, User
from tests import factories


@pytest.fixture
async def two_tenants(db: Database, tenant: Tenant, other_tenant: Tenant) -> tuple[Tenant, Tenant]:
    await factories.make_user(db, tenant, email="a1@acme.example.com")
    await factories.make_user(db, tenant, email="a2@acme.example.com")
    await factories.make_user(db, other_tenant, email="b1@rival.example.com")
    return tenant, other_tenant


class TestReads:
    async def test_a_scoped_query_sees_only_its_tenant(self, db: Database, two_tenants: tuple[Tenant, Tenant]) -> None:
        _, rival = two_tenants
        async with db.session(Scope.for_tenant(rival.id)) as session:
            emails = (await session.execute(select(User.email))).scalars().all()
        assert emails == ["b1@rival.example.com"]

    async def test_counts_and_subqueries_are_scoped(self, db: Database, two_tenants: tuple[Tenant, Tenant]) -> None:
        acme, _ = two_tenants
        async with db.session(Scope.for_tenant(acme.id)) as session:
            direct = (await session.execute(select(func.count(User.id)))).scalar_one()
            nested = (await session.execute(select(func.count()).select_from(select(User.id).subquery()))).scalar_one()
        assert direct == 2
        assert nested == 2

    async def test_joins_are_scoped_on_both_sides(self, db: Database, two_tenants: tuple[Tenant, Tenant]) -> None:
        acme, rival = two_tenants
        rival_user = await factories.make_user(db, rival)
        await factories.make_team(db, rival, "Rival team", [rival_user])
        async with db.session(Scope.for_tenant(acme.id)) as session:
            rows = (await session.execute(select(Team.name).join(TeamMember, TeamMember.team_id == Team.id))).all()
        assert rows == []

    async def test_a_query_without_scope_is_refused(self, db: Database, two_tenants: tuple[Tenant, Tenant]) -> None:
        async with db.sessionmaker() as session:
            with pytest.raises(UnscopedAccess):
                await session.execute(select(User))

    async def test_soft_deleted_rows_are_hidden_unless_asked_for(self, db: Database, tenant: Tenant) -> None:
        user = await factories.make_user(db, tenant)
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            (await session.get_one(User, user.id)).deleted_at = utcnow()
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            visible = (await session.execute(select(User).where(User.id == user.id))).scalar_one_or_none()
            hidden = (
                await session.execute(select(User).where(User.id == user.id).execution_options(include_deleted=True))
            ).scalar_one_or_none()
        assert visible is None
        assert hidden is not None


class TestWrites:
    async def test_a_new_row_gets_the_scope_tenant(self, db: Database, tenant: Tenant) -> None:
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            team = Team(name="Locação")
            session.add(team)
            await session.flush()
            assert team.tenant_id == tenant.id

    async def test_writing_a_row_of_another_tenant_is_refused(
        self, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        async with db.sessionmaker() as session:
            set_scope(session, Scope.for_tenant(tenant.id))
            session.add(Team(name="Intrusa", tenant_id=other_tenant.id))
            with pytest.raises(CrossTenantWrite):
                await session.flush()

    async def test_bulk_updates_touch_only_the_scope_tenant(
        self, db: Database, two_tenants: tuple[Tenant, Tenant]
    ) -> None:
        acme, rival = two_tenants
        async with db.session(Scope.for_tenant(acme.id)) as session:
            await session.execute(update(User).values(name="Renamed"))
        async with db.session(Scope.for_tenant(rival.id)) as session:
            names = (await session.execute(select(User.name))).scalars().all()
        assert "Renamed" not in names

    async def test_a_write_without_scope_is_refused(self, db: Database, tenant: Tenant) -> None:
        async with db.sessionmaker() as session:
            session.add(Team(name="Sem escopo", tenant_id=tenant.id))
            with pytest.raises(UnscopedAccess):
                await session.flush()

    async def test_a_session_cannot_change_tenant(self, db: Database, tenant: Tenant, other_tenant: Tenant) -> None:
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            set_scope(session, Scope.for_tenant(tenant.id))  # rebinding the same tenant is harmless
            with pytest.raises(CrossTenantWrite):
                set_scope(session, Scope.for_tenant(other_tenant.id))
