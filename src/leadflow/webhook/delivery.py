"""The bus side of partner webhooks: fan a domain event out to the endpoints that want it (a delivery row per
endpoint, written before anything is sent), then try each delivery on the retry schedule.

Retry schedule (after the immediate first attempt), each delay stretched by up to 10 % of random jitter so
failing partners are not hit in lockstep, and never shorter than a ``Retry-After`` the partner sent (capped):

    5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h   (8 attempts over about 27 h 35 min)

An endpoint whose attempts keep failing for ``webhooks_disable_after_days`` (counted from the first failure after
its last success) is disabled, audited, and a ``webhook.endpoint_disabled`` event names the user to notify; an
endpoint answering ``410 Gone`` is disabled at once.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.crash import crash_point
from leadflow.bus.events import DomainEvent
from leadflow.bus.outbox import enqueue
from leadflow.kit.audit import record
from leadflow.kit.http import Resolver, resolve
from leadflow.kit.scope import Scope
from leadflow.models import (
    AttemptTrigger,
    DeliveryStatus,
    EndpointStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from leadflow.webhook.events import WebhookDeliveryDue, WebhookDeliveryFailed, WebhookEndpointDisabled
from leadflow.webhook.repository import DeliveryRepository, EndpointRepository
from leadflow.webhook.sender import AttemptOutcome, post_signed
from leadflow.webhook.service import WebhookConfig, secrets_in_use

log = structlog.get_logger("leadflow.webhook")

RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
JITTER = 0.10
MAX_RETRY_AFTER = timedelta(hours=24)


def message_id(delivery: WebhookDelivery) -> str:
    """The ``webhook-id``: one per delivery, the same on every attempt (the partner's idempotency key)."""
    return f"msg_{delivery.id.hex}"


def payload_of(event: DomainEvent) -> str:
    """The body partners receive (Standard Webhooks' recommended envelope), serialised once and stored."""
    body = {
        "type": event.event_name,
        "timestamp": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "data": {"event_id": str(event.id), **event.payload},
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)


def retry_delay(retry_number: int, rng: random.Random, retry_after: float | None = None) -> timedelta | None:
    """How long before scheduled retry ``retry_number`` (1-based), or None when the schedule is used up."""
    if retry_number > len(RETRY_SCHEDULE):
        return None
    base = RETRY_SCHEDULE[retry_number - 1]
    delay = base + base * JITTER * rng.random()
    if retry_after is not None:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return delay


async def fan_out(session: AsyncSession, scope: Scope, *, event: DomainEvent, now: datetime) -> list[WebhookDelivery]:
    """A pending delivery for each enabled endpoint that wants ``event``, and its first attempt queued.
    Idempotent: an endpoint that already has a delivery of this event gets no second one."""
    deliveries = DeliveryRepository(session)
    created = []
    for endpoint in await EndpointRepository(session).enabled_for(event.event_name):
        if await deliveries.for_event(endpoint.id, event.id) is not None:
            continue
        delivery = deliveries.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                event_id=event.id,
                event_type=event.event_name,
                body=payload_of(event),
                next_attempt_at=now,
            )
        )
        await session.flush()
        _queue_attempt(session, delivery, AttemptTrigger.SCHEDULED, at=now)
        created.append(delivery)
    return created


def _queue_attempt(session: AsyncSession, delivery: WebhookDelivery, trigger: AttemptTrigger, *, at: datetime) -> None:
    payload = {"delivery_id": str(delivery.id), "trigger": trigger.value}
    enqueue(session, WebhookDeliveryDue(tenant_id=delivery.tenant_id, payload=payload), available_at=at)


