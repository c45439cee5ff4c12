"""Properties (imóveis), developments (empreendimentos) with their units, and matching leads with properties."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.customfield.service import validate_custom_fields
from leadflow.kit.errors import Conflict, NotFound, ValidationFailed, wording
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import Development, DevelopmentPhase, Lead, LeadInterest, Property, PropertyStatus
from leadflow.property.matching import Scored, SearchProfile, build_profile, passes_hard_criteria, score
from leadflow.property.repository import DevelopmentRepository, LeadMatchRepository, PropertyRepository
from leadflow.property.schemas import (
    Availability,
    DevelopmentCreate,
    DevelopmentRead,
    DevelopmentUpdate,
    LeadMatch,
    LeadSummary,
    MatchReason,
    PriceRange,
    PropertyCreate,
    PropertyFilters,
    PropertyMatch,
    PropertySort,
    PropertySummary,
    PropertyUpdate,
    TowerAvailability,
    UnitCreate,
    normalize_reference,
)

# Matching scores at most this many candidates that pass the hard criteria (newest first).
MATCH_CANDIDATES = 2000
ADDRESS_FIELDS = ("cep", "street", "number", "neighbourhood", "city", "uf", "latitude", "longitude")
PROPERTY_NOT_NULL = frozenset({"reference", "type", "purpose", "status", "features", "photos", "custom_fields"})
DEVELOPMENT_NOT_NULL = frozenset({"name", "slug", "phase", "towers", "photos", "features"})
SLUG_MAX = 110  # leaves room for a "-NN" suffix within the 120-character column


class PropertyNotFound(NotFound):
    code = "property-not-found"
    title = "Property not found"


class DevelopmentNotFound(NotFound):
    code = "development-not-found"
    title = "Development not found"


class LeadNotFound(NotFound):
    code = "lead-not-found"
    title = "Lead not found"


class ReferencedRowNotFound(NotFound):
    """An id in the body names nothing this tenant has (or another tenant's row): 404 naming the field."""

    code = "referenced-row-not-found"
    title = "Referenced row not found"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[{"field": field, "message": message}])


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", errors=[{"field": field, "message": message}])


def _column_values(data: BaseModel, *, exclude_unset: bool = False) -> dict[str, Any]:
    values = data.model_dump(exclude_unset=exclude_unset)
    if values.get("photos") is not None:
        values["photos"] = [str(url) for url in values["photos"]]
    return values


def _refuse_nulls(changes: dict[str, Any], not_null: frozenset[str]) -> None:
    nulls = sorted(name for name, value in changes.items() if value is None and name in not_null)
    if nulls:
        raise ValidationFailed(
            f"{', '.join(nulls)} cannot be null", errors=[{"field": n, "message": "cannot be null"} for n in nulls]
        )


# Properties


async def create_property(session: AsyncSession, scope: Scope, *, data: PropertyCreate) -> Property:
    """Create a listing. With ``development_id`` it is a unit: empty address fields come from the development.

    Raises Conflict (409) on a reference already used in the tenant, ReferencedRowNotFound (404 naming the field)
    for a broker, owner or development the tenant does not have, ValidationFailed (422) otherwise.
    """
    return await _create_property(session, scope, values=_column_values(data))


async def _create_property(session: AsyncSession, scope: Scope, *, values: dict[str, Any]) -> Property:
    repo = PropertyRepository(session)
    development = await _check_references(session, values)
    if development is not None:
        _inherit_address(values, development)
    values["custom_fields"] = await validate_custom_fields(
        session, scope, entity="property", values=values["custom_fields"]
    )
    await _ensure_reference_free(repo, values["reference"])
    prop = Property(**values)
    _check_consistency(prop, development)
    repo.add(prop)
    await _flush_reference(session, prop.reference)
    return prop


async def get_property(session: AsyncSession, scope: Scope, *, property_id: uuid.UUID) -> Property:
    """The property, or PropertyNotFound (404) if the tenant has none by that id (or it is deleted)."""
    return await PropertyRepository(session).get_or_raise(property_id, error=PropertyNotFound)


async def find_property_by_reference(session: AsyncSession, scope: Scope, *, reference: str) -> Property | None:
    """The tenant's live property with this reference code (compared upper-case), or None."""
    return await PropertyRepository(session).by_reference(normalize_reference(reference))


async def listing_broker_of(session: AsyncSession, scope: Scope, *, property_id: uuid.UUID | None) -> uuid.UUID | None:
    """The broker who took the listing (captador): the roleta gives them leads for their own property first."""
    if property_id is None:
        return None
    prop = await PropertyRepository(session).get(property_id)
    return prop.listing_broker_id if prop is not None else None


