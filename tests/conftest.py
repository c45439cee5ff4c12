"""The database matrix and the named fixtures every test builds on.

Each DB test runs on SQLite and on PostgreSQL (``LEADFLOW_TEST_POSTGRES_URL``; required when ``CI=true``).
The schema is built by the Alembic migrations once per backend; each test runs inside a transaction that is
rolled back, and the app under test commits to savepoints inside it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
import pytest_asyncio
from argon2 import PasswordHasher, profiles
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from leadflow.app import create_app
from leadflow.config import Settings
from leadflow.kit.crypto import use_hasher
from leadflow.kit.db import Database, create_engine
from leadflow.kit.migrate import upgrade
from leadflow.models import Role, Tenant, User
from tests import factories

# Production argon2 parameters cost ~100 ms a hash; thousands of logins in the suite use the cheapest profile.
use_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))

POSTGRES_URL = os.environ.get("LEADFLOW_TEST_POSTGRES_URL")
# On PostgreSQL the app under test connects as this login: a member of leadflow_app, neither superuser nor owner,
# without BYPASSRLS, so every test also goes through the row-level security of migration 0007.
APP_LOGIN = "leadflow_test_app"
APP_PASSWORD = "leadflow-test-app"
REDIS_URL = os.environ.get("LEADFLOW_TEST_REDIS_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and not POSTGRES_URL:
        raise pytest.UsageError("CI=true requires LEADFLOW_TEST_POSTGRES_URL: PostgreSQL tests may not be skipped")


def _plain_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_admin(statement: str) -> None:
    assert POSTGRES_URL
    conn = await asyncpg.connect(_plain_url(POSTGRES_URL))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def new_postgres_database() -> str:
    """Create an empty database on the test server and return its SQLAlchemy URL."""
    assert POSTGRES_URL
    name = f"leadflow_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def as_app_login(owner_url: str) -> str:
    """The same database, reached as the non-owner app login that the migrations let in."""
    return make_url(owner_url).set(username=APP_LOGIN, password=APP_PASSWORD).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    urls = {"sqlite": f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'leadflow.db'}"}
    upgrade(urls["sqlite"])
    if POSTGRES_URL:
        urls["postgresql_owner"] = new_postgres_database()
        urls["postgresql"] = as_app_login(urls["postgresql_owner"])
        upgrade(urls["postgresql_owner"], app_url=urls["postgresql"])
    yield urls
    if "postgresql" in urls:
        drop_postgres_database(urls["postgresql"])


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and not POSTGRES_URL:
        pytest.skip("set LEADFLOW_TEST_POSTGRES_URL to run the PostgreSQL half of the matrix")
    return str(request.param)


@pytest_asyncio.fixture(scope="session")
async def engine(backend: str, database_urls: dict[str, str]) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_urls[backend])
    yield eng
    await eng.dispose()


@pytest_asyncio.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[Database]:
    async with engine.connect() as conn:
        outer = await conn.begin()
        yield Database(engine, bind=conn)
        if outer.is_active:
            await outer.rollback()


@pytest.fixture
def settings(tmp_path: object) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        data_dir=tmp_path,  # type: ignore[arg-type]
        secret_key=SecretStr("test-signing-key-" + "x" * 32),
        base_domain="localhost",
        default_tenant=None,
        redis_url=None,
        log_format="json",
    )


@pytest_asyncio.fixture
async def app(settings: Settings, db: Database) -> FastAPI:
    return create_app(settings, database=db)


@pytest_asyncio.fixture
async def tenant(db: Database) -> Tenant:
    return await factories.make_tenant(db, "acme", "Acme Imóveis")


@pytest_asyncio.fixture
async def other_tenant(db: Database) -> Tenant:
    return await factories.make_tenant(db, "rival", "Rival Imóveis")


@pytest_asyncio.fixture
async def owner(db: Database, tenant: Tenant) -> User:
    return await factories.make_user(db, tenant, role=Role.OWNER, email="dona@acme.example.com")


@pytest_asyncio.fixture
async def manager(db: Database, tenant: Tenant) -> User:
    return await factories.make_user(db, tenant, role=Role.MANAGER, email="gestor@acme.example.com")


@pytest_asyncio.fixture
async def broker(db: Database, tenant: Tenant) -> User:
    return await factories.make_user(db, tenant, role=Role.BROKER, email="ana@acme.example.com")


@pytest_asyncio.fixture
async def viewer(db: Database, tenant: Tenant) -> User:
    return await factories.make_user(db, tenant, role=Role.VIEWER, email="leitor@acme.example.com")


@pytest_asyncio.fixture
async def anonymous(app: FastAPI, tenant: Tenant) -> AsyncIterator[httpx.AsyncClient]:
    async with factories.client(app, tenant) as client:
        yield client


@pytest_asyncio.fixture
async def as_manager(app: FastAPI, tenant: Tenant, manager: User) -> AsyncIterator[httpx.AsyncClient]:
    async with factories.logged_in(app, tenant, manager) as client:
        yield client


@pytest_asyncio.fixture
async def as_owner(app: FastAPI, tenant: Tenant, owner: User) -> AsyncIterator[httpx.AsyncClient]:
    async with factories.logged_in(app, tenant, owner) as client:
        yield client


@pytest_asyncio.fixture
async def as_broker(app: FastAPI, tenant: Tenant, broker: User) -> AsyncIterator[httpx.AsyncClient]:
    async with factories.logged_in(app, tenant, broker) as client:
        yield client


@pytest_asyncio.fixture
async def as_viewer(app: FastAPI, tenant: Tenant, viewer: User) -> AsyncIterator[httpx.AsyncClient]:
    async with factories.logged_in(app, tenant, viewer) as client:
        yield client