async def attempt(
    session: AsyncSession,
    scope: Scope,
    *,
    delivery_id: uuid.UUID,
    trigger: AttemptTrigger,
    config: WebhookConfig,
    now: datetime,
    rng: random.Random | None = None,
    resolver: Resolver = resolve,
) -> WebhookAttempt | None:
    """Try one delivery once and record the attempt; schedule the next one or settle the delivery.

    A scheduled attempt of a delivery that is no longer pending (a manual redelivery got through first) does
    nothing; an attempt for a deleted or disabled endpoint ends the delivery as failed without sending.
    """
    repo = DeliveryRepository(session)
    delivery = await repo.get(delivery_id)
    if delivery is None or (trigger == AttemptTrigger.SCHEDULED and delivery.status != DeliveryStatus.PENDING):
        return None
    endpoint = await EndpointRepository(session).get(delivery.endpoint_id)
    if endpoint is None or endpoint.status != EndpointStatus.ENABLED:
        if trigger == AttemptTrigger.SCHEDULED:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        return None
    outcome = await post_signed(
        endpoint.url,
        delivery.body.encode(),
        message_id=message_id(delivery),
        secrets=secrets_in_use(config.ring, endpoint, now),
        timestamp=int(time.time()),  # wall clock of the attempt: the partner compares it with its own
        policy=config.policy,
        timeout_seconds=config.timeout,
        resolver=resolver,
    )
    crash_point("after_side_effect")  # the partner has it; a crash here repeats it with the same webhook-id
    scheduled_before = sum(1 for a in await repo.attempts(delivery.id) if a.trigger == AttemptTrigger.SCHEDULED)
    row = WebhookAttempt(
        delivery_id=delivery.id,
        number=delivery.attempts + 1,
        trigger=trigger,
        started_at=now,
        duration_ms=outcome.duration_ms,
        status_code=outcome.status_code,
        response_excerpt=outcome.response_excerpt,
        error_kind=outcome.error_kind,
        error=outcome.error,
    )
    session.add(row)
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    _log_attempt(delivery, row, outcome)
    if outcome.delivered:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.DELIVERED, now, None
        endpoint.failing_since = None
        return row
    _note_failure(session, endpoint, outcome, now=now, disable_after=config.disable_after)
    if trigger == AttemptTrigger.SCHEDULED:
        _schedule_next(session, delivery, row, endpoint, outcome, retry_number=scheduled_before + 1, now=now, rng=rng)
    return row


def _schedule_next(
    session: AsyncSession,
    delivery: WebhookDelivery,
    row: WebhookAttempt,
    endpoint: WebhookEndpoint,
    outcome: AttemptOutcome,
    *,
    retry_number: int,
    now: datetime,
    rng: random.Random | None,
) -> None:
    delay = retry_delay(retry_number, rng or random.Random(), outcome.retry_after)
    if delay is None or endpoint.status != EndpointStatus.ENABLED:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        payload = {"delivery_id": str(delivery.id), "endpoint_id": str(endpoint.id), "event_type": delivery.event_type}
        enqueue(session, WebhookDeliveryFailed(tenant_id=delivery.tenant_id, payload=payload))
        return
    delivery.next_attempt_at = row.next_attempt_at = now + delay
    _queue_attempt(session, delivery, AttemptTrigger.SCHEDULED, at=now + delay)


def _note_failure(
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    outcome: AttemptOutcome,
    *,
    now: datetime,
    disable_after: timedelta,
) -> None:
    if outcome.status_code == 410:
        _disable(session, endpoint, now=now, reason="the endpoint answered 410 Gone")
        return
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    elif now - endpoint.failing_since >= disable_after:
        days = disable_after / timedelta(days=1)
        _disable(session, endpoint, now=now, reason=f"every delivery failed for {days:g} days")


def _disable(session: AsyncSession, endpoint: WebhookEndpoint, *, now: datetime, reason: str) -> None:
    endpoint.status = EndpointStatus.DISABLED
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason
    record(session, action="webhook_endpoint.auto_disabled", entity_type="webhook_endpoint", entity_id=endpoint.id)
    payload = {
        "endpoint_id": str(endpoint.id),
        "url": endpoint.url,
        "reason": reason,
        "notify_user_id": str(endpoint.created_by_id) if endpoint.created_by_id else None,
    }
    enqueue(session, WebhookEndpointDisabled(tenant_id=endpoint.tenant_id, payload=payload))
    log.warning("webhook.endpoint_disabled", endpoint_id=str(endpoint.id), reason=reason)


def _log_attempt(delivery: WebhookDelivery, row: WebhookAttempt, outcome: AttemptOutcome) -> None:
    log.info(
        "webhook.attempt",
        delivery_id=str(delivery.id),
        endpoint_id=str(delivery.endpoint_id),
        event_type=delivery.event_type,
        attempt=row.number,
        trigger=row.trigger.value,
        status_code=outcome.status_code,
        duration_ms=outcome.duration_ms,
        error_kind=outcome.error_kind,
    )
