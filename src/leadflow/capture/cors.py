"""CORS for what sites post to us (events, forms): an origin is allowed when a live write key of the host lists it."""

from __future__ import annotations

from fastapi import Request, Response, status

from leadflow.capture.auth import origin_allowed
from leadflow.kit.web import DbSession
from leadflow.tenant.dependencies import CurrentTenant


def cors_headers(request: Request) -> dict[str, str]:
    """The answer's CORS headers: the caller's origin echoed (it was checked before the request got this far).

    Never ``Allow-Credentials``: these routes authenticate by the public write key, not by cookies, and t.js sends
    with ``credentials: "omit"``; a page of another site must not read an answer its cookies earned.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


async def preflight(request: Request, tenant: CurrentTenant, session: DbSession) -> Response:
    """CORS preflight of a POST route: allowed when a live write key of this host lists the origin."""
    origin = request.headers.get("origin")
    if origin is None or not await origin_allowed(session, origin):
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    headers = {
        **cors_headers(request),
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, Content-Type",
        "Access-Control-Max-Age": "600",
    }
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=headers)
