"""Domain events of activities, published to the outbox in the transaction that made the change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from leadflow.bus.events import DomainEvent
from leadflow.models import Interaction


def interaction_facts(interaction: Interaction) -> dict[str, Any]:
    return {
        "interaction_id": str(interaction.id),
        "lead_id": None if interaction.lead_id is None else str(interaction.lead_id),
        "person_id": None if interaction.person_id is None else str(interaction.person_id),
        "channel": interaction.channel.value,
        "direction": interaction.direction.value,
        "occurred_at": interaction.occurred_at.isoformat(),
    }


@dataclass(frozen=True, kw_only=True)
class InteractionLogged(DomainEvent):
    name: ClassVar[str] = "interaction.logged"
