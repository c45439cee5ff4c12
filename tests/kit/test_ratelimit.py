"""The throttling counters, and the tenant walls built on them, behave alike in memory and in Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from leadflow.kit.limits import (
    QuotaExceeded,
    RateLimited,
    RouteClass,
    TenantLimiter,
    TenantLimits,
)
from leadflow.kit.metrics import REGISTRY
from leadflow.kit.ratelimit import Counter, Hit, MemoryCounter, RedisCounter
from tests.conftest import IN_CI, REDIS_URL


@pytest.fixture(params=["memory", "redis"])
async def counter(request: pytest.FixtureRequest) -> AsyncIterator[Counter]:
    if request.param == "memory":
        yield MemoryCounter()
        return
    if not REDIS_URL:
        if IN_CI:
            pytest.fail("CI=true requires LEADFLOW_TEST_REDIS_URL")
        pytest.skip("set LEADFLOW_TEST_REDIS_URL to test the Redis counter")
    redis_counter = RedisCounter(REDIS_URL, prefix=f"leadflow:test:{uuid.uuid4().hex}:")
    yield redis_counter
    await redis_counter.close()


class TestCounters:
    async def test_hits_accumulate_within_the_window(self, counter: Counter) -> None:
        assert await counter.hit("k", 60) == 1
        assert await counter.hit("k", 60) == 2
        assert await counter.count("k") == 2
        assert 0 < await counter.retry_after("k") <= 60

    async def test_reset_forgets_the_key(self, counter: Counter) -> None:
        await counter.hit("k", 60)
        await counter.reset("k")
        assert await counter.count("k") == 0

    async def test_keys_are_independent(self, counter: Counter) -> None:
        await counter.hit("a", 60)
        assert await counter.count("b") == 0

    async def test_many_hits_land_at_once_and_report_each_count(self, counter: Counter) -> None:
        await counter.hit("a", 60)
        assert await counter.hit_many([Hit("a", 1, 60), Hit("b", 5, 60)]) == [2, 5]
        assert await counter.count("b") == 5

    async def test_a_negative_hit_gives_places_back_within_the_window(self, counter: Counter) -> None:
        await counter.hit_many([Hit("day", 10, 60)])
        assert await counter.hit_many([Hit("day", -4, 60)]) == [6]
        assert 0 < await counter.retry_after("day") <= 60


NOON_UTC = 1_780_000_000 // 86_400 * 86_400 + 12 * 3600  # some day, 12:00:00 UTC
DEFAULTS = TenantLimits(ingest_per_minute=3, hooks_per_minute=2, api_per_minute=2, events_per_day=10)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOON_UTC + 15)


@pytest.fixture
def limiter(counter: Counter, clock: Clock) -> TenantLimiter:
    return TenantLimiter(counter, DEFAULTS, clock=clock)


A, B = uuid.uuid4(), uuid.uuid4()


class TestTenantRates:
    async def test_a_tenant_over_its_rate_is_refused_with_the_time_left_in_the_minute(
        self, limiter: TenantLimiter
    ) -> None:
        for _ in range(3):
            await limiter.admit(A, RouteClass.INGEST)
        with pytest.raises(RateLimited) as refused:
            await limiter.admit(A, RouteClass.INGEST)
        assert refused.value.status == 429
        assert refused.value.headers["Retry-After"] == "45"
        assert refused.value.headers["RateLimit-Limit"] == "3"
        assert refused.value.headers["RateLimit-Remaining"] == "0"

    async def test_another_tenant_keeps_its_own_count(self, limiter: TenantLimiter) -> None:
        for _ in range(3):
            await limiter.admit(A, RouteClass.INGEST)
        with pytest.raises(RateLimited):
            await limiter.admit(A, RouteClass.INGEST)
        for _ in range(3):
            await limiter.admit(B, RouteClass.INGEST)

    async def test_each_route_class_has_its_own_count(self, limiter: TenantLimiter) -> None:
        for _ in range(3):
            await limiter.admit(A, RouteClass.INGEST)
        await limiter.admit(A, RouteClass.API)
        await limiter.admit(A, RouteClass.HOOKS)

    async def test_the_next_minute_opens_a_fresh_window(self, limiter: TenantLimiter, clock: Clock) -> None:
        for _ in range(3):
            await limiter.admit(A, RouteClass.INGEST)
        with pytest.raises(RateLimited):
            await limiter.admit(A, RouteClass.INGEST)
        clock.now += 45
        await limiter.admit(A, RouteClass.INGEST)

    async def test_a_tenant_override_replaces_the_default(self, limiter: TenantLimiter) -> None:
        overrides = {"api_per_minute": 1}
        await limiter.admit(A, RouteClass.API, overrides=overrides)
        with pytest.raises(RateLimited):
            await limiter.admit(A, RouteClass.API, overrides=overrides)
        await limiter.admit(B, RouteClass.API)
        await limiter.admit(B, RouteClass.API)

    def test_overrides_that_are_not_positive_integers_are_ignored(self) -> None:
        overridden = DEFAULTS.overridden(
            {"api_per_minute": 0, "hooks_per_minute": "9", "events_per_day": True, "ingest_per_minute": 7, "x": 1}
        )
        assert overridden == TenantLimits(ingest_per_minute=7, hooks_per_minute=2, api_per_minute=2, events_per_day=10)


class TestDailyEventQuota:
    async def test_events_beyond_the_quota_are_refused_until_the_tenants_midnight(self, limiter: TenantLimiter) -> None:
        await limiter.admit(A, RouteClass.INGEST, events=8, time_zone="America/Sao_Paulo")
        with pytest.raises(QuotaExceeded) as refused:
            await limiter.admit(A, RouteClass.INGEST, events=3, time_zone="America/Sao_Paulo")
        # 12:00:15 UTC is 09:00:15 in São Paulo (UTC-3): midnight is 14 h 59 min 45 s away.
        assert refused.value.headers["Retry-After"] == str(15 * 3600 - 15)
        assert refused.value.code == "quota-exceeded"

    async def test_refused_events_take_no_place_in_the_day(self, limiter: TenantLimiter, clock: Clock) -> None:
        await limiter.admit(A, RouteClass.INGEST, events=8)
        with pytest.raises(QuotaExceeded):
            await limiter.admit(A, RouteClass.INGEST, events=3)
        clock.now += 60  # a new minute: the rate is not what refuses here
        await limiter.admit(A, RouteClass.INGEST, events=2)
        with pytest.raises(QuotaExceeded):
            await limiter.admit(A, RouteClass.INGEST, events=1)

    async def test_events_refused_by_the_rate_take_no_place_either(self, limiter: TenantLimiter, clock: Clock) -> None:
        for _ in range(3):
            await limiter.admit(A, RouteClass.INGEST, events=1)
        with pytest.raises(RateLimited):
            await limiter.admit(A, RouteClass.INGEST, events=5)
        clock.now += 60
        await limiter.admit(A, RouteClass.INGEST, events=7)

    async def test_a_new_day_brings_a_new_quota(self, limiter: TenantLimiter, clock: Clock) -> None:
        await limiter.admit(A, RouteClass.INGEST, events=10)
        with pytest.raises(QuotaExceeded):
            await limiter.admit(A, RouteClass.INGEST, events=1)
        clock.now += 12 * 3600
        await limiter.admit(A, RouteClass.INGEST, events=10)

    async def test_the_quota_is_per_tenant(self, limiter: TenantLimiter) -> None:
        await limiter.admit(A, RouteClass.INGEST, events=10)
        with pytest.raises(QuotaExceeded):
            await limiter.admit(A, RouteClass.INGEST, events=1)
        await limiter.admit(B, RouteClass.INGEST, events=10)

    async def test_the_refused_events_are_counted_in_the_metrics(self, limiter: TenantLimiter) -> None:
        before = REGISTRY.get_sample_value("leadflow_events_over_quota_total") or 0.0
        await limiter.admit(A, RouteClass.HOOKS, events=10)
        with pytest.raises(QuotaExceeded):
            await limiter.admit(A, RouteClass.HOOKS, events=1)
        assert REGISTRY.get_sample_value("leadflow_events_over_quota_total") == before + 1
