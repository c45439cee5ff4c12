from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import literal

from leadflow.kit.errors import BadRequest
from leadflow.kit.pagination import MAX_LIMIT, decode_cursor, encode_cursor
from leadflow.kit.repository import Repository
from leadflow.models import (
    Development,
    DevelopmentPhase,
    Lead,
    LeadInterest,
    LeadStatus,
    Person,
    Property,
    PropertyStatus,
    User,
)
from leadflow.models.property import place_key
from leadflow.property.matching import PURPOSE_OF_INTEREST, SearchProfile
from leadflow.property.schemas import PropertyFilters, PropertySort

# Unpriced listings ("sob consulta") sort last both ways.
NO_PRICE_LAST_ASC = 2**62
NO_PRICE_LAST_DESC = -1
LIKE_ESCAPE = "\\"


def _escape_like(text: str) -> str:
    return text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")


def _contains(text: str) -> str:
    return f"%{_escape_like(text)}%"


def _check_cursor(cursor: str | None, expected: type) -> None:
    # A cursor of another sort would compare, say, a number with a timestamp: refuse it as a bad request.
    if cursor:
        value = decode_cursor(cursor)[0]
        if not isinstance(value, expected) or isinstance(value, bool):
            raise BadRequest("invalid cursor for this sort")


def _area() -> ColumnElement[Any]:
    return func.coalesce(Property.private_area, Property.total_area)


class PropertyRepository(Repository[Property]):
    model = Property

    async def by_reference(self, reference: str, *, include_deleted: bool = False) -> Property | None:
        stmt = select(Property).where(Property.reference == reference)
        stmt = stmt.execution_options(include_deleted=include_deleted)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def filtered(self, filters: PropertyFilters) -> Select[Any]:
        stmt = self.select().where(*self._equalities(filters), *self._ranges(filters))
        if filters.city:
            stmt = stmt.where(Property.city_key == place_key(filters.city))
        if filters.neighbourhood:
            stmt = stmt.where(Property.neighbourhood_key == place_key(filters.neighbourhood))
        if filters.q:
            like = _contains(filters.q.strip())
            columns = (Property.reference, Property.title, Property.street, Property.neighbourhood)
            stmt = stmt.where(or_(*(c.ilike(like, escape=LIKE_ESCAPE) for c in columns)))
        return stmt

    @staticmethod
    def _equalities(filters: PropertyFilters) -> list[ColumnElement[bool]]:
        pairs = (
            (Property.type, filters.type),
            (Property.purpose, filters.purpose),
            (Property.status, filters.status),
            (Property.uf, filters.uf),
            (Property.development_id, filters.development_id),
            (Property.listing_broker_id, filters.listing_broker_id),
        )
        return [column == value for column, value in pairs if value is not None]

    @staticmethod
    def _ranges(filters: PropertyFilters) -> list[ColumnElement[bool]]:
        bounds: list[tuple[Any, Any, bool]] = [
            (Property.price_cents, filters.price_min, True),
            (Property.price_cents, filters.price_max, False),
            (Property.bedrooms, filters.bedrooms_min, True),
            (Property.suites, filters.suites_min, True),
            (Property.parking, filters.parking_min, True),
            (_area(), filters.area_min, True),
            (_area(), filters.area_max, False),
        ]
        return [column >= value if lower else column <= value for column, value, lower in bounds if value is not None]

    async def sorted_page(
        self, stmt: Select[Any], *, sort: PropertySort, cursor: str | None, limit: int
    ) -> tuple[list[Property], str | None]:
        if sort.lstrip("-") == "created_at":
            return await self.page(stmt, cursor=cursor, limit=limit, descending=sort.startswith("-"))
        return await self._page_by_price(stmt, descending=sort.startswith("-"), cursor=cursor, limit=limit)

    async def page(
        self,
        stmt: Select[Any],
        *,
        cursor: str | None,
        limit: int,
        sort: str = "created_at",
        descending: bool = True,
    ) -> tuple[list[Property], str | None]:
        _check_cursor(cursor, datetime if sort == "created_at" else str)
        return await super().page(stmt, cursor=cursor, limit=limit, sort=sort, descending=descending)

    async def _page_by_price(
        self, stmt: Select[Any], *, descending: bool, cursor: str | None, limit: int
    ) -> tuple[list[Property], str | None]:
        missing = NO_PRICE_LAST_DESC if descending else NO_PRICE_LAST_ASC
        price = func.coalesce(Property.price_cents, literal(missing))
        if cursor:
            _check_cursor(cursor, int)
            value, last_id = decode_cursor(cursor)
            after = (price < value, Property.id < last_id) if descending else (price > value, Property.id > last_id)
            stmt = stmt.where(or_(after[0], and_(price == value, after[1])))
        order = (price.desc(), Property.id.desc()) if descending else (price.asc(), Property.id.asc())
        size = min(max(limit, 1), MAX_LIMIT)
        rows = list(await self.all(stmt.order_by(*order).limit(size + 1)))
        if len(rows) <= size:
            return rows, None
        last = rows[size - 1]
        key = last.price_cents if last.price_cents is not None else missing
        return rows[:size], encode_cursor(key, last.id)

    def units_of(self, development_id: uuid.UUID, *, tower: str | None, status: PropertyStatus | None) -> Select[Any]:
        stmt = self.select().where(Property.development_id == development_id)
        if tower is not None:
            stmt = stmt.where(Property.tower == tower)
        if status is not None:
            stmt = stmt.where(Property.status == status)
        return stmt

    async def availability_rows(self, development_ids: Sequence[uuid.UUID]) -> Sequence[Any]:
        """Units per (development, tower, status) with the price range, for a page of developments in one query."""
        if not development_ids:
            return []
        stmt = (
            select(
                Property.development_id,
                Property.tower,
                Property.status,
                func.count(Property.id),
                func.min(Property.price_cents),
                func.max(Property.price_cents),
            )
            .where(Property.development_id.in_(development_ids))
            .group_by(Property.development_id, Property.tower, Property.status)
        )
        return (await self.session.execute(stmt)).all()

    async def by_ids(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, Property]:
        if not ids:
            return {}
        return {p.id: p for p in await self.all(self.select().where(Property.id.in_(ids)))}

    async def match_candidates(self, profile: SearchProfile, *, limit: int) -> Sequence[Property]:
        """Available properties passing the hard criteria, newest first: status and purpose through
        ix_properties_search, the city through ix_properties_place (its folded key)."""
        stmt = self.select().where(Property.status == PropertyStatus.AVAILABLE)
        ties = self._ties(profile)
        if profile.purpose is not None:
            stmt = stmt.where(or_(Property.purpose == profile.purpose, *ties))
        if profile.cities:
            cities = sorted({key for c in profile.cities if (key := place_key(c))})
            stmt = stmt.where(or_(Property.city_key.in_(cities), *ties))
        return await self.all(stmt.order_by(Property.created_at.desc(), Property.id.desc()).limit(limit))

    @staticmethod
    def _ties(profile: SearchProfile) -> list[ColumnElement[bool]]:
        ties: list[ColumnElement[bool]] = []
        if profile.property_id is not None:
            ties.append(Property.id == profile.property_id)
        if profile.development_id is not None:
            ties.append(Property.development_id == profile.development_id)
        return ties

    async def user(self, user_id: uuid.UUID) -> User | None:
        return (await self.session.execute(select(User).where(User.id == user_id))).scalar_one_or_none()

    async def person(self, person_id: uuid.UUID) -> Person | None:
        return (await self.session.execute(select(Person).where(Person.id == person_id))).scalar_one_or_none()


