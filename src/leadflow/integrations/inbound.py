"""Receiving a provider's webhook: authenticity checked on the raw bytes before any parsing, the delivery stored
raw in the event log (once: a repeated delivery changes nothing), then answered; the work happens on the bus.

A delivery that fails verification or reading is kept in ``rejected_events`` with its reason and the raw body,
and the answer is the 4xx the provider expects (401 for a bad signature or password).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.outbox import enqueue
from leadflow.capture.parsing import body_text
from leadflow.capture.repository import EventRepository, event_by_message_id
from leadflow.capture.sealing import seal_rejected, seal_rows
from leadflow.capture.service import SCHEMA_VERSION
from leadflow.integrations.base import Delivery, Refused
from leadflow.integrations.credentials import opened_settings
from leadflow.integrations.events import DeliveryReceived
from leadflow.integrations.registry import ProviderSpec, provider
from leadflow.integrations.repository import ConnectionRepository
from leadflow.integrations.service import note_failure, note_success
from leadflow.integrations.zap.provider import read_portal_lead
from leadflow.kit.errors import LeadflowError, NotFound, Unauthenticated
from leadflow.kit.ids import new_id
from leadflow.kit.scope import Scope
from leadflow.kit.sealing import KeyRing
from leadflow.models import EventType, FailureType, IntegrationConnection, RejectedEvent
from leadflow.property.repository import PropertyRepository

log = structlog.get_logger("leadflow.integrations")


class HookNotFound(NotFound):
    """No connection of that provider and key for this tenant (the same answer whether it exists elsewhere)."""


class SignatureRefused(Unauthenticated):
    code = "invalid-signature"
    title = "Webhook authentication failed"
    commit_on_error = True  # the rejected delivery is kept

    def __init__(self, detail: str, *, basic: bool) -> None:
        # A Basic-auth provider is told which scheme to use; Meta signs and needs no challenge.
        super().__init__(detail, headers={"WWW-Authenticate": 'Basic realm="leadflow"'} if basic else {})


class DeliveryRefused(LeadflowError):
    """A delivery the provider got wrong (not JSON, a required field missing): kept as rejected, answered 400."""

    commit_on_error = True
    code = "delivery-refused"
    title = "Delivery refused"


class ReferenceNotFound(DeliveryRefused):
    """A delivery naming something we do not have (a portal listing): 404, kept as rejected."""

    status = 404
    code = "reference-not-found"
    title = "Reference not found"


@dataclass(frozen=True, slots=True)
class Arrival:
    received_at: datetime
    ip: str | None
    user_agent: str | None
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Received:
    event_id: uuid.UUID
    duplicate: bool


async def connection_for(
    session: AsyncSession, provider_name: str, key: str
) -> tuple[ProviderSpec, IntegrationConnection]:
    spec = provider(provider_name)
    connection = await ConnectionRepository(session).by_key(provider_name, key) if spec else None
    if spec is None or connection is None:
        raise HookNotFound(f"no {provider_name} connection {key!r}")
    return spec, connection


async def handshake(
    session: AsyncSession, scope: Scope, *, provider_name: str, key: str, query: Mapping[str, str], ring: KeyRing
) -> str | None:
    """The challenge to echo for a provider's URL check, or None (403)."""
    spec, connection = await connection_for(session, provider_name, key)
    if spec.handshake is None:
        raise HookNotFound(f"{provider_name} does not verify its URL")
    return spec.handshake(opened_settings(ring, spec, connection)).answer(query)


async def receive(
    session: AsyncSession,
    scope: Scope,
    *,
    provider_name: str,
    key: str,
    raw: bytes,
    arrival: Arrival,
    ring: KeyRing,
) -> Received:
    spec, connection = await connection_for(session, provider_name, key)
    source = spec.source(opened_settings(ring, spec, connection))
    reason = source.verify(arrival.headers, raw)
    if reason is not None:
        await _reject(session, scope, connection, raw, arrival, FailureType.AUTHENTICATION, reason)
        raise SignatureRefused(reason, basic=spec.name == "zap")
    try:
        delivery = source.read(raw)
        await _check_references(session, spec, delivery)
    except Refused as refused:
        await _reject(session, scope, connection, raw, arrival, FailureType(refused.kind), refused.reason)
        raise (ReferenceNotFound if refused.status == 404 else DeliveryRefused)(refused.reason) from None
    note_success(connection)
    return await _append(session, scope, connection, delivery, raw, arrival)


async def _check_references(session: AsyncSession, spec: ProviderSpec, delivery: Delivery) -> None:
    """A portal lead for a listing we do not have is refused with a 4xx: the portal keeps it 14 days and
    redelivers, so it arrives once the listing is registered (and the refusal is visible meanwhile)."""
    if spec.name != "zap":
        return
    lead = read_portal_lead(delivery.body)
    if await PropertyRepository(session).by_reference(lead.listing_reference) is None:
        raise Refused(f"no listing with reference {lead.listing_reference!r}", status=404, kind="unknown_reference")


async def _append(
    session: AsyncSession,
    scope: Scope,
    connection: IntegrationConnection,
    delivery: Delivery,
    raw: bytes,
    arrival: Arrival,
) -> Received:
    event_id = new_id()
    row = {
        "id": event_id,
        "tenant_id": scope.tenant_id,
        "type": EventType.WEBHOOK,
        "name": f"{connection.provider}.delivery",
        "source": connection.provider,
        "message_id": delivery.key,
        "received_at": arrival.received_at,
        "occurred_at": arrival.received_at,
        "schema_version": SCHEMA_VERSION,
        "ip": arrival.ip,
        "user_agent": arrival.user_agent,
        # As received: the exact text that was verified, and which connection it came through.
        "payload": {"connection_id": str(connection.id), "connection_key": connection.key, "raw": body_text(raw)},
    }
    await seal_rows(session, scope, [row])
    inserted = await EventRepository(session).append([row])
    if event_id not in inserted:
        existing = await event_by_message_id(session, delivery.key)
        log.info("integrations.duplicate_delivery", provider=connection.provider, key=delivery.key)
        return Received(event_id=existing.id if existing else event_id, duplicate=True)
    payload = {"event_id": str(event_id), "connection_id": str(connection.id), "provider": connection.provider}
    enqueue(session, DeliveryReceived(tenant_id=connection.tenant_id, payload=payload))
    return Received(event_id=event_id, duplicate=False)


async def _reject(
    session: AsyncSession,
    scope: Scope,
    connection: IntegrationConnection,
    raw: bytes,
    arrival: Arrival,
    failure_type: FailureType,
    reason: str,
) -> None:
    note_failure(connection, f"delivery refused: {reason}")
    rejected = RejectedEvent(
        received_at=arrival.received_at,
        source=connection.provider,
        failure_type=failure_type,
        failure=[{"path": "$", "message": reason, "connection_key": connection.key}],
        raw=body_text(raw),
        ip=arrival.ip,
    )
    await seal_rejected(session, scope, [rejected])
    session.add(rejected)
    log.warning("integrations.delivery_refused", provider=connection.provider, key=connection.key, reason=reason)
