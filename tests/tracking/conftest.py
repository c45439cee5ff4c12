from __future__ import annotations

import pytest_asyncio
from fastapi import FastAPI

from leadflow.app import create_app
from leadflow.config import Settings
from leadflow.kit.db import Database
from leadflow.tracking.endpoints import router as tracking_router


def with_tracking(app: FastAPI) -> FastAPI:
    """The app with the tracking routes, whether or not create_app includes them yet."""
    if not any(getattr(route, "path", None) == "/t.js" for route in app.routes):
        app.include_router(tracking_router)
    return app


@pytest_asyncio.fixture
async def app(settings: Settings, db: Database) -> FastAPI:
    return with_tracking(create_app(settings, database=db))
