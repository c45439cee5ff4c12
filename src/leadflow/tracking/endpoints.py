"""The tracking script (public, on any host) and the install snippet of the tenant's site (managers)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from leadflow.auth.dependencies import Manager
from leadflow.kit.web import DbSession, UnitOfWorkRoute
from leadflow.tracking import service
from leadflow.tracking.schemas import TrackingSnippet

# No database and no tenant: the same script serves every site.
script_router = APIRouter(tags=["tracking"])
snippet_router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute, tags=["tracking"])
SCRIPT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The script (gzip when accepted), with `ETag` and `Cache-Control`",
        "content": {"application/javascript": {"example": "(function (window, document) {…})(window, document);"}},
    },
    304: {"description": "The browser's copy (`If-None-Match`) is current"},
}
Version = Annotated[str, Path(max_length=64, pattern=r"^[0-9a-f]+$", examples=["5d41402abc4b2a76"])]


def _script(request: Request, *, pinned_version: str | None) -> Response:
    script = service.tracking_script()
    delivery = service.deliver(
        script,
        accept_encoding=request.headers.get("accept-encoding", ""),
        if_none_match=request.headers.get("if-none-match"),
        pinned=pinned_version == script.hash,
    )
    return Response(delivery.body, status_code=delivery.status, headers=delivery.headers)


@script_router.get(
    "/t.js",
    summary="The tracking script (short cache, revalidated by ETag)",
    description="With `?v=<hash>` naming the current build, it is cached for a year as immutable.",
    response_class=Response,
    responses=SCRIPT_RESPONSES,
)
async def tracking_script(
    request: Request, v: Annotated[str | None, Query(max_length=64, description="The build's hash")] = None
) -> Response:
    return _script(request, pinned_version=v)


@script_router.get(
    "/t/{version}.js",
    summary="The tracking script at a versioned URL (immutable)",
    description="A hash other than the current build's gets the current script with the short cache.",
    response_class=Response,
    responses=SCRIPT_RESPONSES,
)
async def versioned_tracking_script(request: Request, version: Version) -> Response:
    return _script(request, pinned_version=version)


@snippet_router.get(
    "/tracking/snippet",
    summary="The HTML snippet that installs t.js on the tenant's site",
    description=(
        "The script URL is on this tenant's host. Write keys are hashed at rest, so the snippet holds a placeholder "
        "unless `write_key` names one of the tenant's live write keys (422 otherwise)."
    ),
)
async def tracking_snippet(
    request: Request,
    scope: Manager,
    session: DbSession,
    write_key: Annotated[
        str | None, Query(max_length=256, description="A live write key to write into the snippet")
    ] = None,
    consent_required: Annotated[
        bool, Query(description="Wait for `leadflow.consent(true)` before storing or sending an id (LGPD)")
    ] = False,
) -> TrackingSnippet:
    return await service.site_snippet(
        session, scope, base_url=str(request.base_url), write_key=write_key, consent_required=consent_required
    )


router = APIRouter()
router.include_router(script_router)
router.include_router(snippet_router)
