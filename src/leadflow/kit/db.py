"""Engines and sessions for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from leadflow.kit import rls  # noqa: F401 - registers the row-level security listeners on every Session
from leadflow.kit.scope import Scope, set_scope


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # A database error's text would otherwise carry the statement's parameters (e-mails, phones, names) into
    # the logs of whoever logs it.
    kwargs.setdefault("hide_parameters", True)
    if not is_sqlite(url):
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(url, **kwargs)
    # One connection: SQLite has one writer anyway, and queueing in the pool is fair and sleeps no one, where
    # several connections contend through the busy handler's back-off (measured: p99 730 ms vs a few ms).
    if make_url(url).database not in (None, "", ":memory:"):
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        kwargs.setdefault("pool_timeout", 60)
    path = make_url(url).database or ":memory:"
    engine = create_async_engine(url, async_creator=lambda: _InlineSqlite.opening(path), **kwargs)
    _configure_sqlite(engine)
    return engine


class _InlineSqlite(aiosqlite.Connection):
    """aiosqlite's interface, run on the event loop's own thread.

    aiosqlite hands every call to a thread and back. For a local SQLite file a statement takes microseconds, but
    each hand-off costs a GIL round trip that stalls the loop: measured on the conversion handler (43 statements),
    two thirds of its time went to those hand-offs. Running inline blocks the loop only for the statement itself,
    and each call still yields to the loop once, so a long unit of work (the worker's) does not starve requests.
    The one cost: waiting on another process's write lock (the busy timeout) also blocks the loop; transactions
    are short and take the lock up front (BEGIN IMMEDIATE), so such waits are brief.
    """

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int) -> None:
        super().__init__(connector, iter_chunk_size)
        self._tx = _RunNow()  # type: ignore[assignment]  # SQLAlchemy's adapter also queues calls on it directly

    @classmethod
    async def opening(cls, path: str) -> _InlineSqlite:
        return await cls(_connector(path), iter_chunk_size=64)

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        result = fn(*args, **kwargs)
        await asyncio.sleep(0)  # let the loop serve others between statements, as a thread hand-off would
        return result

    def __await__(self) -> Any:  # aiosqlite starts its thread here; there is none to start
        return self._connect().__await__()


class _RunNow:
    """Stands in for aiosqlite's queue to its thread: runs each call at once and settles its future."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:
            if future is None:
                raise
            future.set_exception(error)
        else:
            if future is not None:
                future.set_result(result)


def _connector(path: str) -> Callable[[], sqlite3.Connection]:
    # check_same_thread: the pool may close a connection from another thread (engine disposal, GC).
    return lambda: sqlite3.connect(path, timeout=30, check_same_thread=False)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions, so SAVEPOINTs and BEGIN IMMEDIATE work.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: concurrent transactions queue on busy_timeout instead
        # of failing when a reader later tries to write (SQLite cannot upgrade a lock under WAL).
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """Owns the engine and makes sessions; tests bind one to an outer transaction instead."""

    def __init__(self, engine: AsyncEngine, *, bind: AsyncConnection | None = None) -> None:
        self.engine = engine
        if bind is None:
            self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False, autoflush=True)
        else:
            self.sessionmaker = async_sessionmaker(
                bind=bind, expire_on_commit=False, join_transaction_mode="create_savepoint"
            )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self, scope: Scope | None = None) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends normally, rolls back otherwise."""
        async with self.sessionmaker() as session:
            if scope is not None:
                set_scope(session, scope)
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