async def list_properties(
    session: AsyncSession,
    scope: Scope,
    *,
    filters: PropertyFilters,
    sort: PropertySort = "-created_at",
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Property], str | None]:
    repo = PropertyRepository(session)
    return await repo.sorted_page(repo.filtered(filters), sort=sort, cursor=cursor, limit=limit)


async def update_property(
    session: AsyncSession, scope: Scope, *, property_id: uuid.UUID, data: PropertyUpdate
) -> Property:
    """Change the fields sent; ``custom_fields`` merge into the current ones (a null value removes a key)."""
    prop = await get_property(session, scope, property_id=property_id)
    changes = _column_values(data, exclude_unset=True)
    _refuse_nulls(changes, PROPERTY_NOT_NULL)
    await _check_references(session, changes)
    if changes.get("reference", prop.reference) != prop.reference:
        await _ensure_reference_free(PropertyRepository(session), changes["reference"])
    if "custom_fields" in changes:
        merged = {**prop.custom_fields, **changes["custom_fields"]}
        values = {key: value for key, value in merged.items() if value is not None}
        changes["custom_fields"] = await validate_custom_fields(session, scope, entity="property", values=values)
    for name, value in changes.items():
        setattr(prop, name, value)
    _check_consistency(prop, await _development_of(session, prop))
    await _flush_reference(session, prop.reference)
    return prop


async def delete_property(session: AsyncSession, scope: Scope, *, property_id: uuid.UUID) -> None:
    (await get_property(session, scope, property_id=property_id)).deleted_at = utcnow()


async def restore_property(session: AsyncSession, scope: Scope, *, property_id: uuid.UUID) -> Property:
    prop = await PropertyRepository(session).get(property_id, include_deleted=True)
    if prop is None:
        raise PropertyNotFound(f"property {property_id} not found")
    prop.deleted_at = None
    return prop


async def _check_references(session: AsyncSession, values: dict[str, Any]) -> Development | None:
    """Check the ids a body names exist in this tenant; returns the development when one is named."""
    repo = PropertyRepository(session)
    if (user_id := values.get("listing_broker_id")) is not None:
        broker = await repo.user(user_id)
        if broker is None:
            raise ReferencedRowNotFound("listing_broker_id", "no such user in this tenant")
        if not broker.is_active:
            raise _invalid("listing_broker_id", "the user is inactive")
    if (person_id := values.get("owner_person_id")) is not None and await repo.person(person_id) is None:
        raise ReferencedRowNotFound("owner_person_id", "no such person in this tenant")
    if (development_id := values.get("development_id")) is None:
        return None
    development = await DevelopmentRepository(session).get(development_id)
    if development is None:
        raise ReferencedRowNotFound("development_id", "no such development in this tenant")
    return development


def _inherit_address(values: dict[str, Any], development: Development) -> None:
    for name in ADDRESS_FIELDS:
        if values.get(name) is None:
            values[name] = getattr(development, name)


async def _development_of(session: AsyncSession, prop: Property) -> Development | None:
    if prop.development_id is None:
        return None
    return await DevelopmentRepository(session).get(prop.development_id)


def _check_consistency(prop: Property, development: Development | None) -> None:
    if prop.suites is not None and prop.bedrooms is not None and prop.suites > prop.bedrooms:
        raise _invalid("suites", "cannot exceed the number of bedrooms")
    if prop.private_area is not None and prop.total_area is not None and prop.private_area > prop.total_area:
        raise _invalid("private_area", "cannot exceed the total area")
    if (prop.latitude is None) != (prop.longitude is None):
        raise _invalid("latitude" if prop.latitude is None else "longitude", "latitude and longitude go together")
    if development is not None and development.towers and prop.tower and prop.tower not in development.towers:
        raise _invalid("tower", f"the development's towers are: {', '.join(development.towers)}")


async def _ensure_reference_free(repo: PropertyRepository, reference: str) -> None:
    existing = await repo.by_reference(reference, include_deleted=True)
    if existing is None:
        return
    taken = (
        wording("a deleted property has reference %(reference)s: restore it instead", reference=reference)
        if existing.deleted_at
        else wording("a property with reference %(reference)s already exists", reference=reference)
    )
    raise Conflict(
        taken,
        errors=[{"field": "reference", "message": "already used in this tenant"}],
    )


