"""Events of CRM sync."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from leadflow.bus.events import DomainEvent

# Lead changes that may change what the CRM shows (person data travels with them), and a person's correction.
TRIGGERS: tuple[str, ...] = (
    "lead.created",
    "lead.assigned",
    "lead.stage_changed",
    "lead.reconverted",
    "person.updated",
)


@dataclass(frozen=True, kw_only=True)
class ResyncRequested(DomainEvent):
    """A manager asked to push again (payload: provider, person_ids or null for everyone, force)."""

    name: ClassVar[str] = "sync.resync_requested"
