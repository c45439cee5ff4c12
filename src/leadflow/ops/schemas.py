from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from leadflow.kit.schemas import OutputSchema
from leadflow.models import OutboxStatus


class DeadLetterRead(OutputSchema):
    id: uuid.UUID
    event_name: str
    payload: dict[str, Any]
    occurred_at: datetime
    attempts: int
    last_error: str | None
    dead_at: datetime | None
    status: OutboxStatus


class QueueRead(OutputSchema):
    event_name: str
    pending: int
    dead: int
    oldest_pending_at: datetime | None
    lag_seconds: float | None


class RetryResult(OutputSchema):
    retried: int
