"""Fixed-window counters for throttling: Redis when configured (shared by all processes), memory otherwise."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from redis.asyncio import Redis


class Counter(Protocol):
    async def hit(self, key: str, window_seconds: int) -> int:
        """Count one event under ``key``; returns the count in the current window."""

    async def count(self, key: str) -> int: ...

    async def retry_after(self, key: str) -> int: ...

    async def reset(self, key: str) -> None: ...

    async def close(self) -> None: ...


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
        async with self._lock:
            entry = self._live(key)
            expires, count = entry if entry else (time.monotonic() + window_seconds, 0)
            self._windows[key] = (expires, count + 1)
            if len(self._windows) > 100_000:
                self._evict()
            return count + 1

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

    async def close(self) -> None:
        return None


class RedisCounter:
    def __init__(self, url: str, *, prefix: str = "leadflow:rl:") -> None:
        self._redis: Redis = Redis.from_url(url)
        self._prefix = prefix

    async def hit(self, key: str, window_seconds: int) -> int:
        k = self._prefix + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(k)
            pipe.expire(k, window_seconds, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    async def count(self, key: str) -> int:
        value = await self._redis.get(self._prefix + key)
        return int(value) if value else 0

    async def retry_after(self, key: str) -> int:
        ttl = await self._redis.ttl(self._prefix + key)
        return max(int(ttl), 0)

    async def reset(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def close(self) -> None:
        await self._redis.aclose()


def make_counter(redis_url: str | None) -> Counter:
    return RedisCounter(redis_url) if redis_url else MemoryCounter()
