"""What partners may subscribe to, and the events this feature publishes itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from leadflow.bus.events import DomainEvent

# The domain events a partner endpoint may ask for (``event_types``); "*" means all of them.
SUBSCRIBABLE: tuple[str, ...] = (
    "lead.created",
    "lead.assigned",
    "lead.stage_changed",
    "lead.reconverted",
    "lead.sla_breached",
    "interaction.logged",
    "person.updated",
)
ALL = "*"


@dataclass(frozen=True, kw_only=True)
class WebhookDeliveryDue(DomainEvent):
    """Time to try a delivery (payload: delivery_id, trigger): the first try, a scheduled retry or a manual one."""

    name: ClassVar[str] = "webhook.delivery_due"


@dataclass(frozen=True, kw_only=True)
class WebhookDeliveryFailed(DomainEvent):
    """A delivery used up its retries (payload: delivery_id, endpoint_id, event_type)."""

    name: ClassVar[str] = "webhook.delivery_failed"


@dataclass(frozen=True, kw_only=True)
class WebhookEndpointDisabled(DomainEvent):
    """An endpoint was disabled because it kept failing; its creator should hear about it
    (payload: endpoint_id, url, reason, notify_user_id)."""

    name: ClassVar[str] = "webhook.endpoint_disabled"
