"""Group commit: concurrent callers' writes share one transaction, and each caller learns its own outcome.

A caller :meth:`GroupCommit.submit`\\ s an item under a partition key (e.g. a tenant) and awaits its result. One
writer per key takes every item waiting (up to ``max_weight``), runs ``write(unit, items)`` inside one unit of
work opened by ``begin(key)``, lets that unit commit, and only then resolves each caller with its own result. When
the write or the commit fails, every caller of the group gets :class:`GroupCommitFailed` and nothing is
acknowledged.

There is no timer. The writer starts as soon as an item arrives and no transaction of that key is running, so an
idle system adds no latency; under load, whatever arrived while the previous transaction committed forms the next
group. Keys never share a transaction, so each unit of work can be scoped to its key (one tenant per session).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import structlog
from sqlalchemy import exc as sa_exc

from leadflow.kit.errors import ServiceUnavailable

K = TypeVar("K", bound=Hashable)
U = TypeVar("U")
T = TypeVar("T")
R = TypeVar("R")

log = structlog.get_logger("leadflow.groupcommit")

# Failures of the database itself (connection, I/O, lock timeouts): every item of any group would fail alike.
SYSTEMIC = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, OSError, TimeoutError)
RETRY_SOON = {"Retry-After": "1"}


class GroupCommitFailed(ServiceUnavailable):
    """The transaction holding this request's writes did not commit: nothing of it was kept; retry."""

    code = "write-failed"
    title = "Not stored"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or "the write did not commit and nothing was stored; retry", headers=RETRY_SOON)


class GroupCommitOverloaded(ServiceUnavailable):
    """Too much is already waiting for the writer: refused before anything was queued."""

    code = "overloaded"
    title = "Overloaded"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or "too many writes are waiting; retry shortly", headers=RETRY_SOON)


@dataclass(slots=True)
class _Waiter(Generic[T, R]):
    item: T
    weight: int
    future: asyncio.Future[R]


@dataclass(slots=True)
class _Lane(Generic[T, R]):
    """The items waiting for one key, and its writer while one runs."""

    waiting: deque[_Waiter[T, R]] = field(default_factory=deque)
    weight: int = 0
    writer: asyncio.Task[None] | None = None


@dataclass(slots=True)
class GroupCommitStats:
    """Counters of one GroupCommit since it was made (tests and the bench read them)."""

    transactions: int = 0  # committed
    failures: int = 0  # transactions that did not commit
    items: int = 0  # items acknowledged


class GroupCommit(Generic[K, U, T, R]):
    """Writes submitted items in shared transactions, one writer per key.

    ``begin(key)`` opens a unit of work that commits when its block ends normally and rolls back otherwise (e.g.
    ``Database.session(scope)``); ``write(unit, items)`` writes the items and returns one result per item, in
    order, without committing. ``max_weight`` bounds a group (an item heavier than that goes alone);
    ``max_waiting`` bounds the weight queued per key, beyond which :class:`GroupCommitOverloaded` is raised.
    """

    def __init__(
        self,
        *,
        begin: Callable[[K], AbstractAsyncContextManager[U]],
        write: Callable[[U, list[T]], Awaitable[list[R]]],
        max_weight: int = 5000,
        max_waiting: int = 200_000,
        on_commit: Callable[[int, int], None] | None = None,
    ) -> None:
        self._begin = begin
        self._write = write
        self.max_weight = max_weight
        self.max_waiting = max_waiting
        self._on_commit = on_commit
        self._lanes: dict[K, _Lane[T, R]] = {}
        self.stats = GroupCommitStats()

    async def submit(self, key: K, item: T, *, weight: int = 1) -> R:
        """Queue ``item`` for ``key`` and return its result once the transaction holding it has committed."""
        lane = self._lanes.setdefault(key, _Lane())
        if lane.weight and lane.weight + weight > self.max_waiting:
            raise GroupCommitOverloaded()
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        lane.waiting.append(_Waiter(item, weight, future))
        lane.weight += weight
        if lane.writer is None:
            # A context of its own: the writer serves many requests, so it must not log as the first one.
            writer = self._drain(key, lane)
            lane.writer = asyncio.create_task(writer, name=f"group-commit:{key}", context=contextvars.Context())
        # A caller cancelled while waiting leaves its item queued: it is written anyway (re-sends are idempotent).
        return await future

    async def _drain(self, key: K, lane: _Lane[T, R]) -> None:
        try:
            while lane.waiting:
                group = self._take(lane)
                await self._commit(key, group, isolate=len(group) > 1)
        finally:
            lane.writer = None
            leftover = list(lane.waiting)  # only when this writer was cancelled (shutdown)
            lane.waiting.clear()
            lane.weight = 0
            _fail(leftover, asyncio.CancelledError())
            if self._lanes.get(key) is lane:
                del self._lanes[key]

    def _take(self, lane: _Lane[T, R]) -> list[_Waiter[T, R]]:
        group = [lane.waiting.popleft()]
        total = group[0].weight
        while lane.waiting and total + lane.waiting[0].weight <= self.max_weight:
            waiter = lane.waiting.popleft()
            group.append(waiter)
            total += waiter.weight
        lane.weight -= total
        return group

    async def _commit(self, key: K, group: list[_Waiter[T, R]], *, isolate: bool) -> None:
        try:
            async with self._begin(key) as unit:
                results = await self._write(unit, [waiter.item for waiter in group])
                if len(results) != len(group):
                    raise RuntimeError(f"write returned {len(results)} results for {len(group)} items")
        except asyncio.CancelledError as error:
            _fail(group, error)  # the commit may or may not have happened: not acknowledged, a re-send is a duplicate
            raise
        except Exception as error:
            self.stats.failures += 1
            if isolate and not isinstance(error, SYSTEMIC):
                # One bad item must not fail its neighbours forever: each is retried in a transaction of its own.
                log.warning("group write failed; retrying its items one by one", items=len(group), exc_info=error)
                for waiter in group:
                    await self._commit(key, [waiter], isolate=False)
                return
            if isinstance(error, SYSTEMIC):
                # An outage fails every group until it ends: one line each, not a traceback each, and no driver
                # text that could quote a statement's values.
                log.warning("group write failed: database unavailable", items=len(group), error=type(error).__name__)
            else:
                log.error("group write failed", items=len(group), exc_info=error)
            _fail(group, error)
            return
        for waiter, result in zip(group, results, strict=True):  # lengths checked before the commit
            if not waiter.future.done():
                waiter.future.set_result(result)
        self.stats.transactions += 1
        self.stats.items += len(group)
        if self._on_commit is not None:
            self._on_commit(len(group), sum(waiter.weight for waiter in group))


def _fail(group: list[_Waiter[Any, Any]], error: BaseException) -> None:
    for waiter in group:
        if not waiter.future.done():
            failure = GroupCommitFailed()
            failure.__cause__ = error
            waiter.future.set_exception(failure)
