"""Managing a tenant's partner endpoints: create (URL checked by the SSRF guard, secret shown once), change,
rotate the secret, delete, and look at or redeliver what was sent. Secrets are sealed at rest and never returned
after creation or rotation, nor logged."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.outbox import enqueue
from leadflow.config import Settings
from leadflow.kit.errors import Conflict, NotFound, ValidationFailed, wording
from leadflow.kit.http import SsrfPolicy, UnsafeUrl, check_url
from leadflow.kit.ids import new_id
from leadflow.kit.scope import Scope
from leadflow.kit.sealing import KeyRing
from leadflow.kit.time import utcnow
from leadflow.models import (
    AttemptTrigger,
    DeliveryStatus,
    EndpointStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from leadflow.webhook.events import WebhookDeliveryDue
from leadflow.webhook.repository import DeliveryRepository, EndpointRepository
from leadflow.webhook.schemas import EndpointCreate, EndpointUpdate
from leadflow.webhook.signing import new_secret

# After a rotation the old secret keeps signing (a second ``v1,`` signature) this long, so partners can switch.
ROTATION_GRACE = timedelta(hours=24)


class EndpointNotFound(NotFound):
    code = "webhook-endpoint-not-found"
    title = "Webhook endpoint not found"


class DeliveryNotFound(NotFound):
    code = "webhook-delivery-not-found"
    title = "Webhook delivery not found"


class UnsafeEndpointUrl(ValidationFailed):
    code = "unsafe-webhook-url"
    title = "This URL cannot receive webhooks"


class EndpointDisabled(Conflict):
    code = "webhook-endpoint-disabled"
    title = "The webhook endpoint is disabled"


@dataclass(frozen=True)
class WebhookConfig:
    """What the feature takes from the settings."""

    ring: KeyRing
    policy: SsrfPolicy
    timeout: float
    disable_after: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookConfig:
        return cls(
            ring=KeyRing(settings.signing_keys()),
            policy=SsrfPolicy(allow_loopback=settings.webhooks_allow_loopback),
            timeout=settings.webhooks_timeout_seconds,
            disable_after=timedelta(days=settings.webhooks_disable_after_days),
        )


def _context(endpoint_id: uuid.UUID) -> bytes:
    return b"webhook-endpoint:" + str(endpoint_id).encode()


def seal_secret(ring: KeyRing, endpoint_id: uuid.UUID, secret: str) -> bytes:
    return ring.seal(secret.encode(), context=_context(endpoint_id))


def secrets_in_use(ring: KeyRing, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign a request now: the current one, and the previous one during its grace period.

    A secret sealed under a previous instance key is re-sealed under the current one on the way (the caller's
    transaction stores it), so rotating ``LEADFLOW_SECRET_KEY`` completes as endpoints are used."""
    found = [_open_resealing(ring, endpoint, "secret")]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret is not None and expires is not None and now < expires:
        found.append(_open_resealing(ring, endpoint, "previous_secret"))
    return found


def _open_resealing(ring: KeyRing, endpoint: WebhookEndpoint, column: str) -> str:
    sealed: bytes = getattr(endpoint, column)
    secret = ring.open(sealed, context=_context(endpoint.id)).decode()
    if ring.needs_reseal(sealed):
        setattr(endpoint, column, seal_secret(ring, endpoint.id, secret))
    return secret


async def _check_url(url: str, policy: SsrfPolicy) -> None:
    try:
        await check_url(url, policy)
    except UnsafeUrl as refused:
        raise UnsafeEndpointUrl(
            wording("webhooks cannot be sent to this URL: %(reason)s", reason=refused.reason),
            errors=[{"field": "url", "message": refused.reason}],
        ) from refused


async def list_endpoints(session: AsyncSession, scope: Scope) -> list[WebhookEndpoint]:
    return list(await EndpointRepository(session).listed())


