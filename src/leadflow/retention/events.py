from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from leadflow.bus.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class RetentionDue(DomainEvent):
    """Time for a tenant's retention step: a delayed message that schedules its successor when it has run."""

    name: ClassVar[str] = "retention.due"
