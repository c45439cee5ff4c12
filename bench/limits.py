"""What a tenant's wall adds to each request: one `TenantLimiter.admit` (rate + daily events), in memory and on Redis.

    python bench/limits.py                                   # in-process counter only
    LEADFLOW_BENCH_REDIS_URL=redis://127.0.0.1:6379/5 python bench/limits.py   # also Redis (one round trip each)

Sequential calls (the latency one request pays) and then 64 concurrent callers (what a busy process pays), over
many tenants so the keys are spread as in production. Prints figures; asserts nothing. Environment: BENCH_CALLS
(default 20000).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid

from redis.asyncio import Redis

from leadflow.kit.limits import RouteClass, TenantLimiter, TenantLimits
from leadflow.kit.ratelimit import Counter, MemoryCounter, RedisCounter

CALLS = int(os.environ.get("BENCH_CALLS", "20000"))
CONCURRENCY = 64
LIMITS = TenantLimits(
    ingest_per_minute=10**9, hooks_per_minute=10**9, api_per_minute=10**9, events_per_day=10**12
)  # never refused: the cost measured is the admission itself
TENANTS = [uuid.uuid4() for _ in range(100)]


async def _sequential(limiter: TenantLimiter) -> list[float]:
    latencies = []
    for n in range(CALLS):
        started = time.perf_counter()
        await limiter.admit(TENANTS[n % len(TENANTS)], RouteClass.INGEST, events=1, time_zone="America/Sao_Paulo")
        latencies.append(time.perf_counter() - started)
    return latencies


async def _concurrent(limiter: TenantLimiter) -> float:
    async def caller(offset: int) -> None:
        for n in range(offset, CALLS, CONCURRENCY):
            await limiter.admit(TENANTS[n % len(TENANTS)], RouteClass.API)

    started = time.perf_counter()
    await asyncio.gather(*(caller(i) for i in range(CONCURRENCY)))
    return CALLS / (time.perf_counter() - started)


async def _measure(name: str, counter: Counter) -> None:
    limiter = TenantLimiter(counter, LIMITS)
    await _sequential(limiter)  # warm-up: zone data, connections, code paths
    cuts = statistics.quantiles(await _sequential(limiter), n=100)
    rate = await _concurrent(limiter)
    await counter.close()
    print(
        f"{name:<8} per request: p50 {cuts[49] * 1e6:7.1f} µs  p99 {cuts[98] * 1e6:7.1f} µs"
        f"   {CONCURRENCY} concurrent: {rate:>9,.0f} admissions/s"
    )


async def _ping(url: str) -> None:
    """A bare round trip to the same server: the floor the Redis figures below should be read against."""
    redis: Redis = Redis.from_url(url)
    latencies = []
    for _ in range(min(CALLS, 5000)):
        started = time.perf_counter()
        await redis.ping()
        latencies.append(time.perf_counter() - started)
    await redis.aclose()
    print(f"{'ping':<8} per request: p50 {statistics.median(latencies) * 1e6:7.1f} µs  (one bare Redis round trip)")


async def main() -> None:
    print(f"TenantLimiter.admit, {CALLS} calls, {len(TENANTS)} tenants")
    await _measure("memory", MemoryCounter())
    redis_url = os.environ.get("LEADFLOW_BENCH_REDIS_URL")
    if redis_url:
        await _ping(redis_url)
        await _measure("redis", RedisCounter(redis_url, prefix=f"leadflow:bench:{uuid.uuid4().hex}:"))
    else:
        print("redis    skipped (set LEADFLOW_BENCH_REDIS_URL)")


if __name__ == "__main__":
    asyncio.run(main())
