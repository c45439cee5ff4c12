"""Alembic, driven from code: the CLI, the test fixtures and /readyz share this."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from leadflow.kit.db import create_engine

ROOT = Path(__file__).resolve().parents[3]
# Created by migration 0007: the app's privileges, and the right to switch the system scope on.
APP_GROUPS = ("leadflow_app", "leadflow_system")
DUPLICATE = {"42710", "23505"}  # duplicate_object; unique_violation when two CREATE ROLE race in the catalog


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head", *, app_url: str | None = None) -> None:
    """Upgrade as the owner (``database_url``); on PostgreSQL, then wall every tenant table and let the app's
    login role (``app_url``, when it names another user) in as a member of the app roles."""
    command.upgrade(alembic_config(database_url), revision)
    if make_url(database_url).get_backend_name() == "postgresql":
        asyncio.run(_after_upgrade(database_url, app_url))


async def _after_upgrade(owner_url: str, app_url: str | None) -> None:
    engine = create_engine(owner_url)
    try:
        async with engine.begin() as conn:
            if await conn.scalar(text("SELECT to_regprocedure('leadflow_apply_walls()') IS NOT NULL")):
                # Idempotent: tables that later migrations added get their policies without a migration of ours.
                await conn.execute(text("SELECT leadflow_apply_walls()"))
            if app_url is not None:
                await _ensure_app_login(conn, owner_url, app_url)
    finally:
        await engine.dispose()


async def _ensure_app_login(conn: AsyncConnection, owner_url: str, app_url: str) -> None:
    app, owner = make_url(app_url), make_url(owner_url)
    if app.get_backend_name() != "postgresql" or not app.username or app.username == owner.username:
        return  # one URL for both: the app runs as the owner, still confined by FORCE ROW LEVEL SECURITY
    role = await conn.scalar(text("SELECT quote_ident(:name)"), {"name": app.username})
    exists = await conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": app.username})
    if not exists:
        password = ""
        if app.password:
            literal = await conn.scalar(text("SELECT quote_literal(:pw)"), {"pw": str(app.password)})
            password = f" PASSWORD {literal}"
        try:
            async with conn.begin_nested():
                await conn.execute(text(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS INHERIT{password}"))
        except DBAPIError as error:
            # Roles are cluster-wide: a twin migrating another database (parallel test workers) made it first.
            if getattr(error.orig, "sqlstate", None) not in DUPLICATE:
                raise
    for group in APP_GROUPS:
        member = await conn.scalar(
            text("SELECT pg_has_role(:name, :group, 'MEMBER')"), {"name": app.username, "group": group}
        )
        if not member:
            await conn.execute(text(f"GRANT {group} TO {role}"))


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
