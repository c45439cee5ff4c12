"""What the event log tells the pipeline: only the events that may create, update or identify a lead.

Page views and ordinary track calls stay in the log (they are read back into a person's journey by tracking id);
publishing them would double the write load of ingestion for nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from leadflow.bus.events import DomainEvent
from leadflow.models import EventType

# A `track` call with this name (t.js sends it for a site's own marked form) is a conversion like a form post.
FORM_SUBMITTED = "form_submitted"


@dataclass(frozen=True, kw_only=True)
class ConversionReceived(DomainEvent):
    """A form (ours or the site's) or an inbound contact was logged: a lead is created or re-converted."""

    name: ClassVar[str] = "capture.conversion_received"


@dataclass(frozen=True, kw_only=True)
class VisitorIdentified(DomainEvent):
    """An identify or alias call: a tracking id may now belong to a known person."""

    name: ClassVar[str] = "capture.visitor_identified"


def pipeline_event_for(
    tenant_id: uuid.UUID, event_id: uuid.UUID, type: EventType | str, name: str | None
) -> DomainEvent | None:
    """The domain event announcing a freshly stored log row, or None when the pipeline has nothing to do with it."""
    payload: dict[str, Any] = {"event_id": str(event_id)}
    kind = EventType(type)
    if kind is EventType.FORM or (kind is EventType.TRACK and name == FORM_SUBMITTED):
        return ConversionReceived(tenant_id=tenant_id, payload=payload)
    if kind in (EventType.IDENTIFY, EventType.ALIAS):
        return VisitorIdentified(tenant_id=tenant_id, payload=payload)
    return None
