from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from fastapi import FastAPI

from leadflow.kit.db import Database
from leadflow.models import ApiKey, ApiKeyKind, Tenant
from tests import factories
from tests.capture.factories import site


@pytest_asyncio.fixture
async def write_key(db: Database, tenant: Tenant) -> tuple[ApiKey, str]:
    return await factories.make_key(db, tenant, kind=ApiKeyKind.WRITE)


@pytest_asyncio.fixture
async def segment(app: FastAPI, tenant: Tenant, write_key: tuple[ApiKey, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A Segment-style client of the tenant's site: write key as HTTP Basic user."""
    async with site(app, tenant, write_key[1]) as client:
        yield client
