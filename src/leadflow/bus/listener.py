"""PostgreSQL ``LISTEN``: a worker's dedicated connection that turns a publishing commit, in any process, into an
immediate wake-up (the publisher's transaction ``NOTIFY``s, see :mod:`leadflow.bus.outbox`).

Notifications are only a hint to look now: a missed one costs at most the worker's poll interval, never a
message. So when the connection dies the worker is woken to poll (at most every :data:`FALLBACK_POLL_INTERVAL`)
while this reconnects, and every (re)connection wakes it once for what was published while nobody listened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from leadflow.bus.outbox import CHANNEL

log = structlog.get_logger("leadflow.bus")

FALLBACK_POLL_INTERVAL = 1.0


class ListenerLost(ConnectionError):
    """The listening connection was closed under us (server restart, pg_terminate_backend, network)."""


class OutboxListener:
    def __init__(
        self,
        engine: AsyncEngine,
        wake: Callable[[], None],
        *,
        retry_delay: float = 1.0,
        check_interval: float = 30.0,
    ) -> None:
        self.engine = engine
        self.wake = wake
        self.retry_delay = retry_delay
        self.check_interval = check_interval  # a silent half-open TCP connection is found by a query this often
        self.ready = asyncio.Event()  # set once the first connection attempt has succeeded or failed
        self.server_pid: int | None = None  # the listening backend, while connected

    @property
    def listening(self) -> bool:
        return self.server_pid is not None

    async def run(self) -> None:
        """Listen until cancelled, reconnecting after ``retry_delay`` whenever the connection is lost."""
        while True:
            try:
                await self._listen()
            except Exception as exc:  # refused, dropped, timed out: the worker polls meanwhile
                log.warning("bus.listener_lost", channel=CHANNEL, error=repr(exc))
            finally:
                self.ready.set()
            await asyncio.sleep(self.retry_delay)

    async def _listen(self) -> None:
        async with self.engine.connect() as connection:
            try:
                driver: Any = (await connection.get_raw_connection()).driver_connection
                lost = asyncio.Event()
                driver.add_termination_listener(lambda _connection: lost.set())
                await driver.add_listener(CHANNEL, self._notified)
                self.server_pid = driver.get_server_pid()
                log.info("bus.listening", channel=CHANNEL, server_pid=self.server_pid)
                self.ready.set()
                self.wake()
                await self._watch(driver, lost)
            finally:
                if self.server_pid is not None:
                    self.server_pid = None
                    self.wake()  # the worker re-plans its sleep: it must poll now that nobody listens
                await connection.invalidate()  # never hand a LISTENing connection back to the pool

    async def _watch(self, driver: Any, lost: asyncio.Event) -> None:
        while True:
            try:
                await asyncio.wait_for(lost.wait(), self.check_interval)
            except TimeoutError:
                await asyncio.wait_for(driver.fetchval("SELECT 1"), self.check_interval)
            else:
                raise ListenerLost(CHANNEL)

    def _notified(self, _connection: object, _pid: int, _channel: str, _payload: str) -> None:
        self.wake()
