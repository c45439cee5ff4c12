from __future__ import annotations

import pytest

from leadflow.config import Settings
from leadflow.kit.db import Database
from leadflow.models import Lead, Tenant, User
from tests.activity.factories import make_open_lead

UPLOAD_LIMIT = 64 * 1024


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Uploads are limited to 64 KiB here, so the limit can be crossed cheaply."""
    return settings.model_copy(update={"max_upload_bytes": UPLOAD_LIMIT})


@pytest.fixture
async def lead(db: Database, tenant: Tenant, broker: User) -> Lead:
    """An open lead of the broker nobody has answered yet."""
    return await make_open_lead(db, tenant, owner=broker)


@pytest.fixture
async def managers_lead(db: Database, tenant: Tenant, manager: User) -> Lead:
    """A lead the broker cannot see (it is the manager's)."""
    return await make_open_lead(db, tenant, owner=manager)
