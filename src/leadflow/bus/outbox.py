"""Publishing: a service writes its events to the outbox in its own transaction; workers wake on commit."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from leadflow.bus.events import DomainEvent
from leadflow.models.bus import OutboxMessage

_PUBLISHED = "bus.published"
_wakeups: list[Callable[[], None]] = []


async def publish(session: AsyncSession, domain_event: DomainEvent) -> OutboxMessage:
    """Queue ``domain_event`` in the caller's transaction: delivered only if that transaction commits."""
    return enqueue(session, domain_event)


def enqueue(session: AsyncSession, domain_event: DomainEvent) -> OutboxMessage:
    """:func:`publish` for code that is not async (adding the outbox row does no I/O)."""
    message = OutboxMessage(
        id=domain_event.id,
        tenant_id=domain_event.tenant_id,
        event_name=domain_event.event_name,
        payload=domain_event.payload,
        occurred_at=domain_event.occurred_at,
        available_at=domain_event.occurred_at,
    )
    session.add(message)
    session.info[_PUBLISHED] = True
    return message


def on_publish(wake: Callable[[], None]) -> Callable[[], None]:
    """Call ``wake`` after each commit that published something (in this process); returns the unsubscriber."""
    _wakeups.append(wake)
    return lambda: _wakeups.remove(wake) if wake in _wakeups else None


@event.listens_for(Session, "after_commit")
def _wake_workers(session: Session) -> None:
    if session.info.pop(_PUBLISHED, False):
        for wake in list(_wakeups):
            wake()


@event.listens_for(Session, "after_rollback")
def _forget_published(session: Session) -> None:
    session.info.pop(_PUBLISHED, None)
