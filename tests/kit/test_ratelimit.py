"""The throttling counters behave alike in memory and in Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from leadflow.kit.ratelimit import Counter, MemoryCounter, RedisCounter
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