async def _flush_reference(session: AsyncSession, reference: str) -> None:
    # Two requests racing for one reference: the unique constraint decides, and the loser gets the same 409.
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            wording("a property with reference %(reference)s already exists", reference=reference),
            errors=[{"field": "reference", "message": "already used in this tenant"}],
        ) from exc


# Developments


def slugify(name: str) -> str:
    """'Residencial Jardim das Acácias' -> 'residencial-jardim-das-acacias'."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:SLUG_MAX].strip("-")
    return slug or "empreendimento"


async def _free_slug(repo: DevelopmentRepository, base: str) -> str:
    taken = await repo.slugs_starting_with(base)
    if base not in taken:
        return base
    return next(f"{base}-{n}" for n in range(2, len(taken) + 3) if f"{base}-{n}" not in taken)


async def _claim_slug(repo: DevelopmentRepository, slug: str) -> str:
    if await repo.slug_taken(slug):
        raise Conflict(
            wording("the address %(slug)s is already used", slug=slug),
            errors=[{"field": "slug", "message": "already used in this tenant"}],
        )
    return slug


async def create_development(session: AsyncSession, scope: Scope, *, data: DevelopmentCreate) -> DevelopmentRead:
    repo = DevelopmentRepository(session)
    values = _column_values(data)
    values["slug"] = await (_claim_slug(repo, data.slug) if data.slug else _free_slug(repo, slugify(data.name)))
    development = repo.add(Development(**values))
    await session.flush()
    return (await _development_reads(session, [development]))[0]


async def list_developments(
    session: AsyncSession,
    scope: Scope,
    *,
    phase: DevelopmentPhase | None = None,
    city: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[DevelopmentRead], str | None]:
    repo = DevelopmentRepository(session)
    rows, next_cursor = await repo.page(repo.filtered(phase=phase, city=city, q=q), cursor=cursor, limit=limit)
    return await _development_reads(session, rows), next_cursor


async def get_development(session: AsyncSession, scope: Scope, *, development_id: uuid.UUID) -> DevelopmentRead:
    return (await _development_reads(session, [await _development(session, development_id)]))[0]


async def update_development(
    session: AsyncSession, scope: Scope, *, development_id: uuid.UUID, data: DevelopmentUpdate
) -> DevelopmentRead:
    development = await _development(session, development_id)
    changes = _column_values(data, exclude_unset=True)
    _refuse_nulls(changes, DEVELOPMENT_NOT_NULL)
    if changes.get("slug", development.slug) != development.slug:
        await _claim_slug(DevelopmentRepository(session), changes["slug"])
    for name, value in changes.items():
        setattr(development, name, value)
    await session.flush()
    return (await _development_reads(session, [development]))[0]


async def delete_development(session: AsyncSession, scope: Scope, *, development_id: uuid.UUID) -> None:
    """Soft delete; its units stay as properties (still linked, so a restore brings the whole development back)."""
    (await _development(session, development_id)).deleted_at = utcnow()


async def restore_development(session: AsyncSession, scope: Scope, *, development_id: uuid.UUID) -> DevelopmentRead:
    development = await _development(session, development_id, include_deleted=True)
    development.deleted_at = None
    await session.flush()
    return (await _development_reads(session, [development]))[0]


async def _development(
    session: AsyncSession, development_id: uuid.UUID, *, include_deleted: bool = False
) -> Development:
    return await DevelopmentRepository(session).get_or_raise(
        development_id, include_deleted=include_deleted, error=DevelopmentNotFound
    )


async def list_units(
    session: AsyncSession,
    scope: Scope,
    *,
    development_id: uuid.UUID,
    tower: str | None = None,
    status: PropertyStatus | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Property], str | None]:
    """Units of a development by reference (A-101, A-102, …)."""
    await _development(session, development_id)
    repo = PropertyRepository(session)
    stmt = repo.units_of(development_id, tower=tower, status=status)
    return await repo.page(stmt, cursor=cursor, limit=limit, sort="reference", descending=False)


async def create_unit(session: AsyncSession, scope: Scope, *, development_id: uuid.UUID, data: UnitCreate) -> Property:
    """A property linked to the development, with the development's address where the body leaves it empty."""
    await _development(session, development_id)
    values = {**_column_values(data), "development_id": development_id}
    return await _create_property(session, scope, values=values)


async def _development_reads(session: AsyncSession, developments: Sequence[Development]) -> list[DevelopmentRead]:
    """Read models with their availability, counted in one GROUP BY query for the whole page."""
    rows = await PropertyRepository(session).availability_rows([d.id for d in developments])
    summaries = {d.id: _empty_availability(d) for d in developments}
    for development_id, tower, status, count, low, high in rows:
        _count_units(summaries[development_id], tower, status, count, low, high)
    return [
        DevelopmentRead.model_validate(d).model_copy(update={"availability": summaries[d.id]}) for d in developments
    ]


