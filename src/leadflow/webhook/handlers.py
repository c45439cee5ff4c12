"""Partner webhooks on the bus: every subscribable domain event fans out to the endpoints that want it, and each
``webhook.delivery_due`` tries one delivery (the first time, a scheduled retry or a manual redelivery)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.events import DomainEvent
from leadflow.bus.registry import subscribe
from leadflow.config import get_settings
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import AttemptTrigger
from leadflow.webhook.delivery import attempt, fan_out
from leadflow.webhook.events import SUBSCRIBABLE
from leadflow.webhook.service import WebhookConfig


@subscribe(*SUBSCRIBABLE, name="webhook.fan_out")
async def on_domain_event(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    await fan_out(session, scope, event=event, now=utcnow())


@subscribe("webhook.delivery_due", name="webhook.deliver")
async def on_delivery_due(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    await attempt(
        session,
        scope,
        delivery_id=uuid.UUID(event.payload["delivery_id"]),
        trigger=AttemptTrigger(event.payload.get("trigger", AttemptTrigger.SCHEDULED.value)),
        config=WebhookConfig.from_settings(get_settings()),
        now=utcnow(),
    )
