"""Operations of the tenant's own bus messages: dead letters to inspect and retry, queue depth and lag."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.kit.errors import NotFound
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import OutboxMessage, OutboxStatus
from leadflow.ops.repository import OutboxRepository
from leadflow.ops.schemas import QueueRead


class DeadLetterNotFound(NotFound):
    code = "dead-letter-not-found"
    title = "Dead letter not found"


async def list_dead_letters(
    session: AsyncSession, scope: Scope, *, cursor: str | None, limit: int
) -> tuple[list[OutboxMessage], str | None]:
    repo = OutboxRepository(session)
    return await repo.page(repo.dead(), cursor=cursor, limit=limit, sort="occurred_at")


async def retry_dead_letter(session: AsyncSession, scope: Scope, *, message_id: uuid.UUID) -> OutboxMessage:
    """Put a dead message back in the queue with a fresh attempt budget; handlers that finished stay finished."""
    message = await OutboxRepository(session).get(message_id)
    if message is None or message.status is not OutboxStatus.DEAD:
        raise DeadLetterNotFound(f"dead letter {message_id} not found")
    message.status = OutboxStatus.PENDING
    message.attempts = 0
    message.available_at = utcnow()
    message.dead_at = None
    message.claimed_until = None
    return message


async def retry_all_dead_letters(session: AsyncSession, scope: Scope) -> int:
    return await OutboxRepository(session).revive_all_dead(utcnow())


async def queue_depths(session: AsyncSession, scope: Scope) -> list[QueueRead]:
    now = utcnow()
    queues: dict[str, QueueRead] = {}
    for name, status, count, oldest in await OutboxRepository(session).depth_by_event():
        queue = queues.setdefault(
            name, QueueRead(event_name=name, pending=0, dead=0, oldest_pending_at=None, lag_seconds=None)
        )
        if status is OutboxStatus.DEAD:
            queue.dead = count
        else:
            queue.pending = count
            queue.oldest_pending_at = oldest
            queue.lag_seconds = (now - oldest).total_seconds() if oldest else None
    return sorted(queues.values(), key=lambda q: q.event_name)
