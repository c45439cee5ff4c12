"""Queries of the public site: the tenant's public listings and the form a page posts.

Built on the property repositories (the scoped session hides other tenants' rows and soft-deleted ones); the
only thing added is what "public" means: an available property, and a unit only while its development is live.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select

from leadflow.kit.repository import Repository
from leadflow.models import Development, LeadForm, Property, PropertyStatus
from leadflow.property.repository import DevelopmentRepository, PropertyRepository
from leadflow.property.schemas import PropertyFilters

SITEMAP_MAX_URLS = 50_000  # the sitemaps.org limit for one file


class PublicListingRepository:
    def __init__(self, session: Any) -> None:
        self.session = session
        self.properties = PropertyRepository(session)
        self.developments = DevelopmentRepository(session)

    async def development_by_slug(self, slug: str) -> Development | None:
        stmt = self.developments.select().where(Development.slug == slug)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def standalone_available(self) -> Select[Any]:
        """Available properties that are not units of a development (units are shown on their development)."""
        available = self.properties.filtered(PropertyFilters(status=PropertyStatus.AVAILABLE))
        return available.where(Property.development_id.is_(None))

    async def live_development_dates(self) -> dict[uuid.UUID, tuple[str, datetime]]:
        """Every live development: its slug and when it last changed."""
        stmt = select(Development.id, Development.slug, Development.updated_at).order_by(Development.created_at)
        rows = (await self.session.execute(stmt)).all()
        return {row.id: (row.slug, row.updated_at) for row in rows}

    async def available_references(self) -> Sequence[Any]:
        """(reference, development_id, updated_at) of every available property, oldest first."""
        stmt = (
            select(Property.reference, Property.development_id, Property.updated_at)
            .where(Property.status == PropertyStatus.AVAILABLE)
            .order_by(Property.created_at, Property.id)
            .limit(SITEMAP_MAX_URLS)
        )
        return (await self.session.execute(stmt)).all()


class SiteFormRepository(Repository[LeadForm]):
    model = LeadForm

    async def candidates(
        self, *, property_id: uuid.UUID | None, development_id: uuid.UUID | None
    ) -> Sequence[LeadForm]:
        """Active forms tied to this property or development, and the forms tied to no listing, oldest first."""
        unlinked = LeadForm.property_id.is_(None) & LeadForm.development_id.is_(None)
        ties: list[ColumnElement[bool]] = [unlinked]
        if property_id is not None:
            ties.append(LeadForm.property_id == property_id)
        if development_id is not None:
            ties.append(LeadForm.development_id == development_id)
        stmt = self.select().where(LeadForm.is_active.is_(True), or_(*ties))
        return await self.all(stmt.order_by(LeadForm.created_at, LeadForm.id))
