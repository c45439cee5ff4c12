"""The db transport delivers each outbox message to its handlers at least once, and each handler's effect once."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.dispatcher import STALLED_ERROR, Dispatcher, RetryPolicy
from leadflow.bus.events import DomainEvent, UnknownEvent
from leadflow.bus.outbox import publish
from leadflow.bus.registry import DuplicateHandler, Registry
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import HandlerRun, OutboxMessage, OutboxStatus, Tenant, User
from tests import factories
from tests.bus.conftest import Clock, LeadCreated, publish_event, stored


class Boom(RuntimeError):
    pass


class Poison(DomainEvent):
    name = "test.poison"


def counting(calls: list[DomainEvent]):  # type: ignore[no-untyped-def]
    async def handler(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
        calls.append(event)

    return handler


def failing(calls: list[DomainEvent]):  # type: ignore[no-untyped-def]
    async def handler(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
        calls.append(event)
        raise Boom("CRM fora do ar")

    return handler


async def outbox_count(db: Database, tenant: Tenant) -> int:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        return (await session.execute(select(func.count(OutboxMessage.id)))).scalar_one()


class TestPublishing:
    async def test_a_committed_publish_is_a_pending_message(self, db: Database, tenant: Tenant) -> None:
        event = await publish_event(db, tenant, lead="Casa no Morumbi")
        message = await stored(db, event)
        assert (message.event_name, message.payload, message.status) == (
            "test.lead_created",
            {"lead": "Casa no Morumbi"},
            OutboxStatus.PENDING,
        )

    async def test_a_rolled_back_transaction_publishes_nothing(self, db: Database, tenant: Tenant) -> None:
        async def service_that_fails_after_publishing() -> None:
            async with db.session(Scope.for_tenant(tenant.id)) as session:
                await publish(session, LeadCreated(tenant_id=tenant.id))
                raise Boom("o serviço falhou depois de publicar")

        with pytest.raises(Boom):
            await service_that_fails_after_publishing()
        assert await outbox_count(db, tenant) == 0


class TestDelivery:
    async def test_each_subscribed_handler_gets_the_event(
        self, db: Database, tenant: Tenant, handlers: Registry, dispatcher: Dispatcher
    ) -> None:
        first: list[DomainEvent] = []
        second: list[DomainEvent] = []
        handlers.add("crm.first", counting(first), ["test.lead_created"])
        handlers.add("crm.second", counting(second), ["test.lead_created"])
        event = await publish_event(db, tenant, lead="Apto Pinheiros")
        assert await dispatcher.dispatch_once() == 1
        assert [type(e) for e in first] == [LeadCreated]
        assert (first[0].id, first[0].payload, second[0].tenant_id) == (event.id, {"lead": "Apto Pinheiros"}, tenant.id)
        assert (await stored(db, event)).status == OutboxStatus.DONE

    async def test_a_message_nobody_listens_to_is_done(
        self, db: Database, tenant: Tenant, dispatcher: Dispatcher
    ) -> None:
        event = await publish_event(db, tenant)
        await dispatcher.dispatch_once()
        assert (await stored(db, event)).status == OutboxStatus.DONE

    async def test_an_event_of_an_unloaded_type_arrives_with_its_name(
        self, db: Database, tenant: Tenant, handlers: Registry, dispatcher: Dispatcher
    ) -> None:
        calls: list[DomainEvent] = []
        handlers.add("crm.any", counting(calls), ["lead.someday"])
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            session.add(OutboxMessage(tenant_id=tenant.id, event_name="lead.someday", payload={"x": 1}))
        await dispatcher.dispatch_once()
        assert isinstance(calls[0], UnknownEvent)
        assert (calls[0].event_name, calls[0].payload) == ("lead.someday", {"x": 1})


class TestDelayedDelivery:
    async def test_a_message_is_not_delivered_before_its_available_at(
        self, db: Database, tenant: Tenant, handlers: Registry, dispatcher: Dispatcher, clock: Clock
    ) -> None:
        calls: list[DomainEvent] = []
        handlers.add("sla.check", counting(calls), ["test.lead_created"])
        event = await publish_event(db, tenant, available_at=clock.now + timedelta(minutes=15))
        assert await dispatcher.dispatch_once() == 0
        clock.advance(timedelta(minutes=15))
        assert await dispatcher.dispatch_once() == 1
        assert ([e.id for e in calls], (await stored(db, event)).status) == ([event.id], OutboxStatus.DONE)

    async def test_the_next_due_time_is_the_earliest_pending_message_not_yet_due(
        self, db: Database, tenant: Tenant, dispatcher: Dispatcher, clock: Clock
    ) -> None:
        await publish_event(db, tenant)  # due now: the worker claims it, no need to wait for it
        await publish_event(db, tenant, available_at=clock.now + timedelta(minutes=30))
        soonest = clock.now + timedelta(minutes=5)
        await publish_event(db, tenant, available_at=soonest)
        assert await dispatcher.next_due_at() == soonest

    async def test_there_is_no_next_due_time_when_nothing_waits(
        self, db: Database, tenant: Tenant, dispatcher: Dispatcher, clock: Clock
    ) -> None:
        done = await publish_event(db, tenant, available_at=clock.now + timedelta(minutes=5))
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            await session.execute(update(OutboxMessage).filter_by(id=done.id).values(status=OutboxStatus.DEAD))
        assert await dispatcher.next_due_at() is None


class TestIdempotency:
    async def test_dispatching_twice_runs_a_handler_once(
        self, db: Database, tenant: Tenant, handlers: Registry, dispatcher: Dispatcher
    ) -> None:
        calls: list[DomainEvent] = []
        handlers.add("crm.once", counting(calls), ["test.lead_created"])
        await publish_event(db, tenant)
        await dispatcher.dispatch_once()
        assert await dispatcher.dispatch_once() == 0
        assert len(calls) == 1

    async def test_a_message_redelivered_after_a_crash_does_not_rerun_a_finished_handler(
        self, db: Database, tenant: Tenant, handlers: Registry, dispatcher: Dispatcher
    ) -> None:
        calls: list[DomainEvent] = []
        handlers.add("crm.once", counting(calls), ["test.lead_created"])
        event = await publish_event(db, tenant)
        await dispatcher.dispatch_once()
        async with db.session(Scope.for_tenant(tenant.id)) as session:  # as if the worker died before settling
            await session.execute(update(OutboxMessage).values(status=OutboxStatus.PENDING))
        assert await dispatcher.dispatch_once() == 1
        assert len(calls) == 1
        assert (await stored(db, event)).status == OutboxStatus.DONE

    async def test_a_failing_handler_leaves_no_writes_and_no_run(
        self, db: Database, tenant: Tenant, handlers: Registry, dispatcher: Dispatcher
    ) -> None:
        async def writes_then_fails(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
            await publish(session, LeadCreated(tenant_id=event.tenant_id))
            await session.flush()
            raise Boom("falhou depois de escrever")

        handlers.add("crm.half", writes_then_fails, ["test.lead_created"])
        await publish_event(db, tenant)
        await dispatcher.dispatch_once()
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            runs = (await session.execute(select(func.count(HandlerRun.id)))).scalar_one()
        assert (runs, await outbox_count(db, tenant)) == (0, 1)


class TestRetries:
    async def test_a_failing_handler_is_retried_with_growing_delays_then_dead_lettered(
        self, db: Database, tenant: Tenant, handlers: Registry, dispatcher: Dispatcher, clock: Clock
    ) -> None:
        calls: list[DomainEvent] = []
        handlers.add("crm.flaky", failing(calls), ["test.lead_created"])
        event = await publish_event(db, tenant)
        delays = []
        for attempt in (1, 2, 3):
            assert await dispatcher.dispatch_once() == 1
            message = await stored(db, event)
            assert (message.attempts, message.status) == (attempt, OutboxStatus.PENDING)
            delays.append(message.available_at - clock.now)
            assert await dispatcher.dispatch_once() == 0  # not due yet
            clock.now = message.available_at
        assert delays == sorted(delays)
        assert delays[-1] > delays[0]
        await dispatcher.dispatch_once()
        dead = await stored(db, event)
        assert (dead.status, dead.attempts, dead.dead_at, len(calls)) == (OutboxStatus.DEAD, 4, clock.now, 4)
        assert dead.last_error == "crm.flaky: Boom('CRM fora do ar')"
        clock.advance(timedelta(days=1))
        assert await dispatcher.dispatch_once() == 0

    async def test_a_vendors_retry_after_is_honoured_when_longer_than_the_back_off(
        self, db: Database, tenant: Tenant, handlers: Registry, dispatcher: Dispatcher, clock: Clock
    ) -> None:
        class RateLimited(Exception):
            retry_after = 300.0  # what a CRM's 429 said, carried by its client's error

        async def rate_limited(session: object, scope: object, event: DomainEvent) -> None:
            raise RateLimited("429 Too Many Requests")

        handlers.add("crm.rate_limited", rate_limited, ["test.lead_created"])
        event = await publish_event(db, tenant)
        await dispatcher.dispatch_once()
        message = await stored(db, event)
        assert message.attempts == 1
        assert message.available_at - clock.now >= timedelta(seconds=300)  # the back-off alone would be 1-2 s

    async def test_the_handlers_that_succeeded_are_not_rerun_with_the_one_that_failed(
        self, db: Database, tenant: Tenant, handlers: Registry, dispatcher: Dispatcher, clock: Clock
    ) -> None:
        good: list[DomainEvent] = []
        bad: list[DomainEvent] = []
        handlers.add("crm.good", counting(good), ["test.lead_created"])
        handlers.add("crm.bad", failing(bad), ["test.lead_created"])
        event = await publish_event(db, tenant)
        await dispatcher.dispatch_once()
        clock.advance(timedelta(hours=1))
        await dispatcher.dispatch_once()
        assert (len(good), len(bad), (await stored(db, event)).attempts) == (1, 2, 2)

    async def test_a_poison_message_is_dead_lettered_while_the_messages_beside_it_are_delivered(
        self, db: Database, tenant: Tenant, handlers: Registry, dispatcher: Dispatcher, clock: Clock
    ) -> None:
        delivered: list[DomainEvent] = []
        handlers.add("crm.poisoned", failing([]), ["test.poison"])
        handlers.add("crm.fine", counting(delivered), ["test.lead_created"])
        poison = Poison(tenant_id=tenant.id)
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            await publish(session, poison)
        healthy = [await publish_event(db, tenant, n=n) for n in range(3)]
        await dispatcher.dispatch_once()
        assert [e.id for e in delivered] == [e.id for e in healthy]  # the first pass, beside the poison
        while (message := await stored(db, poison)).status == OutboxStatus.PENDING:
            clock.now = message.available_at
            await dispatcher.dispatch_once()
        assert (message.status, message.attempts) == (OutboxStatus.DEAD, dispatcher.retry.max_attempts)
        assert len(delivered) == len(healthy)

    @pytest.mark.parametrize("attempts", [1, 2, 5, 10, 30])
    def test_every_delay_lies_between_half_and_all_of_its_exponential_ceiling(self, attempts: int) -> None:
        policy = RetryPolicy(base=timedelta(seconds=2), cap=timedelta(minutes=10))
        ceiling = min(timedelta(seconds=2) * 2 ** (attempts - 1), timedelta(minutes=10))
        rng = random.Random(attempts)
        delays = [policy.delay(attempts, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered


class TestClaims:
    async def test_a_claimed_message_is_not_claimed_again_until_its_lease_expires(
        self, db: Database, tenant: Tenant, handlers: Registry, dispatcher: Dispatcher, clock: Clock
    ) -> None:
        calls: list[DomainEvent] = []
        handlers.add("crm.once", counting(calls), ["test.lead_created"])
        event = await publish_event(db, tenant)
        assert [m.event.id for m in await dispatcher.claim()] == [event.id]  # this worker then dies
        other = Dispatcher(db, handlers, lease=timedelta(seconds=30), clock=clock)
        assert await other.dispatch_once() == 0
        clock.advance(timedelta(seconds=31))
        assert await other.dispatch_once() == 1
        assert (len(calls), (await stored(db, event)).status) == (1, OutboxStatus.DONE)

    async def test_a_worker_whose_lease_was_taken_over_does_not_settle_the_message(
        self, db: Database, tenant: Tenant, handlers: Registry, dispatcher: Dispatcher, clock: Clock
    ) -> None:
        bad: list[DomainEvent] = []
        handlers.add("crm.bad", failing(bad), ["test.lead_created"])
        event = await publish_event(db, tenant)
        [stale] = await dispatcher.claim()
        clock.advance(timedelta(seconds=31))
        [fresh] = await dispatcher.claim()  # the stall is charged to the message: one attempt
        await dispatcher.deliver(stale)
        assert (await stored(db, event)).attempts == 1
        await dispatcher.deliver(fresh)  # its failure is that same attempt, not a second one
        assert (await stored(db, event)).attempts == 1

    async def test_a_message_that_stops_every_worker_is_dead_lettered_after_its_attempts(
        self, db: Database, tenant: Tenant, handlers: Registry, dispatcher: Dispatcher, clock: Clock
    ) -> None:
        delivered: list[DomainEvent] = []
        handlers.add("crm.fine", counting(delivered), ["test.lead_created", "test.poison"])
        killer = Poison(tenant_id=tenant.id)
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            await publish(session, killer)
        beside = [await publish_event(db, tenant, n=n) for n in range(2)]
        assert len(await dispatcher.claim()) == 3  # the worker dies delivering the first: all three stall
        takeovers = []
        while (message := await stored(db, killer)).status == OutboxStatus.PENDING:
            clock.now = max(clock.now + dispatcher.lease, message.available_at) + timedelta(seconds=1)
            claims = await dispatcher.claim()  # the next worker takes one stalled message over, alone
            takeovers.append([(claim.event.id, claim.attempts) for claim in claims])
            for claim in claims:
                if claim.event.id != killer.id:  # it dies again on the killer, delivers the others
                    await dispatcher.deliver(claim)
        assert (message.attempts, message.last_error) == (dispatcher.retry.max_attempts, STALLED_ERROR)
        assert message.dead_at is not None
        assert [claim for claims in takeovers for claim in claims if claim[0] == killer.id] == [
            (killer.id, n) for n in range(dispatcher.retry.max_attempts)
        ]
        assert all(len(claims) <= 1 for claims in takeovers)
        assert [e.id for e in delivered] == [e.id for e in beside]
        for event in beside:  # taken over after a crash they did not cause: their charge was refunded
            assert ((await stored(db, event)).status, (await stored(db, event)).attempts) == (OutboxStatus.DONE, 0)

    async def test_a_stalled_message_backs_off_like_a_failed_attempt(
        self, db: Database, tenant: Tenant, handlers: Registry, dispatcher: Dispatcher, clock: Clock
    ) -> None:
        handlers.add("crm.fine", counting([]), ["test.lead_created"])
        event = await publish_event(db, tenant)
        await dispatcher.claim()
        clock.advance(dispatcher.lease + timedelta(seconds=1))
        await dispatcher.claim()  # taken over, and this worker dies too
        message = await stored(db, event)
        assert message.attempts == 1
        assert timedelta(seconds=1) <= message.available_at - clock.now <= timedelta(seconds=2)


class TestTenants:
    async def test_each_message_is_handled_in_its_own_tenant_scope(
        self, db: Database, tenant: Tenant, other_tenant: Tenant, handlers: Registry, dispatcher: Dispatcher
    ) -> None:
        await factories.make_user(db, tenant, email="ana@acme.example.com")
        await factories.make_user(db, other_tenant, email="bia@rival.example.com")
        seen: dict[str, list[str]] = {}

        async def reads_users(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
            assert scope.tenant_id == event.tenant_id
            seen[event.payload["who"]] = list((await session.scalars(select(User.email))).all())

        handlers.add("crm.reader", reads_users, ["test.lead_created"])
        await publish_event(db, tenant, who="acme")
        await publish_event(db, other_tenant, who="rival")
        assert await dispatcher.dispatch_once() == 2
        assert seen == {"acme": ["ana@acme.example.com"], "rival": ["bia@rival.example.com"]}


class TestRegistry:
    def test_subscribe_names_a_handler_after_its_function(self) -> None:
        handlers = Registry()

        @handlers.subscribe("lead.created", "lead.assigned")
        async def notify_broker(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
            return None

        name = f"{__name__}.TestRegistry.test_subscribe_names_a_handler_after_its_function.<locals>.notify_broker"
        assert handlers.subscriptions() == {"lead.created": [name], "lead.assigned": [name]}
        assert handlers.handlers_for("lead.created") == {name: notify_broker}

    def test_two_handlers_may_not_share_a_name(self) -> None:
        handlers = Registry()
        handlers.add("crm.x", counting([]), ["lead.created"])
        with pytest.raises(DuplicateHandler):
            handlers.add("crm.x", counting([]), ["lead.created"])