def _empty_availability(development: Development) -> Availability:
    return Availability(by_tower={t: TowerAvailability(total=0, available=0) for t in development.towers})


def _count_units(
    summary: Availability, tower: str | None, status: PropertyStatus, count: int, low: int | None, high: int | None
) -> None:
    available = status is PropertyStatus.AVAILABLE
    summary.total += count
    summary.by_status[status] += count
    if tower is not None:
        per_tower = summary.by_tower.setdefault(tower, TowerAvailability(total=0, available=0))
        per_tower.total += count
        per_tower.available += count if available else 0
    if available and low is not None and high is not None:
        known = summary.available_price_range
        summary.available_price_range = PriceRange(
            min_cents=min(low, known.min_cents) if known else low,
            max_cents=max(high, known.max_cents) if known else high,
        )


# Matching


async def match_properties_for_lead(
    session: AsyncSession, scope: Scope, *, lead_id: uuid.UUID, limit: int = 20, min_score: int = 0
) -> list[PropertyMatch]:
    """Available properties ranked by how well they fit the lead's interest, with the reasons.

    Purpose and city (when the lead names any) filter in SQL; the property or development the lead asked about
    always qualifies. A lead the caller may not see is LeadNotFound (404).
    """
    leads = LeadMatchRepository(session)
    lead = await leads.lead(lead_id)
    if lead is None:
        raise LeadNotFound(f"lead {lead_id} not found")
    profile = await _profile_of(session, lead, await leads.interest(lead.id))
    if profile.is_empty:
        return []
    candidates = await PropertyRepository(session).match_candidates(profile, limit=MATCH_CANDIDATES)
    scored = [(score(profile, p), p) for p in candidates if passes_hard_criteria(profile, p)]
    kept = sorted((pair for pair in scored if pair[0].score >= min_score), key=lambda pair: _rank_key(*pair))
    return [
        PropertyMatch(property=PropertySummary.model_validate(p), score=s.score, reasons=_reasons(s))
        for s, p in kept[:limit]
    ]


async def match_leads_for_property(
    session: AsyncSession, scope: Scope, *, property_id: uuid.UUID, limit: int = 20, min_score: int = 0
) -> list[LeadMatch]:
    """Open leads (that the caller may see) whose interest the property fits, best first, with the reasons."""
    prop = await get_property(session, scope, property_id=property_id)
    pairs = await LeadMatchRepository(session).open_leads_for(prop, limit=MATCH_CANDIDATES)
    asked_properties = await PropertyRepository(session).by_ids({ld.property_id for ld, _ in pairs if ld.property_id})
    asked_developments = await DevelopmentRepository(session).by_ids(
        {ld.development_id for ld, _ in pairs if ld.development_id}
    )
    scored: list[tuple[Scored, Lead]] = []
    for lead, interest in pairs:
        profile = build_profile(
            lead,
            interest,
            asked_property=asked_properties.get(lead.property_id) if lead.property_id else None,
            asked_development=asked_developments.get(lead.development_id) if lead.development_id else None,
        )
        if not profile.is_empty and passes_hard_criteria(profile, prop):
            scored.append((score(profile, prop), lead))
    kept = sorted((pair for pair in scored if pair[0].score >= min_score), key=lambda pair: _rank_key(*pair))
    return [
        LeadMatch(lead=LeadSummary.model_validate(lead), score=s.score, reasons=_reasons(s)) for s, lead in kept[:limit]
    ]


async def _profile_of(session: AsyncSession, lead: Lead, interest: LeadInterest | None) -> SearchProfile:
    asked_property = await PropertyRepository(session).get(lead.property_id) if lead.property_id else None
    asked_development = await DevelopmentRepository(session).get(lead.development_id) if lead.development_id else None
    return build_profile(lead, interest, asked_property=asked_property, asked_development=asked_development)


def _rank_key(scored: Scored, row: Property | Lead) -> tuple[int, float, str]:
    # Best first; between equals, the newest listing or lead.
    return (-scored.score, -row.created_at.timestamp(), str(row.id))


def _reasons(scored: Scored) -> list[MatchReason]:
    return [
        MatchReason(criterion=r.criterion, matched=r.matched, detail=r.detail, points=r.points, max_points=r.max_points)
        for r in scored.reasons
    ]