async def get_endpoint(session: AsyncSession, scope: Scope, *, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    return await EndpointRepository(session).get_or_raise(endpoint_id, error=EndpointNotFound)


async def create_endpoint(
    session: AsyncSession, scope: Scope, *, data: EndpointCreate, config: WebhookConfig
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its secret (``whsec_…``), which the caller shows once."""
    await _check_url(data.url, config.policy)
    endpoint_id = new_id()
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        url=data.url,
        description=data.description,
        event_types=data.event_types,
        secret=seal_secret(config.ring, endpoint_id, secret),
        created_by_id=scope.actor_id if scope.actor_type == "user" else None,
    )
    EndpointRepository(session).add(endpoint)
    await session.flush()
    return endpoint, secret


async def update_endpoint(
    session: AsyncSession, scope: Scope, *, endpoint_id: uuid.UUID, data: EndpointUpdate, config: WebhookConfig
) -> WebhookEndpoint:
    endpoint = await get_endpoint(session, scope, endpoint_id=endpoint_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "url" in changes:
        await _check_url(changes["url"], config.policy)
        endpoint.url = changes["url"]
    if "event_types" in changes:
        endpoint.event_types = changes["event_types"]
    if "description" in changes:
        endpoint.description = changes["description"]
    if changes.get("enabled") is True and endpoint.status != EndpointStatus.ENABLED:
        endpoint.status = EndpointStatus.ENABLED
        endpoint.disabled_at = endpoint.disabled_reason = endpoint.failing_since = None
    elif changes.get("enabled") is False and endpoint.status != EndpointStatus.DISABLED:
        endpoint.status = EndpointStatus.DISABLED
        endpoint.disabled_at = utcnow()
        endpoint.disabled_reason = "disabled by a manager"
    await session.flush()
    return endpoint


async def rotate_secret(
    session: AsyncSession, scope: Scope, *, endpoint_id: uuid.UUID, config: WebhookConfig
) -> tuple[str, datetime]:
    """A new secret (shown once); the old one keeps signing alongside it for ``ROTATION_GRACE``."""
    endpoint = await get_endpoint(session, scope, endpoint_id=endpoint_id)
    secret = new_secret()
    expires = utcnow() + ROTATION_GRACE
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = expires
    endpoint.secret = seal_secret(config.ring, endpoint.id, secret)
    await session.flush()
    return secret, expires


async def delete_endpoint(session: AsyncSession, scope: Scope, *, endpoint_id: uuid.UUID) -> None:
    """Soft delete: nothing more is sent to it (pending retries end as failed); its delivery log is kept."""
    endpoint = await get_endpoint(session, scope, endpoint_id=endpoint_id)
    endpoint.deleted_at = utcnow()
    await session.flush()


async def list_deliveries(
    session: AsyncSession, scope: Scope, *, endpoint_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[list[WebhookDelivery], str | None]:
    await get_endpoint(session, scope, endpoint_id=endpoint_id)
    return await DeliveryRepository(session).of_endpoint(endpoint_id, cursor=cursor, limit=limit)


@dataclass(frozen=True, slots=True)
class DeliveryWithAttempts:
    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]


async def recent_deliveries(
    session: AsyncSession,
    scope: Scope,
    *,
    status: DeliveryStatus | None = None,
    endpoint_id: uuid.UUID | None = None,
    limit: int = 50,
) -> list[DeliveryWithAttempts]:
    """The latest deliveries of every endpoint of the tenant (or of one), each with its attempts: what the
    operations page lists to find a failing partner and redeliver."""
    repo = DeliveryRepository(session)
    deliveries = await repo.recent(status=status, endpoint_id=endpoint_id, limit=limit)
    attempts = await repo.attempts_of([d.id for d in deliveries])
    return [DeliveryWithAttempts(delivery=d, attempts=attempts[d.id]) for d in deliveries]


async def get_delivery(
    session: AsyncSession, scope: Scope, *, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> tuple[WebhookDelivery, list[WebhookAttempt]]:
    repo = DeliveryRepository(session)
    delivery = await repo.get(delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint_id:
        raise DeliveryNotFound(f"webhook delivery {delivery_id} not found")
    return delivery, list(await repo.attempts(delivery_id))


async def redeliver(
    session: AsyncSession, scope: Scope, *, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Queue one more attempt now (same ``webhook-id``, fresh timestamp and signature), whatever the delivery's
    status; the scheduled retries, if any are left, go on independently."""
    endpoint = await get_endpoint(session, scope, endpoint_id=endpoint_id)
    if endpoint.status != EndpointStatus.ENABLED:
        raise EndpointDisabled("enable the endpoint before redelivering to it")
    delivery, _ = await get_delivery(session, scope, endpoint_id=endpoint_id, delivery_id=delivery_id)
    payload = {"delivery_id": str(delivery.id), "trigger": AttemptTrigger.MANUAL.value}
    enqueue(session, WebhookDeliveryDue(tenant_id=delivery.tenant_id, payload=payload))
    return delivery
