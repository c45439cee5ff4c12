"""The public site of a tenant: its home, a page per development and per property, and the sitemap.

Reads through the property services and repositories; "public" means an available property (a unit only while
its development is live) or a live development. The pages post their lead form to ``/v1/forms/{key}``: the form
tied to the property (so its captador gets the lead first), else the one tied to the development, else the
site's general form.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.kit.i18n import negotiate
from leadflow.kit.pagination import MAX_LIMIT
from leadflow.kit.scope import Scope
from leadflow.models import Development, LeadForm, Property, PropertyStatus
from leadflow.property import service as properties
from leadflow.site.paths import development_path, property_path
from leadflow.site.repository import PublicListingRepository, SiteFormRepository
from leadflow.site.schemas import (
    DevelopmentPage,
    HomePage,
    LeadFormView,
    NotPublic,
    PropertyPage,
    SiteFrame,
    SitemapEntry,
    SiteSettings,
)
from leadflow.tenant.service import TenantRef
from leadflow.tracking import service as tracking

log = structlog.get_logger("leadflow.site")
HOME_PROPERTIES = 24
HOME_DEVELOPMENTS = 50


async def site_frame(session: AsyncSession, scope: Scope, *, tenant: TenantRef, base_url: str) -> SiteFrame:
    """The tenant's name, locale, site settings and the t.js tags (when a live write key is configured)."""
    settings = SiteSettings.of_tenant(tenant.settings)
    return SiteFrame(
        name=tenant.name,
        locale=negotiate(None, tenant.locale),
        settings=settings,
        tracking_html=await _tracking_html(session, scope, settings, base_url),
    )


async def _tracking_html(session: AsyncSession, scope: Scope, settings: SiteSettings, base_url: str) -> str | None:
    if not settings.write_key:
        return None
    try:
        snippet = await tracking.site_snippet(
            session, scope, base_url=base_url, write_key=settings.write_key, consent_required=False
        )
    except tracking.InvalidWriteKey:
        # A revoked or mistyped key: the pages still serve (forms work without t.js), and the operator is told.
        log.warning("site write key is not a live write key of the tenant; pages served without t.js")
        return None
    return snippet.html


async def home_page(
    session: AsyncSession, scope: Scope, *, tenant: TenantRef, base_url: str, cursor: str | None = None
) -> HomePage:
    """Live developments and the available properties that are not units (newest first, a page at a time)."""
    developments, _ = await properties.list_developments(session, scope, limit=HOME_DEVELOPMENTS)
    repo = PublicListingRepository(session)
    listings, next_cursor = await repo.properties.page(
        repo.standalone_available(), cursor=cursor, limit=HOME_PROPERTIES
    )
    return HomePage(
        frame=await site_frame(session, scope, tenant=tenant, base_url=base_url),
        developments=developments,
        properties=listings,
        next_cursor=next_cursor,
    )


async def development_page(
    session: AsyncSession, scope: Scope, *, tenant: TenantRef, base_url: str, slug: str
) -> DevelopmentPage | NotPublic:
    """The development with its available units (unknown, deleted or another tenant's: NotPublic)."""
    frame = await site_frame(session, scope, tenant=tenant, base_url=base_url)
    development = await PublicListingRepository(session).development_by_slug(slug)
    if development is None:
        return NotPublic(frame)
    read = await properties.get_development(session, scope, development_id=development.id)
    units, _ = await properties.list_units(
        session, scope, development_id=development.id, status=PropertyStatus.AVAILABLE, limit=MAX_LIMIT
    )
    form = await _lead_form(session, frame.settings, prop=None, development=development)
    return DevelopmentPage(frame=frame, development=read, units=units, form=form)


async def property_page(
    session: AsyncSession, scope: Scope, *, tenant: TenantRef, base_url: str, reference: str
) -> PropertyPage | NotPublic:
    """The property; NotPublic when it is unknown, deleted, not available, another tenant's, or a unit of a
    development that was deleted."""
    frame = await site_frame(session, scope, tenant=tenant, base_url=base_url)
    prop = await properties.find_property_by_reference(session, scope, reference=reference)
    if prop is None or prop.status is not PropertyStatus.AVAILABLE:
        return NotPublic(frame)
    development = None
    if prop.development_id is not None:
        development = await PublicListingRepository(session).developments.get(prop.development_id)
        if development is None:
            return NotPublic(frame)
    form = await _lead_form(session, frame.settings, prop=prop, development=development)
    return PropertyPage(frame=frame, property=prop, development=development, form=form)


async def _lead_form(
    session: AsyncSession, settings: SiteSettings, *, prop: Property | None, development: Development | None
) -> LeadFormView | None:
    property_id = prop.id if prop is not None else None
    development_id = development.id if development is not None else None
    forms = await SiteFormRepository(session).candidates(property_id=property_id, development_id=development_id)
    form = choose_form(forms, property_id=property_id, development_id=development_id, general_key=settings.form_key)
    if form is None:
        return None
    # Kept in the event log with the post (the fields beyond the contact ones), so the lead shows where it came from.
    context = {}
    if prop is not None:
        context["property_reference"] = prop.reference
    if development is not None:
        context["development"] = development.slug
    return LeadFormView(key=form.key, context=context)


def choose_form(
    forms: Sequence[LeadForm], *, property_id: uuid.UUID | None, development_id: uuid.UUID | None, general_key: str
) -> LeadForm | None:
    """The most specific active form: the property's, the development's, the site's general one (by key), else
    the oldest form tied to no listing. A form tied to another listing is never used (its lead would name it)."""

    def unlinked(form: LeadForm) -> bool:
        return form.property_id is None and form.development_id is None

    preferences = (
        lambda f: property_id is not None and f.property_id == property_id,
        lambda f: development_id is not None and f.development_id == development_id and f.property_id is None,
        lambda f: unlinked(f) and f.key == general_key,
        unlinked,
    )
    for prefers in preferences:
        if chosen := next((form for form in forms if form.is_active and prefers(form)), None):
            return chosen
    return None


async def sitemap(session: AsyncSession, scope: Scope) -> list[SitemapEntry]:
    """Home, every live development and every available property whose development (if any) is live."""
    repo = PublicListingRepository(session)
    developments = await repo.live_development_dates()
    entries = [SitemapEntry(development_path(slug), _day(at)) for slug, at in developments.values()]
    for reference, development_id, updated_at in await repo.available_references():
        if development_id is None or development_id in developments:
            entries.append(SitemapEntry(property_path(reference), _day(updated_at)))
    latest = max((entry.updated_at for entry in entries), default=None)
    home = SitemapEntry("/", latest) if latest else SitemapEntry("/", "")
    return [home, *entries]


def _day(moment: datetime) -> str:
    return moment.date().isoformat()
