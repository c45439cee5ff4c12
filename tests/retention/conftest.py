"""Retention specifications: records are made "old" by writing them while the audit clock reads the past, or by
setting their timestamps; retention then runs at the real now."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import update

from leadflow.config import Settings
from leadflow.kit import audit
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.storage import LocalStorage
from leadflow.kit.time import utcnow
from leadflow.models import Tenant
from leadflow.privacy import keys
from leadflow.retention.commands import run_tenant
from tests import factories


@pytest.fixture(autouse=True)
def privacy_keys(settings: Settings) -> Iterator[None]:
    keys.configure(settings)
    yield
    keys.configure(None)  # type: ignore[arg-type]


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


def days_ago(days: float) -> datetime:
    return utcnow() - timedelta(days=days)


@pytest.fixture
def audit_clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``audit_clock(days)``: audit entries written from now on are stamped that many days ago."""

    def set_days_ago(days: float) -> None:
        monkeypatch.setattr(audit, "utcnow", lambda: days_ago(days))

    return set_days_ago


@pytest_asyncio.fixture
async def aged_tenant(db: Database, audit_clock: Any) -> Tenant:
    """A tenant created 200 days ago (its first audit entries are that old); the audit clock is back at now."""
    audit_clock(200)
    tenant = await factories.make_tenant(db, f"velha-{uuid.uuid4().hex[:8]}", "Velha Imóveis")
    audit_clock(0)
    return tenant


async def run_retention(
    db: Database,
    tenant: Tenant,
    *,
    storage: LocalStorage | None = None,
    dry_run: bool = False,
    batch: int = 500,
    now: datetime | None = None,
) -> dict[str, Any]:
    """What `leadflow retention run --tenant` does: steps until nothing is left; the totals."""
    return await run_tenant(
        db, Scope.for_tenant(tenant.id), now=now or utcnow(), storage=storage, dry_run=dry_run, batch=batch
    )


async def backdate(db: Database, tenant: Tenant, model: type[Any], ids: list[Any], **values: Any) -> None:
    """Set timestamps of existing rows (soft-deleted ones too) as if time had passed."""
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        stmt = update(model).where(model.id.in_(ids)).values(**values)
        await session.execute(stmt.execution_options(include_deleted=True, synchronize_session=False))
