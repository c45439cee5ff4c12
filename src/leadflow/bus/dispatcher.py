"""The `db` transport: the outbox is the queue. Claim due messages, run their handlers, retry or dead-letter.

Claiming is the only cross-tenant step (a system scope): one statement leases a batch of due messages, and in the
same transaction the messages no handler listens to are marked done without being delivered. Each handler then
runs in its own session scoped to the message's tenant, in one transaction with its ``handler_runs`` row: a crash
before the commit re-runs it, a crash after never re-applies it. A message with a single handler (most of them) is
settled in that same transaction; one with several is settled after the last. A claim is a lease
(``claimed_until``): a dead worker's claim expires and another worker takes the message over. The
:func:`crash_point` calls mark the places the crash tests kill a worker.

A message whose lease expired unsettled ("stalled": its worker died, or overran the lease) may be the one that
kills its worker, so a stall counts as an attempt, charged when the message is taken over, before any handler
runs: a message that kills every worker still reaches the attempt limit and is dead-lettered (the bee-queue #106
loop). A stalled message is taken over alone, so the messages claimed with it in the dead worker's batch are not
charged for a crash they did not cause; its charge is refunded when that delivery succeeds, and it backs off like
a failed attempt, so the rest of the queue flows between its crashes.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import ColumnElement, Result, Select, Update, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningUpdate

from leadflow.bus.crash import crash_point
from leadflow.bus.events import DomainEvent, event_from_stored
from leadflow.bus.registry import Handler, Registry, registry
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models.bus import HandlerRun, OutboxMessage, OutboxStatus

log = structlog.get_logger("leadflow.bus")

ERROR_LIMIT = 2000
STALLED_ERROR = "its worker stopped before settling it (killed, or its lease expired) on its last attempt"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with "equal jitter": the n-th delay lies in [d/2, d] with d = base * 2**(n-1)."""

    max_attempts: int = 8
    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(hours=1)

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        ceiling = min(self.base * 2 ** (attempts - 1), self.cap)
        return ceiling / 2 + ceiling / 2 * rng.random()


@dataclass(frozen=True)
class ClaimedMessage:
    """What a worker holds while its lease lasts."""

    event: DomainEvent
    attempts: int  # failed attempts before this claim
    claimed_until: datetime
    charged: bool = False  # a stalled message taken over: this claim already counts as an attempt


@dataclass(frozen=True)
class Failure:
    handler: str
    error: str
    # Seconds the failed party asked us to wait (a vendor's Retry-After): any exception may carry it as a
    # ``retry_after`` attribute, so the bus needs to know no vendor's error class.
    retry_after: float | None = None


def _retry_after_of(exc: Exception) -> float | None:
    hint = getattr(exc, "retry_after", None)
    return float(hint) if isinstance(hint, int | float) and not isinstance(hint, bool) and hint > 0 else None


