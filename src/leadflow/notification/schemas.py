from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from leadflow.kit.schemas import OutputSchema


class NotificationRead(OutputSchema):
    id: uuid.UUID
    kind: str = Field(examples=["sla_handed_to_you"], description="What happened; see docs/notifications.md")
    params: dict[str, Any] = Field(examples=[{"lead_id": "0190…", "escalated": False}])
    link: str | None = Field(examples=["/app/leads/0190…"])
    created_at: datetime
    read_at: datetime | None


class Notifications(OutputSchema):
    items: list[NotificationRead]
    unread: int = Field(description="How many of the user's notifications are unread, all together")


class MarkedRead(OutputSchema):
    marked: int
