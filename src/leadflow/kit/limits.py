"""Per-tenant walls against a noisy neighbour: request rates per route class and a daily quota of events.

One :meth:`TenantLimiter.admit` per request, one round trip to the counter (Redis when configured, so every API
process shares the figures; memory otherwise): the request is counted in its tenant's minute for its route class
and, when it brings events, they are added to the tenant's day. A refusal is a 429 with ``Retry-After`` and the
``RateLimit-*`` headers; events refused give their place in the day back, so the quota counts what was let in.

Windows are aligned to the clock (the minute, the tenant's local day), so a key names its window and the time
left in it needs no second round trip.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from prometheus_client import Counter as PrometheusCounter

from leadflow.kit.errors import TooManyRequests
from leadflow.kit.metrics import REGISTRY
from leadflow.kit.ratelimit import Counter, Hit

MINUTE = 60

REQUESTS_REFUSED = PrometheusCounter(
    "leadflow_tenant_requests_refused_total",
    "Requests refused by a tenant's rate limit or daily event quota",
    ["route_class", "reason"],
    registry=REGISTRY,
)
EVENTS_OVER_QUOTA = PrometheusCounter(
    "leadflow_events_over_quota_total", "Events refused because their tenant's daily quota was spent", registry=REGISTRY
)


class RouteClass(StrEnum):
    """What a request costs us: each class has its own rate per tenant."""

    INGEST = "ingest"  # Segment calls and lead forms: public, busy, each brings events
    HOOKS = "hooks"  # providers' webhook deliveries (WhatsApp, Meta Lead Ads, Chatwoot…)
    API = "api"  # the authenticated JSON API


@dataclass(frozen=True, slots=True)
class TenantLimits:
    """The walls of one tenant: requests per minute per route class, events per day (its local day)."""

    OVERRIDABLE: ClassVar[tuple[str, ...]] = (
        "ingest_per_minute",
        "hooks_per_minute",
        "api_per_minute",
        "events_per_day",
    )

    ingest_per_minute: int
    hooks_per_minute: int
    api_per_minute: int
    events_per_day: int

    def per_minute(self, route_class: RouteClass) -> int:
        limit: int = getattr(self, f"{route_class.value}_per_minute")
        return limit

    def overridden(self, overrides: Mapping[str, Any] | None) -> TenantLimits:
        """These limits with a tenant's own (``tenants.settings["limits"]``); a value that is not a positive
        integer is ignored, so a typo cannot open the wall or close the tenant."""
        if not overrides:
            return self
        valid = {
            name: value
            for name, value in overrides.items()
            if name in self.OVERRIDABLE and type(value) is int and value > 0
        }
        return replace(self, **valid) if valid else self


class RateLimited(TooManyRequests):
    code = "rate-limited"
    title = "Too many requests for this tenant"


class QuotaExceeded(TooManyRequests):
    code = "quota-exceeded"
    title = "Daily event quota exceeded"


@dataclass(slots=True)
class TenantLimiter:
    """Admits or refuses a tenant's requests; the counter is shared with the other throttles of the process."""

    counter: Counter
    defaults: TenantLimits
    clock: Callable[[], float] = field(default=time.time)

    async def admit(
        self,
        tenant_id: uuid.UUID,
        route_class: RouteClass,
        *,
        overrides: Mapping[str, Any] | None = None,
        events: int = 0,
        time_zone: str = "UTC",
    ) -> None:
        """Count the request (and its ``events``) or raise :class:`RateLimited` / :class:`QuotaExceeded`."""
        limits = self.defaults.overridden(overrides)
        now = self.clock()
        minute_left = MINUTE - int(now) % MINUTE
        rate_key = f"tenant:{tenant_id}:{route_class.value}:{int(now) // MINUTE}"
        hits = [Hit(rate_key, 1, minute_left + 1)]
        day, day_left = _local_day(now, time_zone)
        day_key = f"tenant:{tenant_id}:events:{day}"
        if events:
            hits.append(Hit(day_key, events, day_left + MINUTE))
        counts = await self.counter.hit_many(hits)
        rate_limit = limits.per_minute(route_class)
        if counts[0] > rate_limit:
            await self._give_back(day_key, events, day_left)
            REQUESTS_REFUSED.labels(route_class.value, "rate").inc()
            raise RateLimited(
                f"this tenant may make {rate_limit} {route_class.value} requests a minute; try again shortly",
                retry_after=minute_left,
                headers=_headers(rate_limit, minute_left),
            )
        if events and counts[1] > limits.events_per_day:
            await self._give_back(day_key, events, day_left)
            REQUESTS_REFUSED.labels(route_class.value, "quota").inc()
            EVENTS_OVER_QUOTA.inc(events)
            raise QuotaExceeded(
                f"this tenant's quota of {limits.events_per_day} events a day is spent; nothing was stored",
                retry_after=day_left,
                headers=_headers(limits.events_per_day, day_left),
            )

    async def _give_back(self, day_key: str, events: int, day_left: int) -> None:
        # Only on refusal (a second round trip there, never on the way in): refused events take no place.
        if events:
            await self.counter.hit_many([Hit(day_key, -events, day_left + MINUTE)])


def _headers(limit: int, reset_seconds: int) -> dict[str, str]:
    seconds = str(max(1, reset_seconds))
    return {
        "Retry-After": seconds,
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": seconds,
    }


def _local_day(now: float, time_zone: str) -> tuple[str, int]:
    """(the tenant's local date, seconds until its midnight): the quota is spent per day where the tenant lives."""
    try:
        zone = ZoneInfo(time_zone)
    except (ValueError, KeyError):  # an unknown zone name: count in UTC rather than fail the request
        zone = ZoneInfo("UTC")
    local = datetime.fromtimestamp(now, zone)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return local.date().isoformat(), max(1, int(midnight.timestamp() - now))
