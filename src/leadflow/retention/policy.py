"""How long each kind of record is kept: the defaults, and a tenant's overrides on top of them."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta

from leadflow.models import RetentionPolicy

SIX_MONTHS_DAYS = 183  # Marco Civil art. 15 asks for "6 meses"; 183 days cover the longest six months


@dataclass(frozen=True, slots=True)
class RetentionPeriods:
    """Days records are kept. ``unconverted_lead_days`` = 0 never anonymises unconverted leads."""

    operational_days: int = 30
    access_log_days: int = SIX_MONTHS_DAYS
    audit_days: int = SIX_MONTHS_DAYS
    soft_delete_grace_days: int = 30
    unconverted_lead_days: int = 730

    def cutoff(self, name: str, now: datetime) -> datetime:
        """Records of kind ``name`` older than this moment are due."""
        return now - timedelta(days=int(getattr(self, name)))


DEFAULT_PERIODS = RetentionPeriods()


def effective_periods(policy: RetentionPolicy | None, defaults: RetentionPeriods = DEFAULT_PERIODS) -> RetentionPeriods:
    """The defaults with the tenant's non-empty columns laid over them."""
    if policy is None:
        return defaults
    overrides = {
        f.name: getattr(policy, f.name) for f in fields(RetentionPeriods) if getattr(policy, f.name) is not None
    }
    return replace(defaults, **overrides)
