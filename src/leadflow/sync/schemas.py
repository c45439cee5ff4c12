"""The CRM sync API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field, computed_field

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
    backlog: int | None = Field(
        default=None, description="Lead changes and re-syncs not pushed yet (on GET; every CRM of the tenant shares it)"
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def healthy(self) -> bool:
        """False after a refusal (a revoked token, a rate limit the retries did not outlast) until a push succeeds
        again: the manager's cue to look at ``last_error`` and reconnect."""
        if not self.enabled:
            return False
        if self.last_error_at is None:
            return True
        return self.last_success_at is not None and self.last_success_at >= self.last_error_at


class ResyncRequest(InputSchema):
    person_ids: list[uuid.UUID] | None = Field(default=None, description="Omitted: every person with a lead")
    force: bool = Field(default=False, description="Push even what has not changed since the last push")


class ResyncQueued(OutputSchema):
    provider: str
    person_ids: list[uuid.UUID] | None
    force: bool