class Dispatcher:
    def __init__(
        self,
        db: Database,
        handlers: Registry = registry,
        *,
        batch_size: int = 50,
        lease: timedelta = timedelta(seconds=60),
        retry: RetryPolicy = RetryPolicy(),
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.handlers = handlers
        self.batch_size = batch_size
        self.lease = lease
        self.retry = retry
        self.clock = clock
        self.rng = rng or random.Random()

    async def dispatch_once(self) -> int:
        """Claim one batch of due messages and deliver each; returns how many were taken (delivered or, with no
        handler listening, marked done)."""
        claimed, unheard = await self.take_due()
        if claimed:
            crash_point("after_claim")
        for message in claimed:
            await self.deliver(message)
        return len(claimed) + unheard

    async def claim(self) -> list[ClaimedMessage]:
        """Lease a batch of due messages that some handler listens to (see :meth:`take_due`)."""
        return (await self.take_due())[0]

    async def take_due(self) -> tuple[list[ClaimedMessage], int]:
        """Lease a batch of due pending messages of every tenant (skipping rows another worker has locked), and
        mark done the due messages that no handler listens to; returns the leases and how many were marked done
        or dead-lettered. A stalled message among the oldest is leased alone, charged one attempt; one that
        already used every attempt is dead-lettered instead."""
        now = self.clock()
        until = now + self.lease
        heard = list(self.handlers.subscriptions())
        async with self.db.session(Scope.system()) as session:
            unheard = await session.execute(_mark_unheard_done(now, heard))
            due = (await session.execute(_oldest_due(now, heard, self.batch_size))).all()
            stalled = [row for row in due if row.claimed_until is not None]
            exhausted = [row.id for row in stalled if row.attempts >= self.retry.max_attempts]
            if exhausted:
                await session.execute(_bury_stalled(exhausted, now))
            retried = [row for row in stalled if row.attempts < self.retry.max_attempts][:1]
            if retried:
                [row] = retried
                available = now + self.retry.delay(row.attempts + 1, self.rng)
                leased = await session.scalars(_lease(until, [row.id], charge=True, available_at=available))
            elif fresh := [row.id for row in due if row.claimed_until is None]:
                leased = await session.scalars(_lease(until, fresh))
            rows = leased.all() if retried or fresh else []
        messages = sorted(rows, key=lambda row: (row.available_at, row.id))
        claims = [
            ClaimedMessage(_event_of(row), row.attempts - 1, until, charged=True)
            if retried
            else ClaimedMessage(_event_of(row), row.attempts, until)
            for row in messages
        ]
        return claims, _rowcount(unheard) + len(exhausted)

    async def next_due_at(self) -> datetime | None:
        """When the earliest pending message that is not yet due becomes due (a timer, a retry), if any."""
        async with self.db.session(Scope.system()) as session:
            return await session.scalar(_next_due(self.clock()))

    async def deliver(self, message: ClaimedMessage) -> None:
        """Run every handler that has not yet run this message (a handler that did is skipped when it takes its
        run record), then settle the message: in the handler's own transaction when it is the only one."""
        handlers = self.handlers.handlers_for(message.event.event_name)
        if len(handlers) == 1:
            [(name, handler)] = handlers.items()
            outcome = await self._run(name, handler, message, settle=True)
            if outcome is not _SETTLED:
                await self._settle(message, [outcome] if isinstance(outcome, Failure) else [])
            return
        failures = [
            outcome
            for name, handler in handlers.items()
            if isinstance(outcome := await self._run(name, handler, message), Failure)
        ]
        crash_point("after_commit_before_settle")
        await self._settle(message, failures)

    async def _run(
        self, name: str, handler: Handler, message: ClaimedMessage, *, settle: bool = False
    ) -> Failure | object | None:
        """Run one handler in its own transaction; with ``settle``, the message is marked done in it too."""
        scope = Scope.for_tenant(message.event.tenant_id)
        try:
            async with self.db.session(scope) as session:
                run = await _take_run(session, message.event.id, name)
                await handler(session, scope, message.event)
                run.finished_at = self.clock()
                if settle:
                    await session.execute(self._settlement(message, []))
                await session.flush()  # the handler's writes reach the database, uncommitted, before the crash point
                crash_point("after_handler_before_commit")
        except _AlreadyRan:
            log.info("bus.handler_already_ran", handler=name, message_id=str(message.event.id))
            return None
        except Exception as exc:
            log.warning("bus.handler_failed", handler=name, message_id=str(message.event.id), error=repr(exc))
            return Failure(name, repr(exc), _retry_after_of(exc))
        return _SETTLED if settle else None

    async def _settle(self, message: ClaimedMessage, failures: list[Failure]) -> None:
        async with self.db.session(Scope.for_tenant(message.event.tenant_id)) as session:
            await session.execute(self._settlement(message, failures))

    def _settlement(self, message: ClaimedMessage, failures: list[Failure]) -> Update:
        return (
            update(OutboxMessage)
            .where(OutboxMessage.id == message.event.id, OutboxMessage.claimed_until == message.claimed_until)
            .values(claimed_until=None, **self._outcome(message, failures))
            .execution_options(synchronize_session=False)
        )

    def _outcome(self, message: ClaimedMessage, failures: list[Failure]) -> dict[str, object]:
        if not failures:  # a stalled message delivered at last: it was not the one killing its workers
            return {"status": OutboxStatus.DONE, **({"attempts": message.attempts} if message.charged else {})}
        attempts = message.attempts + 1
        error = "; ".join(f"{failure.handler}: {failure.error}" for failure in failures)[:ERROR_LIMIT]
        now = self.clock()
        if attempts >= self.retry.max_attempts:
            return {"attempts": attempts, "last_error": error, "status": OutboxStatus.DEAD, "dead_at": now}
        return {"attempts": attempts, "last_error": error, "available_at": now + self._delay(attempts, failures)}

    def _delay(self, attempts: int, failures: list[Failure]) -> timedelta:
        """The back-off, but never sooner than a failed party asked (bounded by the policy's cap)."""
        asked = max((f.retry_after for f in failures if f.retry_after is not None), default=0.0)
        return max(self.retry.delay(attempts, self.rng), min(timedelta(seconds=asked), self.retry.cap))


_SETTLED = object()  # what _run returns when the message was settled in the handler's transaction


class _AlreadyRan(Exception):
    """Another worker recorded this (message, handler) first: ours rolls back, theirs stands."""


async def _take_run(session: AsyncSession, message_id: uuid.UUID, handler: str) -> HandlerRun:
    """Insert the run record before the handler runs: a concurrent twin waits on the key, then one of them fails."""
    run = HandlerRun(message_id=message_id, handler=handler)
    session.add(run)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise _AlreadyRan(handler) from exc
    return run


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.available_at <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )


