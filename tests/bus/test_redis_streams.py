"""The redis transport: the outbox stays the record, Redis Streams carry the messages to the workers. A message is
delivered through the same code as the db transport (its effect once), by whichever worker reads it; a failing
handler backs off and is dead-lettered through the outbox; an entry a dead consumer held is dropped and the
message handed out again once its lease expires; losing the stream loses no message."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.dispatcher import RetryPolicy
from leadflow.bus.events import DomainEvent
from leadflow.bus.registry import Registry
from leadflow.bus.streams import StreamDispatcher, streamed
from leadflow.config import Settings
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import OutboxStatus, Tenant
from tests.bus.conftest import Clock, LeadCreated, publish_event, stored
from tests.conftest import IN_CI, REDIS_URL

LEASE = timedelta(milliseconds=300)  # the stream's idle time is real time: kept short for the tests


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    if not REDIS_URL:
        if IN_CI:
            pytest.fail("CI=true requires LEADFLOW_TEST_REDIS_URL")
        pytest.skip("set LEADFLOW_TEST_REDIS_URL to test the Redis Streams transport")
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def stream(redis: Redis) -> AsyncIterator[str]:
    name = f"leadflow:test:bus:{uuid.uuid4().hex}"
    yield name
    await redis.delete(name)


@pytest.fixture
def calls() -> list[DomainEvent]:
    return []


@pytest.fixture
def handlers(calls: list[DomainEvent]) -> Registry:
    registry = Registry()

    async def count(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
        calls.append(event)

    registry.subscribe(LeadCreated.name, name="test.count")(count)
    return registry


def worker(db: Database, handlers: Registry, clock: Clock, redis: Redis, stream: str, name: str) -> StreamDispatcher:
    return StreamDispatcher(
        db,
        handlers,
        redis=redis,
        stream=stream,
        consumer=name,
        lease=LEASE,
        retry=RetryPolicy(max_attempts=3, base=timedelta(seconds=2)),
        clock=clock,
        rng=random.Random(7),
    )


async def drain(*workers: StreamDispatcher) -> None:
    while sum([await w.dispatch_once() for w in workers]):
        pass


class TestDelivery:
    async def test_a_published_message_is_relayed_delivered_once_and_leaves_the_stream(
        self, db: Database, tenant: Tenant, handlers: Registry, clock: Clock, redis: Redis, stream: str,
        calls: list[DomainEvent],
    ) -> None:  # fmt: skip
        event = await publish_event(db, tenant, lead="Casa no Morumbi")
        await drain(worker(db, handlers, clock, redis, stream, "a"))
        assert [c.id for c in calls] == [event.id]
        assert calls[0].payload == {"lead": "Casa no Morumbi"}
        assert (await stored(db, event)).status == OutboxStatus.DONE
        assert await redis.xlen(stream) == 0

    async def test_a_message_one_worker_relayed_is_delivered_by_another(
        self, db: Database, tenant: Tenant, handlers: Registry, clock: Clock, redis: Redis, stream: str,
        calls: list[DomainEvent],
    ) -> None:  # fmt: skip
        events = [await publish_event(db, tenant, n=n) for n in range(5)]
        relaying, reading = (worker(db, handlers, clock, redis, stream, name) for name in ("a", "b"))
        await relaying.dispatch_once()  # relays and reads what it relayed
        await drain(relaying, reading)
        assert sorted(str(c.id) for c in calls) == sorted(str(e.id) for e in events)  # each once

        more = await publish_event(db, tenant, n=5)
        await relaying.relay()
        assert await reading.consume() == 1
        assert calls[-1].id == more.id


class TestFailures:
    async def test_a_failing_handler_backs_off_then_is_dead_lettered(
        self, db: Database, tenant: Tenant, clock: Clock, redis: Redis, stream: str
    ) -> None:
        registry = Registry()

        async def fail(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
            raise RuntimeError("CRM fora do ar")

        registry.subscribe(LeadCreated.name, name="test.fail")(fail)
        event = await publish_event(db, tenant)
        bus = worker(db, registry, clock, redis, stream, "a")
        for attempt in (1, 2):
            await drain(bus)
            message = await stored(db, event)
            assert (message.status, message.attempts) == (OutboxStatus.PENDING, attempt)
            assert "CRM fora do ar" in (message.last_error or "")
            clock.advance(timedelta(minutes=5))
        await drain(bus)
        assert (await stored(db, event)).status == OutboxStatus.DEAD
        assert await redis.xlen(stream) == 0

    async def test_an_entry_a_dead_consumer_held_is_handed_out_again_and_handled_once(
        self, db: Database, tenant: Tenant, handlers: Registry, clock: Clock, redis: Redis, stream: str,
        calls: list[DomainEvent],
    ) -> None:  # fmt: skip
        event = await publish_event(db, tenant)
        survivor = worker(db, handlers, clock, redis, stream, "survivor")
        await survivor._ensure_group()
        await survivor.relay()
        # A consumer reads the entry and dies before delivering it.
        taken = await redis.xreadgroup(survivor.group, "dead", {stream: ">"}, count=10)
        assert len(taken[0][1]) == 1
        assert await survivor.dispatch_once() == 0  # its lease holds: nobody else may have it yet

        await asyncio.sleep(LEASE.total_seconds() * 2)  # the entry idles past the lease ...
        clock.advance(LEASE * 2)  # ... and so does the outbox lease
        await drain(survivor)
        assert [c.id for c in calls] == [event.id]
        message = await stored(db, event)
        assert (message.status, message.attempts) == (OutboxStatus.DONE, 0)  # the takeover's charge refunded
        assert await redis.xlen(stream) == 0

    async def test_losing_the_stream_loses_no_message(
        self, db: Database, tenant: Tenant, handlers: Registry, clock: Clock, redis: Redis, stream: str,
        calls: list[DomainEvent],
    ) -> None:  # fmt: skip
        event = await publish_event(db, tenant)
        bus = worker(db, handlers, clock, redis, stream, "a")
        await bus._ensure_group()
        await bus.relay()
        await redis.delete(stream)  # Redis flushed, or failed over without the stream
        assert await bus.dispatch_once() == 0
        clock.advance(LEASE * 2)
        await drain(bus)
        assert [c.id for c in calls] == [event.id]
        assert (await stored(db, event)).status == OutboxStatus.DONE


class TestSettings:
    def test_the_redis_transport_needs_a_redis_url(self) -> None:
        with pytest.raises(ValidationError, match="LEADFLOW_REDIS_URL"):
            Settings(_env_file=None, bus_transport="redis")  # type: ignore[call-arg]
        chosen = Settings(_env_file=None, bus_transport="redis", redis_url="redis://127.0.0.1:6379/0")  # type: ignore[call-arg]
        assert streamed(chosen) is not None
        assert streamed(Settings(_env_file=None)) is None  # type: ignore[call-arg]
