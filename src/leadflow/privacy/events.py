"""Domain events of the LGPD features, published to the outbox in the transaction that made the change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from leadflow.bus.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class PersonAnonymised(DomainEvent):
    """A person's personal data was replaced; partners and CRMs they were shared with must forget them too.
    Payload: ``person_id``, ``reason`` (never a personal value)."""

    name: ClassVar[str] = "person.anonymised"


@dataclass(frozen=True, kw_only=True)
class ConsentWithdrawn(DomainEvent):
    """A person withdrew a consent (or objected to a purpose). Payload: ``person_id``, ``purpose``, ``channel``."""

    name: ClassVar[str] = "consent.withdrawn"
