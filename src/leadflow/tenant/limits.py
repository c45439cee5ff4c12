"""Which requests a tenant's walls count, and where (see :mod:`leadflow.kit.limits` for the counting).

Routes are classed here, by their path template, not endpoint by endpoint. Each request is admitted once:

- public ingestion and webhook deliveries by :func:`current_tenant` as soon as the host names the tenant, before
  the body is read, so a flood is shed before it costs a query;
- Segment calls by the collect endpoint once it knows how many events the batch holds (:func:`admit_events`), in
  the same single round trip;
- the authenticated API by :func:`~leadflow.auth.dependencies.authenticate` once the credential is proven, so a
  stranger with bad tokens cannot spend a tenant's budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from leadflow.kit.limits import RouteClass, TenantLimiter
from leadflow.tenant.service import TenantRef

LIMITS_SETTING = "limits"  # tenants.settings["limits"]: the tenant's own values, set by the operator


@dataclass(frozen=True, slots=True)
class RouteLimit:
    route_class: RouteClass
    events: int | None  # events each request brings; None: the endpoint counts them and admits the request itself


SEGMENT_CALLS = frozenset(
    {"/v1/batch", "/v1/track", "/v1/page", "/v1/identify", "/v1/alias", "/v1/screen", "/v1/group"}
)
COUNTED_BY_ENDPOINT = RouteLimit(RouteClass.INGEST, None)
FORM_POST = RouteLimit(RouteClass.INGEST, 1)
HOOK_DELIVERY = RouteLimit(RouteClass.HOOKS, 1)
HOOK_CHECK = RouteLimit(RouteClass.HOOKS, 0)


def public_route_limit(request: Request) -> RouteLimit | None:
    """The wall of a public route (no user credential), or None: the API, pages and preflights are not counted
    here."""
    method = request.method
    template: str = getattr(request.scope.get("route"), "path", "")
    if method == "POST" and template in SEGMENT_CALLS:
        return COUNTED_BY_ENDPOINT
    if method == "POST" and template == "/v1/forms/{form_key}":
        return FORM_POST
    if template.startswith("/hooks/"):
        return HOOK_DELIVERY if method == "POST" else HOOK_CHECK
    return None


async def admit_public_route(request: Request, tenant: TenantRef) -> None:
    limit = public_route_limit(request)
    if limit is not None and limit.events is not None:
        await _admit(request, tenant, limit.route_class, events=limit.events)


async def admit_events(request: Request, tenant: TenantRef, *, events: int) -> None:
    """Admit a Segment call with the number of events it brings (refused: nothing is stored)."""
    await _admit(request, tenant, RouteClass.INGEST, events=events)


async def admit_api_call(request: Request, tenant: TenantRef) -> None:
    await _admit(request, tenant, RouteClass.API, events=0)


async def _admit(request: Request, tenant: TenantRef, route_class: RouteClass, *, events: int) -> None:
    limiter: TenantLimiter = request.app.state.limiter
    overrides = tenant.settings.get(LIMITS_SETTING)
    await limiter.admit(
        tenant.id,
        route_class,
        overrides=overrides if isinstance(overrides, dict) else None,
        events=events,
        time_zone=tenant.time_zone,
    )
