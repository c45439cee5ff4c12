"""When the database is out of reach, the API answers 503 with ``Retry-After`` — the client did nothing wrong and
should retry — and never 500; what counts as "out of reach" is decided by ``kit.errors.is_unavailable``."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import exc as sa_exc

from leadflow.app import bounded_waits, create_app
from leadflow.config import Settings
from leadflow.kit.errors import is_unavailable
from tests.crash.harness import free_port


class DriverError(Exception):
    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def wrapped(error: Exception, kind: type[sa_exc.DBAPIError] = sa_exc.OperationalError) -> sa_exc.DBAPIError:
    return kind("SELECT 1", {}, error)


class TestWhatCountsAsUnreachable:
    @pytest.mark.parametrize(
        "error",
        [
            TimeoutError(),
            ConnectionRefusedError(111, "Connect call failed"),
            ConnectionResetError(104, "Connection reset by peer"),
            sa_exc.TimeoutError("QueuePool limit reached, connection timed out"),
            wrapped(DriverError("connection failure", "08006")),
            wrapped(DriverError("the database system is shutting down", "57P03")),
            wrapped(DriverError("too many connections", "53300")),
            wrapped(Exception("connection is closed"), sa_exc.InterfaceError),
            wrapped(Exception("database is locked")),
        ],
        ids=repr,
    )
    def test_these_are_503(self, error: Exception) -> None:
        assert is_unavailable(error)

    def test_a_timeout_behind_another_error_is_503(self) -> None:
        outer = RuntimeError("while committing")
        outer.__cause__ = TimeoutError()
        assert is_unavailable(outer)

    @pytest.mark.parametrize(
        "error",
        [
            ValueError("a bug"),
            wrapped(DriverError("duplicate key", "23505"), sa_exc.IntegrityError),
            wrapped(DriverError("syntax error", "42601"), sa_exc.ProgrammingError),
            wrapped(Exception("no such table: leads")),
        ],
        ids=repr,
    )
    def test_these_are_not(self, error: Exception) -> None:
        assert not is_unavailable(error)


@pytest.fixture
def unreachable(settings: Settings) -> FastAPI:
    """The app configured with a PostgreSQL where nothing listens."""
    url = f"postgresql+asyncpg://leadflow:secret@127.0.0.1:{free_port()}/leadflow"
    return create_app(settings.model_copy(update={"database_url": url, "database_connect_timeout_seconds": 2.0}))


class TestAnUnreachableDatabase:
    async def test_readiness_is_503(self, unreachable: FastAPI) -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=unreachable), base_url="http://x") as c:
            response = await c.get("/readyz")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"

    async def test_an_event_is_503_with_retry_after_never_500(self, unreachable: FastAPI) -> None:
        transport = httpx.ASGITransport(app=unreachable, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://acme.localhost") as c:
            response = await c.post("/v1/track", json={"type": "track", "messageId": "m-1", "event": "Visita"})
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        assert response.json()["type"].endswith("/dependency-unavailable")

    def test_postgresql_waits_are_bounded_and_sqlite_keeps_its_busy_timeout(self, settings: Settings) -> None:
        postgres = settings.model_copy(update={"database_url": "postgresql+asyncpg://u@h/db"})
        assert bounded_waits(postgres) == {
            "connect_args": {"timeout": 5.0, "command_timeout": 15.0},
            "pool_timeout": 15.0,
        }
        assert bounded_waits(settings) == {}
