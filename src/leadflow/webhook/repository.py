"""Every query of partner webhooks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from leadflow.kit.repository import Repository
from leadflow.models import DeliveryStatus, EndpointStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint


class EndpointRepository(Repository[WebhookEndpoint]):
    model = WebhookEndpoint

    async def listed(self) -> Sequence[WebhookEndpoint]:
        return await self.all(self.select().order_by(WebhookEndpoint.created_at, WebhookEndpoint.id))

    async def enabled_for(self, event_type: str) -> list[WebhookEndpoint]:
        """Enabled endpoints that asked for ``event_type`` (or for everything)."""
        stmt = self.select().where(WebhookEndpoint.status == EndpointStatus.ENABLED).order_by(WebhookEndpoint.id)
        return [e for e in await self.all(stmt) if event_type in e.event_types or "*" in e.event_types]


class DeliveryRepository(Repository[WebhookDelivery]):
    model = WebhookDelivery

    async def for_event(self, endpoint_id: uuid.UUID, event_id: uuid.UUID) -> WebhookDelivery | None:
        stmt = self.select().where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.event_id == event_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def of_endpoint(
        self, endpoint_id: uuid.UUID, *, cursor: str | None, limit: int
    ) -> tuple[list[WebhookDelivery], str | None]:
        stmt = self.select().where(WebhookDelivery.endpoint_id == endpoint_id)
        return await self.page(stmt, cursor=cursor, limit=limit)

    async def attempts(self, delivery_id: uuid.UUID) -> Sequence[WebhookAttempt]:
        return (await self.attempts_of([delivery_id]))[delivery_id]

    async def recent(
        self, *, status: DeliveryStatus | None, endpoint_id: uuid.UUID | None, limit: int
    ) -> Sequence[WebhookDelivery]:
        """The tenant's latest deliveries across its endpoints, newest first."""
        stmt = self.select().order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(WebhookDelivery.status == status)
        if endpoint_id is not None:
            stmt = stmt.where(WebhookDelivery.endpoint_id == endpoint_id)
        return await self.all(stmt)

    async def attempts_of(self, delivery_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[WebhookAttempt]]:
        """The attempts of several deliveries in one query, each list in attempt order."""
        found: dict[uuid.UUID, list[WebhookAttempt]] = {delivery_id: [] for delivery_id in delivery_ids}
        if not delivery_ids:
            return found
        stmt = (
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.delivery_id, WebhookAttempt.number)
        )
        for attempt in (await self.session.execute(stmt)).scalars():
            found[attempt.delivery_id].append(attempt)
        return found
