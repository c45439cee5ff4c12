"""A tenant's retention overrides as a manager sets them: days per kind of record, blank keeps the default."""

from __future__ import annotations

from pydantic import Field

from leadflow.kit.schemas import InputSchema
from leadflow.retention.policy import SIX_MONTHS_DAYS

TEN_YEARS_DAYS = 3653


class RetentionOverrides(InputSchema):
    operational_days: int | None = Field(default=None, ge=1, le=TEN_YEARS_DAYS)
    # Marco Civil art. 15: access records are kept at least six months, so no override goes below that.
    access_log_days: int | None = Field(default=None, ge=SIX_MONTHS_DAYS, le=TEN_YEARS_DAYS)
    audit_days: int | None = Field(default=None, ge=1, le=TEN_YEARS_DAYS)
    soft_delete_grace_days: int | None = Field(default=None, ge=1, le=TEN_YEARS_DAYS)
    unconverted_lead_days: int | None = Field(default=None, ge=0, le=TEN_YEARS_DAYS, description="0: never")
