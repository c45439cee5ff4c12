"""Domain events the pipeline publishes about leads, for the outputs (integrations issue) and for its own timers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from leadflow.bus.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class LeadReconverted(DomainEvent):
    """A known person converted again while their lead was open: same lead, a new conversion with its touch."""

    name: ClassVar[str] = "lead.reconverted"


@dataclass(frozen=True, kw_only=True)
class LeadSlaDue(DomainEvent):
    """Delivered when a lead's first-response time runs out; a no-op when someone answered in time."""

    name: ClassVar[str] = "lead.sla_due"


@dataclass(frozen=True, kw_only=True)
class LeadSlaBreached(DomainEvent):
    """Nobody answered in time: the lead moved to the next broker or to the team's manager."""

    name: ClassVar[str] = "lead.sla_breached"


@dataclass(frozen=True, kw_only=True)
class RoutingNotice(DomainEvent):
    """A rule asked to notify someone (``notify`` action) about a new lead."""

    name: ClassVar[str] = "lead.notification_requested"


@dataclass(frozen=True, kw_only=True)
class MarketingMessageDue(DomainEvent):
    """A rule's marketing message the person's consents allowed when the lead was created (payload: lead_id,
    rule_id, channel, template, language); the integrations send it, checking the consents again."""

    name: ClassVar[str] = "lead.marketing_due"
