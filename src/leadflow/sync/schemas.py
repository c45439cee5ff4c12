"""The CRM sync API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from leadflow.kit.schemas import InputSchema, OutputSchema


class CrmConnectionRead(OutputSchema):
    id: uuid.UUID
    provider: str
    settings: dict[str, Any]
    enabled: bool
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    created_at: datetime


class ResyncRequest(InputSchema):
    person_ids: list[uuid.UUID] | None = Field(default=None, description="Omitted: every person with a lead")
    force: bool = Field(default=False, description="Push even what has not changed since the last push")


class ResyncQueued(OutputSchema):
    provider: str
    person_ids: list[uuid.UUID] | None
    force: bool
