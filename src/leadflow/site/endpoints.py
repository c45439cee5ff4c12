"""The public pages on a tenant's host: home, developments, properties, thank-you, sitemap.xml and robots.txt.

Server-rendered HTML that needs no JavaScript to read or to send the lead form; t.js and the chat widget are
added when the tenant configured them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from leadflow.kit.web import DbSession, UnitOfWorkRoute
from leadflow.site import service
from leadflow.site.auth import Visitor
from leadflow.site.paths import development_path, property_path
from leadflow.site.rendering import canonical_url, render, visit_touch
from leadflow.site.schemas import NotPublic
from leadflow.tenant.dependencies import CurrentTenant

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)
PAGE = ["GET", "HEAD"]
Slug = Annotated[str, Path(max_length=120)]
Reference = Annotated[str, Path(max_length=40)]
Cursor = Annotated[str | None, Query(max_length=500)]
ROBOTS = """User-agent: *
Allow: /
Disallow: /app
Disallow: /v1/
Sitemap: {base}/sitemap.xml
"""


def _base(request: Request) -> str:
    return str(request.base_url)


def _not_found(request: Request, missing: NotPublic) -> Response:
    frame = missing.frame
    return render(request, "not_found.html", locale=frame.locale, status_code=404, frame=frame, canonical=None)


@router.api_route("/", methods=PAGE)
async def home(
    request: Request, tenant: CurrentTenant, scope: Visitor, session: DbSession, cursor: Cursor = None
) -> Response:
    page = await service.home_page(session, scope, tenant=tenant, base_url=_base(request), cursor=cursor)
    return render(
        request,
        "home.html",
        locale=page.frame.locale,
        page=page,
        frame=page.frame,
        canonical=canonical_url(request, "/"),
    )


@router.api_route("/empreendimentos/{slug}", methods=PAGE)
async def development(
    request: Request, slug: Slug, tenant: CurrentTenant, scope: Visitor, session: DbSession
) -> Response:
    page = await service.development_page(session, scope, tenant=tenant, base_url=_base(request), slug=slug)
    if isinstance(page, NotPublic):
        return _not_found(request, page)
    path = development_path(page.development.slug)
    return render(
        request,
        "development.html",
        locale=page.frame.locale,
        page=page,
        frame=page.frame,
        canonical=canonical_url(request, path),
        touch=visit_touch(request),
    )


@router.api_route("/imoveis/{reference}", methods=PAGE)
async def listing(
    request: Request, reference: Reference, tenant: CurrentTenant, scope: Visitor, session: DbSession
) -> Response:
    page = await service.property_page(session, scope, tenant=tenant, base_url=_base(request), reference=reference)
    if isinstance(page, NotPublic):
        return _not_found(request, page)
    path = property_path(page.property.reference)
    return render(
        request,
        "property.html",
        locale=page.frame.locale,
        page=page,
        frame=page.frame,
        canonical=canonical_url(request, path),
        touch=visit_touch(request),
    )


@router.api_route("/obrigado", methods=PAGE)
async def thanks(request: Request, tenant: CurrentTenant, scope: Visitor, session: DbSession) -> Response:
    """Where a form whose thank-you URL is ``/obrigado`` sends the visitor after the post."""
    frame = await service.site_frame(session, scope, tenant=tenant, base_url=_base(request))
    return render(request, "thanks.html", locale=frame.locale, frame=frame, canonical=None)


@router.api_route("/sitemap.xml", methods=PAGE)
async def sitemap(request: Request, tenant: CurrentTenant, scope: Visitor, session: DbSession) -> Response:
    entries = await service.sitemap(session, scope)
    base = _base(request).rstrip("/")
    response = render(request, "sitemap.xml", locale="en", base=base, entries=entries)
    return Response(response.body, media_type="application/xml", headers={"Cache-Control": "public, max-age=300"})


@router.api_route("/robots.txt", methods=PAGE)
async def robots(request: Request, tenant: CurrentTenant) -> Response:
    body = ROBOTS.format(base=_base(request).rstrip("/"))
    return Response(body, media_type="text/plain", headers={"Cache-Control": "public, max-age=3600"})
