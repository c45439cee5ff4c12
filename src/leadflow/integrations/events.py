from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from leadflow.bus.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class DeliveryReceived(DomainEvent):
    """A verified webhook delivery was appended to the event log: its provider's intake turns it into leads,
    interactions or status changes (payload: event_id, connection_id, provider)."""

    name: ClassVar[str] = "integrations.delivery_received"


@dataclass(frozen=True, kw_only=True)
class MediaPending(DomainEvent):
    """An inbound message carried media by id: fetch it from the provider and attach it to the interaction (a
    step of its own, so a provider outage retries the download without holding back the lead)."""

    name: ClassVar[str] = "integrations.media_pending"


@dataclass(frozen=True, kw_only=True)
class LeadgenReceived(DomainEvent):
    """One Lead Ads lead id, logged on its own (a notification may carry several): fetch it and convert it. A
    failed fetch raises, so the bus retries it with backoff and dead-letters it visibly — never dropped."""

    name: ClassVar[str] = "integrations.leadgen_received"
