from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from leadflow.kit.schemas import OutputSchema


class AuditEntryRead(OutputSchema):
    id: uuid.UUID
    occurred_at: datetime
    actor_type: str
    actor_id: uuid.UUID | None
    action: str
    entity_type: str
    entity_id: uuid.UUID | None
    changes: dict[str, Any]
    ip: str | None
    user_agent: str | None
    request_id: str | None
    seq: int | None
    hash: str | None
    redacted_at: datetime | None
