"""Helpers for the audit chain specifications: read a tenant's chain, verify it, tamper with it as an attacker
with database access would (raw SQL, bypassing the application)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from leadflow.audit.service import ChainReport, verify_chain
from leadflow.kit import audit
from leadflow.kit.db import Database, create_engine
from leadflow.kit.scope import Scope
from leadflow.models import AuditEntry, Tenant
from tests import factories

_attacker: dict[str, str | None] = {}


@pytest_asyncio.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[Database]:
    """Committed for real, not inside the test's rolled-back transaction: on PostgreSQL the tampering comes from
    another login (the owner's), which sees committed rows only. Each test has its own tenant and chain."""
    yield Database(engine)


@pytest_asyncio.fixture
async def tenant(db: Database) -> Tenant:
    return await factories.make_tenant(db, f"acme-{uuid.uuid4().hex[:8]}", "Acme Imóveis")


@pytest_asyncio.fixture
async def other_tenant(db: Database) -> Tenant:
    return await factories.make_tenant(db, f"rival-{uuid.uuid4().hex[:8]}", "Rival Imóveis")


@pytest.fixture(autouse=True)
def attacker_login(backend: str, database_urls: dict[str, str]) -> None:
    """On PostgreSQL the app's login may not UPDATE or DELETE audit rows at all (migration 0007): the attacker
    of these specifications holds the owner's login (the test server's superuser, past row security)."""
    _attacker["url"] = database_urls.get("postgresql_owner") if backend == "postgresql" else None


async def chain_of(db: Database, tenant: Tenant) -> list[AuditEntry]:
    """The tenant's audit entries in chain order."""
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        return list((await session.scalars(select(AuditEntry).order_by(AuditEntry.seq))).all())


async def verify(db: Database, tenant: Tenant, *, batch: int = 1000) -> ChainReport:
    scope = Scope.for_tenant(tenant.id)
    async with db.session(scope) as session:
        return await verify_chain(session, scope, batch=batch)


async def record_actions(db: Database, tenant: Tenant, count: int, *, action: str = "lead.viewed") -> None:
    """``count`` audit entries that are not row changes, in one transaction."""
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        for _ in range(count):
            audit.record(session, action=action, entity_type="leads", entity_id=None, changes={"n": [None, 1]})


async def raw_sql(db: Database, statement: str, **params: Any) -> None:
    """What an attacker with a database login does: SQL that no application rule sees."""
    if owner_url := _attacker.get("url"):
        owner = Database(create_engine(owner_url))
        try:
            async with owner.session() as session:
                await session.execute(text(statement), params)
        finally:
            await owner.dispose()
        return
    if db.dialect == "sqlite":  # SQLAlchemy's Uuid type keeps 32 hex digits there
        params = {k: _sqlite_value(v) for k, v in params.items()}
    async with db.session() as session:
        await session.execute(text(statement), params)


def _sqlite_value(value: Any) -> Any:
    """A value as SQLAlchemy stores it in SQLite: UUIDs as 32 hex digits, moments as naive UTC text."""
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value
