"""Domain events of leads, published to the outbox in the transaction that made the change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from leadflow.bus.events import DomainEvent
from leadflow.models import Lead


def lead_facts(lead: Lead) -> dict[str, Any]:
    """What a subscriber needs to find and route the lead, as JSON."""

    def text(value: object) -> str | None:
        return None if value is None else str(value)

    return {
        "lead_id": str(lead.id),
        "person_id": text(lead.person_id),
        "pipeline_id": text(lead.pipeline_id),
        "stage_id": text(lead.stage_id),
        "owner_id": text(lead.owner_id),
        "team_id": text(lead.team_id),
        "status": lead.status.value,
        "source": lead.source,
        "channel": lead.channel,
    }


@dataclass(frozen=True, kw_only=True)
class LeadCreated(DomainEvent):
    name: ClassVar[str] = "lead.created"


@dataclass(frozen=True, kw_only=True)
class LeadAssigned(DomainEvent):
    name: ClassVar[str] = "lead.assigned"


@dataclass(frozen=True, kw_only=True)
class LeadStageChanged(DomainEvent):
    name: ClassVar[str] = "lead.stage_changed"
