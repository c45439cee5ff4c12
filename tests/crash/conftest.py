"""A deployment per test module and backend, and tenants with a write key on it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from leadflow.models import ApiKeyKind, Tenant
from tests import factories
from tests.crash.harness import Deployment, deployment


@pytest.fixture(scope="module")
def site(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """A fresh database of this module's own (its processes see every row in it)."""
    with deployment(backend, tmp_path_factory.mktemp("site")) as made:
        yield made


@dataclass(frozen=True)
class Account:
    """A tenant and the write key its site posts events with."""

    tenant: Tenant
    write_key: str

    @property
    def host(self) -> str:
        return factories.host_of(self.tenant)


def new_account(site: Deployment) -> Account:
    async def make() -> Account:
        db = site.database()
        try:
            tenant = await factories.make_tenant(db, f"crash-{uuid.uuid4().hex[:8]}")
            _, key = await factories.make_key(db, tenant, kind=ApiKeyKind.WRITE)
            return Account(tenant, key)
        finally:
            await db.dispose()

    return asyncio.run(make())


@pytest.fixture
def account(site: Deployment) -> Account:
    return new_account(site)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return tmp_path
