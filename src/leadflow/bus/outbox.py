"""Publishing: a service writes its events to the outbox in its own transaction; workers wake on commit.

Two wake-ups, both sent only if the transaction commits: in this process, the wakers registered with
:func:`on_publish` are called after the commit; on PostgreSQL, the transaction also ``NOTIFY``s
:data:`CHANNEL`, which PostgreSQL delivers at commit to every worker ``LISTEN``ing, in any process.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from leadflow.bus.events import DomainEvent
from leadflow.models.bus import OutboxMessage

CHANNEL = "leadflow_outbox"

_PUBLISHED = "bus.published"
_wakeups: list[tuple[Engine | None, Callable[[], None]]] = []


async def publish(
    session: AsyncSession, domain_event: DomainEvent, *, available_at: datetime | None = None
) -> OutboxMessage:
    """Queue ``domain_event`` in the caller's transaction: delivered only if that transaction commits, and not
    before ``available_at`` (UTC) when given."""
    return enqueue(session, domain_event, available_at=available_at)


def enqueue(session: AsyncSession, domain_event: DomainEvent, *, available_at: datetime | None = None) -> OutboxMessage:
    """:func:`publish` for code that is not async (adding the outbox row does no I/O). ``available_at`` delays
    delivery until then (a timer, e.g. a lead's first-response deadline)."""
    message = OutboxMessage(
        id=domain_event.id,
        tenant_id=domain_event.tenant_id,
        event_name=domain_event.event_name,
        payload=domain_event.payload,
        occurred_at=domain_event.occurred_at,
        available_at=available_at or domain_event.occurred_at,
    )
    session.add(message)
    session.info[_PUBLISHED] = True
    return message


def on_publish(wake: Callable[[], None], *, engine: Engine | None = None) -> Callable[[], None]:
    """Call ``wake`` after each commit in this process that published something (through ``engine`` only, when
    given: a worker wakes for its own database); returns the unsubscriber."""
    subscription = (engine, wake)
    _wakeups.append(subscription)
    return lambda: _wakeups.remove(subscription) if subscription in _wakeups else None


@event.listens_for(Session, "before_commit")
def _notify_listeners(session: Session) -> None:
    # Inside the transaction, so PostgreSQL delivers it on commit and drops it on rollback. One NOTIFY per
    # transaction, however many events it published: a worker drains everything due when it wakes.
    if session.info.get(_PUBLISHED) and session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


@event.listens_for(Session, "after_commit")
def _wake_workers(session: Session) -> None:
    if not session.info.pop(_PUBLISHED, False):
        return
    engine = session.get_bind().engine  # a Connection (tests bind sessions to one) knows its Engine
    for target, wake in list(_wakeups):
        if target is None or target is engine:
            wake()


@event.listens_for(Session, "after_rollback")
def _forget_published(session: Session) -> None:
    session.info.pop(_PUBLISHED, None)
