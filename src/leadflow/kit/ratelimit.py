"""Fixed-window counters for throttling: Redis when configured (shared by all processes), memory otherwise."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import NamedTuple, Protocol

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from leadflow.kit.errors import DependencyUnavailable

# A Redis that is down, partitioned or slow must not hang the requests it counts: each call has this budget.
REDIS_TIMEOUT_SECONDS = 1.0


class Hit(NamedTuple):
    """Add ``amount`` (negative to give some back) under ``key``, whose window ends ``window_seconds`` after its
    first hit."""

    key: str
    amount: int
    window_seconds: int


class Counter(Protocol):
    async def hit(self, key: str, window_seconds: int) -> int:
        """Count one event under ``key``; returns the count in the current window."""

    async def hit_many(self, hits: Sequence[Hit]) -> list[int]:
        """Apply every hit at once (one round trip to Redis); returns each key's count after its hit."""

    async def count(self, key: str) -> int: ...

    async def retry_after(self, key: str) -> int: ...

    async def reset(self, key: str) -> None: ...

    async def ping(self) -> None:
        """Raise :class:`CounterUnavailable` when the shared counter cannot be reached (readiness)."""

    async def close(self) -> None: ...


class CounterUnavailable(DependencyUnavailable):
    """The shared counter (Redis) is unreachable or too slow: the request is refused, nothing of it was done.

    Failing closed is deliberate: every API process shares these counters, so going on without them would let a
    noisy tenant through on every process at once (and the login lockout would stop counting)."""

    code = "rate-limiter-unavailable"

    def __init__(self) -> None:
        super().__init__("the rate limiter is out of reach right now; nothing was stored, retry shortly", retry_after=2)


class MemoryCounter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = asyncio.Lock()

    def _live(self, key: str) -> tuple[float, int] | None:
        entry = self._windows.get(key)
        if entry is None or entry[0] <= time.monotonic():
            self._windows.pop(key, None)
            return None
        return entry

    async def hit(self, key: str, window_seconds: int) -> int:
        return (await self.hit_many([Hit(key, 1, window_seconds)]))[0]

    async def hit_many(self, hits: Sequence[Hit]) -> list[int]:
        async with self._lock:
            counts = [self._add(hit) for hit in hits]
            if len(self._windows) > 100_000:
                self._evict()
            return counts

    def _add(self, hit: Hit) -> int:
        entry = self._live(hit.key)
        expires, count = entry if entry else (time.monotonic() + hit.window_seconds, 0)
        self._windows[hit.key] = (expires, count + hit.amount)
        return count + hit.amount

    def _evict(self) -> None:
        now = time.monotonic()
        for k in [k for k, (exp, _) in self._windows.items() if exp <= now]:
            del self._windows[k]

    async def count(self, key: str) -> int:
        entry = self._live(key)
        return entry[1] if entry else 0

    async def retry_after(self, key: str) -> int:
        entry = self._live(key)
        return int(entry[0] - time.monotonic()) + 1 if entry else 0

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisCounter:
    def __init__(self, url: str, *, prefix: str = "leadflow:rl:", timeout: float = REDIS_TIMEOUT_SECONDS) -> None:
        # Bounded connect and reply waits; no silent retry (a retry would double the wait of every request).
        self._redis: Redis = Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout, retry_on_timeout=False
        )
        self._prefix = prefix

    async def hit(self, key: str, window_seconds: int) -> int:
        return (await self.hit_many([Hit(key, 1, window_seconds)]))[0]

    async def hit_many(self, hits: Sequence[Hit]) -> list[int]:
        # INCRBY then EXPIRE NX per key, all in one MULTI/EXEC: one round trip, and a key never lives without
        # its expiry (NX keeps the window of the first hit).
        async with _reachable(), self._redis.pipeline(transaction=True) as pipe:
            for hit in hits:
                pipe.incrby(self._prefix + hit.key, hit.amount)
                pipe.expire(self._prefix + hit.key, hit.window_seconds, nx=True)
            replies = await pipe.execute()
        return [int(count) for count in replies[::2]]

    async def count(self, key: str) -> int:
        async with _reachable():
            value = await self._redis.get(self._prefix + key)
        return int(value) if value else 0

    async def retry_after(self, key: str) -> int:
        async with _reachable():
            ttl = await self._redis.ttl(self._prefix + key)
        return max(int(ttl), 0)

    async def reset(self, key: str) -> None:
        async with _reachable():
            await self._redis.delete(self._prefix + key)

    async def ping(self) -> None:
        async with _reachable():
            await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()


@asynccontextmanager
async def _reachable() -> AsyncIterator[None]:
    """Redis out of reach (refused, reset, timed out) becomes a 503 with Retry-After, never a 500 or a hang."""
    try:
        yield
    except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError, TimeoutError) as exc:
        raise CounterUnavailable() from exc


def make_counter(redis_url: str | None) -> Counter:
    return RedisCounter(redis_url) if redis_url else MemoryCounter()
