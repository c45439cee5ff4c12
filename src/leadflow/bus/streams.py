"""The `redis` transport (ARCHITECTURE §6): the outbox stays the record of every message; Redis Streams carry them
to the workers of every process.

Each worker runs both halves in its loop (:meth:`StreamDispatcher.dispatch_once`):

- **relay**: lease the due outbox messages exactly as the `db` transport claims them (the same statement, so the
  lease, the retry back-off, the stalled-message charge and the dead-letter limit are the same), and ``XADD`` each
  to the stream; the stream is kept shallow (``depth``), so a backlog waits in the outbox, not in Redis;
- **consumers**: ``XREADGROUP`` from the group, deliver each message through the same code as the `db` transport
  (one transaction per handler with its ``handler_runs`` row, so a message's effect happens once), then ``XACK``
  and ``XDEL``;
- **sweep**: an entry pending longer than the lease belonged to a consumer that died (or overran); its outbox
  lease has expired, so the relay hands the message out again, charged as a stalled attempt. The entry itself is
  acknowledged and deleted, never delivered again from Redis: a message that kills its workers reaches the
  attempt limit through the outbox and is dead-lettered, as with the `db` transport.

Redis holds nothing the outbox does not: losing it (a flush, a failover) loses no message, only the leases, which
expire.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from datetime import datetime
from typing import Any

import structlog
from redis import exceptions as redis_errors
from redis.asyncio import Redis

from leadflow.bus.dispatcher import ClaimedMessage, Dispatcher
from leadflow.bus.events import event_from_stored
from leadflow.bus.registry import Registry, registry
from leadflow.config import Settings
from leadflow.kit.db import Database

log = structlog.get_logger("leadflow.bus")

STREAM = "leadflow:bus"
GROUP = "leadflow-workers"


def encode(message: ClaimedMessage) -> dict[str, str]:
    event = message.event
    body = {
        "id": str(event.id),
        "tenant_id": str(event.tenant_id),
        "name": event.event_name,
        "payload": event.payload,
        "occurred_at": event.occurred_at.isoformat(),
        "attempts": message.attempts,
        "claimed_until": message.claimed_until.isoformat(),
        "charged": message.charged,
    }
    return {"m": json.dumps(body, separators=(",", ":"), default=str)}


def decode(fields: dict[Any, Any]) -> ClaimedMessage:
    raw: bytes | str = fields.get(b"m") or fields["m"]
    body: dict[str, Any] = json.loads(raw)
    event = event_from_stored(
        body["name"],
        id=uuid.UUID(body["id"]),
        tenant_id=uuid.UUID(body["tenant_id"]),
        payload=body["payload"],
        occurred_at=datetime.fromisoformat(body["occurred_at"]),
    )
    return ClaimedMessage(
        event, int(body["attempts"]), datetime.fromisoformat(body["claimed_until"]), charged=bool(body["charged"])
    )


class StreamDispatcher(Dispatcher):
    """A :class:`Dispatcher` whose messages travel through a Redis stream; the worker loop runs it unchanged."""

    def __init__(
        self,
        db: Database,
        handlers: Registry = registry,
        *,
        redis: Redis,
        stream: str = STREAM,
        group: str = GROUP,
        consumer: str | None = None,
        depth: int | None = None,
        **options: Any,
    ) -> None:
        super().__init__(db, handlers, **options)
        self.redis = redis
        self.stream = stream
        self.group = group
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.depth = depth or self.batch_size * 4
        self._group_ready = False

    async def dispatch_once(self) -> int:
        """Relay what is due, sweep what dead consumers held, deliver one batch; returns how many messages were
        relayed, marked done or delivered (the worker sleeps when that is less than a batch)."""
        try:
            await self._ensure_group()
            relayed = await self.relay()
            await self.sweep()
            return relayed + await self.consume()
        except redis_errors.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # The stream or its group is gone (Redis flushed or failed over): made again next round; the outbox
            # leases of what it held expire and the relay hands those messages out again.
            self._group_ready = False
            log.warning("bus.stream_lost", stream=self.stream)
            return 0

    async def relay(self) -> int:
        """Lease due messages into the stream, while it is shallower than ``depth``."""
        if await self.redis.xlen(self.stream) >= self.depth:
            return 0
        claims, done = await self.take_due()
        if claims:
            async with self.redis.pipeline(transaction=False) as pipe:
                for claim in claims:
                    pipe.xadd(self.stream, encode(claim))  # type: ignore[arg-type]
                await pipe.execute()
        return len(claims) + done

    async def consume(self) -> int:
        answer: Any = await self.redis.xreadgroup(  # RESP2: [(stream, [(entry id, fields), …])]
            self.group, self.consumer, {self.stream: ">"}, count=self.batch_size
        )
        entries = [entry for _, batch in answer or [] for entry in batch]
        for entry_id, fields in entries:
            await self.deliver(decode(fields))
            await self._forget([entry_id])
        return len(entries)

    async def sweep(self) -> int:
        """Drop the entries pending past the lease (their consumer died or overran): the outbox hands those
        messages out again once their lease expires."""
        idle_ms = int(self.lease.total_seconds() * 1000)
        pending = await self.redis.xpending_range(
            self.stream, self.group, min="-", max="+", count=self.depth, idle=idle_ms
        )
        stale = [entry["message_id"] for entry in pending]
        if stale:
            log.warning("bus.stream_entries_abandoned", count=len(stale), stream=self.stream)
            await self._forget(stale)
        return len(stale)

    async def _forget(self, entry_ids: list[Any]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xack(self.stream, self.group, *entry_ids)
            pipe.xdel(self.stream, *entry_ids)
            await pipe.execute()

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis_errors.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True


def streamed(settings: Settings) -> Redis | None:
    """The Redis client of the `redis` transport, when the settings choose it (None: the `db` transport)."""
    if settings.bus_transport != "redis" or not settings.redis_url:
        return None
    return Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30)