class DevelopmentRepository(Repository[Development]):
    model = Development

    async def slugs_starting_with(self, base: str) -> set[str]:
        """Slugs taken by this tenant, deleted developments included (their links may be restored)."""
        stmt = select(Development.slug).where(Development.slug.like(f"{_escape_like(base)}%", escape=LIKE_ESCAPE))
        result = await self.session.execute(stmt.execution_options(include_deleted=True))
        return set(result.scalars().all())

    async def slug_taken(self, slug: str) -> bool:
        stmt = select(Development.id).where(Development.slug == slug).execution_options(include_deleted=True)
        return (await self.session.execute(stmt)).first() is not None

    def filtered(self, *, phase: DevelopmentPhase | None, city: str | None, q: str | None) -> Select[Any]:
        stmt = self.select()
        if phase is not None:
            stmt = stmt.where(Development.phase == phase)
        if city:
            stmt = stmt.where(Development.city_key == place_key(city))
        if q:
            stmt = stmt.where(Development.name.ilike(_contains(q.strip()), escape=LIKE_ESCAPE))
        return stmt

    async def by_ids(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, Development]:
        if not ids:
            return {}
        return {d.id: d for d in await self.all(self.select().where(Development.id.in_(ids)))}


class LeadMatchRepository:
    """Leads and their interests, read through the scoped session: the lead visibility rule (a broker sees their
    own leads) applies here as everywhere, so a lead the caller cannot see is never matched."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lead(self, lead_id: uuid.UUID) -> Lead | None:
        return (await self.session.execute(select(Lead).where(Lead.id == lead_id))).scalar_one_or_none()

    async def interest(self, lead_id: uuid.UUID) -> LeadInterest | None:
        stmt = select(LeadInterest).where(LeadInterest.lead_id == lead_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def open_leads_for(self, prop: Property, *, limit: int) -> list[tuple[Lead, LeadInterest | None]]:
        """Open leads with an interest of a compatible purpose, or tied to this property or its development."""
        purposes = [p for p, listing in PURPOSE_OF_INTEREST.items() if listing == prop.purpose]
        interested = and_(
            LeadInterest.id.is_not(None), or_(LeadInterest.purpose.is_(None), LeadInterest.purpose.in_(purposes))
        )
        tied = [Lead.property_id == prop.id]
        if prop.development_id is not None:
            tied.append(Lead.development_id == prop.development_id)
        stmt = (
            select(Lead, LeadInterest)
            .outerjoin(LeadInterest, LeadInterest.lead_id == Lead.id)
            .where(Lead.status == LeadStatus.OPEN, or_(interested, *tied))
            .order_by(Lead.created_at.desc(), Lead.id.desc())
            .limit(limit)
        )
        return [(lead, interest) for lead, interest in (await self.session.execute(stmt)).all()]
