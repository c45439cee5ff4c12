"""The worker loop: dispatch until the queue is drained, then sleep until a publish wakes it (or a short poll)."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from leadflow.bus.dispatcher import Dispatcher
from leadflow.bus.outbox import on_publish

log = structlog.get_logger("leadflow.bus")


class Worker:
    """Runs a dispatcher until stopped. A commit that published in this process wakes it at once; messages
    published by other processes, and retries coming due, are found by the poll fallback."""

    def __init__(self, dispatcher: Dispatcher, *, poll_interval: float = 1.0) -> None:
        self.dispatcher = dispatcher
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._stopping = False
        self.idle = asyncio.Event()  # set while the worker waits for work (its queue was drained)

    async def run(self) -> None:
        unsubscribe = on_publish(self._wake.set)
        try:
            while not self._stopping:
                self._wake.clear()
                if await self._dispatch() < self.dispatcher.batch_size:
                    await self._sleep()
        finally:
            unsubscribe()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def _dispatch(self) -> int:
        try:
            return await self.dispatcher.dispatch_once()
        except Exception:
            log.exception("bus.dispatch_failed")  # the database went away: try again after the poll interval
            return 0

    async def _sleep(self) -> None:
        self.idle.set()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
        finally:
            self.idle.clear()
