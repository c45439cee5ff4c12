"""Helpers for the audit chain specifications: read a tenant's chain, verify it, tamper with it as an attacker
with database access would (raw SQL, bypassing the application)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text

from leadflow.audit.service import ChainReport, verify_chain
from leadflow.kit import audit
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import AuditEntry, Tenant


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
