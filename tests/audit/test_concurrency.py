"""Two transactions appending to one tenant's chain at the same moment never fork it: the second waits for the
first's chain head (PostgreSQL row lock; SQLite's single writer) and links after it. These tests commit for real,
on their own engine, and delete their tenant afterwards."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy import delete

from leadflow.kit import audit
from leadflow.kit.db import Database, create_engine
from leadflow.kit.scope import Scope
from leadflow.models import RetentionPolicy, Tenant
from tests import factories
from tests.audit.conftest import chain_of, verify


@pytest_asyncio.fixture
async def committing_db(backend: str, database_urls: dict[str, str]) -> AsyncIterator[Database]:
    db = Database(create_engine(database_urls[backend], pool_size=4) if backend == "postgresql" else
                  create_engine(database_urls[backend]))  # fmt: skip
    yield db
    await db.dispose()


@pytest_asyncio.fixture
async def own_tenant(committing_db: Database) -> AsyncIterator[Tenant]:
    tenant = await factories.make_tenant(committing_db, f"race-{uuid.uuid4().hex[:8]}")
    yield tenant
    async with committing_db.session(Scope.system()) as session:
        await session.execute(delete(Tenant).where(Tenant.id == tenant.id))  # its chain goes with it (cascade)


async def test_two_concurrent_writers_keep_the_chain_linear(committing_db: Database, own_tenant: Tenant) -> None:
    first_holds_the_head = asyncio.Event()

    async def first() -> None:
        async with committing_db.session(Scope.for_tenant(own_tenant.id)) as session:
            session.add(RetentionPolicy(audit_days=400))  # an audited change, flushed: the transaction is open
            await session.flush()  # (its entries are chained when it commits, while the second one commits too)
            first_holds_the_head.set()
            await asyncio.sleep(0.3)
            audit.record(session, action="first.again", entity_type="leads", entity_id=None)

    async def second() -> None:
        await first_holds_the_head.wait()
        async with committing_db.session(Scope.for_tenant(own_tenant.id)) as session:
            audit.record(session, action="second", entity_type="leads", entity_id=None)

    await asyncio.gather(first(), second())

    chain = await chain_of(committing_db, own_tenant)
    assert sorted(e.action for e in chain[-3:]) == ["create", "first.again", "second"]
    assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
    assert (await verify(committing_db, own_tenant)).holds


async def test_many_concurrent_writers_all_land_in_one_chain(committing_db: Database, own_tenant: Tenant) -> None:
    async def write(n: int) -> None:
        async with committing_db.session(Scope.for_tenant(own_tenant.id)) as session:
            audit.record(session, action=f"writer.{n}", entity_type="leads", entity_id=None)

    await asyncio.gather(*(write(n) for n in range(8)))

    chain = await chain_of(committing_db, own_tenant)
    assert sorted(e.action for e in chain if e.action.startswith("writer.")) == [f"writer.{n}" for n in range(8)]
    assert (await verify(committing_db, own_tenant)).holds
