"""The worker loop: dispatch until the queue is drained, then sleep until something wakes it.

Wake-ups, fastest first: a commit in this process that published (through the worker's own engine); on
PostgreSQL, a ``NOTIFY`` from a publishing commit in any process (:class:`OutboxListener`); the earliest delayed
message or retry coming due; and the poll interval, for what nothing announced (another worker's expired lease).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable

import structlog

from leadflow.bus import crash
from leadflow.bus.dispatcher import Dispatcher
from leadflow.bus.listener import FALLBACK_POLL_INTERVAL, OutboxListener
from leadflow.bus.outbox import on_publish
from leadflow.bus.registry import load_handlers
from leadflow.kit.db import Database

log = structlog.get_logger("leadflow.bus")

STOP_TIMEOUT = 30.0  # seconds a stopping worker may spend finishing its batch before it is cancelled


class Worker:
    """Runs a dispatcher until stopped."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        poll_interval: float = 1.0,
        listen: bool = True,
        fallback_poll_interval: float = FALLBACK_POLL_INTERVAL,
    ) -> None:
        self.dispatcher = dispatcher
        self.poll_interval = poll_interval
        self.fallback_poll_interval = fallback_poll_interval  # the longest sleep while notifications are lost
        self._wake = asyncio.Event()
        self._stopping = False
        self.idle = asyncio.Event()  # set while the worker waits for work (its queue was drained)
        self.stopped = asyncio.Event()  # set when run() has returned
        self.listener = (
            OutboxListener(dispatcher.db.engine, self._wake.set)
            if listen and dispatcher.db.dialect == "postgresql"
            else None
        )

    async def run(self) -> None:
        unsubscribe = on_publish(self._wake.set, engine=self.dispatcher.db.engine.sync_engine)
        listening = self._start_listening()
        try:
            if self.listener is not None:  # LISTEN before the first drain: nothing committed in between goes unheard
                await self.listener.ready.wait()
            while not self._stopping:
                self._wake.clear()
                if await self._dispatch() < self.dispatcher.batch_size:
                    await self._sleep(await self._idle_timeout())
        finally:
            unsubscribe()
            if listening is not None:
                listening.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listening
            self.stopped.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def _start_listening(self) -> asyncio.Task[None] | None:
        if self.listener is None:
            return None
        return asyncio.create_task(self.listener.run(), name="leadflow.bus.listener")

    async def _dispatch(self) -> int:
        try:
            return await self.dispatcher.dispatch_once()
        except Exception:
            log.exception("bus.dispatch_failed")  # the database went away: try again after the poll interval
            return 0

    async def _idle_timeout(self) -> float:
        """Seconds to sleep: the poll interval (shorter while PostgreSQL notifications are lost), or until the
        earliest delayed message comes due."""
        timeout = self.poll_interval
        if self.listener is not None and not self.listener.listening:
            timeout = min(timeout, self.fallback_poll_interval)
        if self._wake.is_set():
            return timeout  # woken during the batch: no need to look for the next timer
        try:
            due = await self.dispatcher.next_due_at()
        except Exception:
            log.exception("bus.next_due_failed")
            return timeout
        if due is None:
            return timeout
        return max(0.0, min(timeout, (due - self.dispatcher.clock()).total_seconds()))

    async def _sleep(self, seconds: float) -> None:
        self.idle.set()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), seconds)
        finally:
            self.idle.clear()


@contextlib.asynccontextmanager
async def running_worker(
    db: Database, *, extra_handler_modules: Iterable[str] = (), crash_at: str | None = None
) -> AsyncIterator[Worker]:
    """A worker in the background of the enclosed block (the server's lifespan under ``leadflow demo``): it
    loads every handler first, and when the block ends finishes its batch and stops."""
    modules = load_handlers(extra_handler_modules)
    crash.arm(crash_at)
    worker = Worker(Dispatcher(db))
    task = asyncio.create_task(worker.run(), name="leadflow.bus.worker")
    log.info("bus.worker_started", handlers=modules)
    try:
        yield worker
    finally:
        worker.stop()
        try:
            await asyncio.wait_for(task, STOP_TIMEOUT)
        except TimeoutError:
            log.warning("bus.worker_stop_timeout", seconds=STOP_TIMEOUT)  # its leases expire; others redeliver