def _oldest_due(now: datetime, heard: list[str], limit: int) -> Select[uuid.UUID, datetime | None, int]:
    """The oldest due messages that some handler listens to, locked (rows another worker holds are skipped)."""
    return (
        select(OutboxMessage.id, OutboxMessage.claimed_until, OutboxMessage.attempts)
        .where(*_due(now), OutboxMessage.event_name.in_(heard))
        .order_by(OutboxMessage.available_at)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has one writer (BEGIN IMMEDIATE) and ignores it
    )


def _lease(
    until: datetime, ids: list[uuid.UUID], *, charge: bool = False, available_at: datetime | None = None
) -> ReturningUpdate[OutboxMessage]:
    """Lease these messages and return them; ``charge`` counts the claim as an attempt, backed off to
    ``available_at`` should this delivery stall again."""
    values: dict[str, object] = {"claimed_until": until}
    if charge:
        values |= {"attempts": OutboxMessage.attempts + 1, "available_at": available_at}
    return (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .values(**values)
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    )


def _bury_stalled(ids: list[uuid.UUID], now: datetime) -> Update:
    """Dead-letter stalled messages that used every attempt: each of their deliveries stopped its worker."""
    return (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .values(
            status=OutboxStatus.DEAD,
            dead_at=now,
            claimed_until=None,
            last_error=STALLED_ERROR,
        )
        .execution_options(synchronize_session=False)
    )


def _mark_unheard_done(now: datetime, heard: list[str]) -> Update:
    """Due messages no handler listens to (yet: a handler added later does not get the past) are done. Rows
    another worker holds are skipped, as when leasing."""
    unheard = (
        select(OutboxMessage.id)
        .where(*_due(now), OutboxMessage.event_name.not_in(heard))
        .with_for_update(skip_locked=True)
    )
    return (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(unheard.scalar_subquery()))
        .values(status=OutboxStatus.DONE, claimed_until=None)
        .execution_options(synchronize_session=False)
    )


def _rowcount(result: Result[Any]) -> int:
    return max(0, getattr(result, "rowcount", 0) or 0)


def _next_due(now: datetime) -> Select[datetime]:
    # The first entry of ix_outbox_status_available past ``now``: one index probe.
    return (
        select(OutboxMessage.available_at)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.available_at > now)
        .order_by(OutboxMessage.available_at)
        .limit(1)
    )


def _event_of(row: OutboxMessage) -> DomainEvent:
    return event_from_stored(
        row.event_name, id=row.id, tenant_id=row.tenant_id, payload=row.payload, occurred_at=row.occurred_at
    )
