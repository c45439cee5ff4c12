"""Domain events: what happened, for which tenant, when. A subclass names its event (``lead.created``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from leadflow.kit.ids import new_id
from leadflow.kit.time import utcnow

_event_types: dict[str, type[DomainEvent]] = {}


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """The base of every event on the bus; ``id`` becomes the outbox message id and the idempotency key."""

    name: ClassVar[str] = "event"

    tenant_id: uuid.UUID
    payload: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime = field(default_factory=utcnow)
    id: uuid.UUID = field(default_factory=new_id)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _event_types[cls.name] = cls

    @property
    def event_name(self) -> str:
        return self.name


@dataclass(frozen=True, kw_only=True)
class UnknownEvent(DomainEvent):
    """An event read back from the outbox whose class is not loaded in this process: name and payload only."""

    name: ClassVar[str] = "unknown"
    stored_name: str = ""

    @property
    def event_name(self) -> str:
        return self.stored_name


def event_from_stored(
    name: str, *, id: uuid.UUID, tenant_id: uuid.UUID, payload: dict[str, Any], occurred_at: datetime
) -> DomainEvent:
    """Rebuild the event a handler receives from what the outbox kept."""
    event_type = _event_types.get(name)
    if event_type is None:
        return UnknownEvent(id=id, tenant_id=tenant_id, payload=payload, occurred_at=occurred_at, stored_name=name)
    return event_type(id=id, tenant_id=tenant_id, payload=payload, occurred_at=occurred_at)
