"""Properties (imóveis) and developments (empreendimentos): lists with filters, detail pages with the units'
availability and the leads that fit (the property service's matching), read by every role as in the API."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from leadflow.console.auth import Page
from leadflow.console.web import ConsoleRoute, render
from leadflow.kit.errors import ValidationFailed
from leadflow.kit.web import DbSession
from leadflow.lead import service as leads
from leadflow.lead.schemas import LeadFilters, LeadRead, LeadSort
from leadflow.models import DevelopmentPhase, ListingPurpose, PropertyStatus, PropertyType
from leadflow.property import service as properties
from leadflow.property.schemas import LeadMatch, PropertyFilters, PropertyRead

router = APIRouter(prefix="/app", route_class=ConsoleRoute, include_in_schema=False)
PAGE_SIZE = 50
UNITS_SHOWN = 200
MATCHES_SHOWN = 20
PROPERTY_FILTERS = ("q", "type", "purpose", "status", "city", "neighbourhood", "bedrooms_min")
DEVELOPMENT_FILTERS = ("q", "phase", "city")
# English message ids of the stored values (pt-BR slugs), translated by the console catalog.
LABELS: dict[str, str] = {
    PropertyType.APARTMENT: "Apartment",
    PropertyType.HOUSE: "House",
    PropertyType.CONDO_HOUSE: "House in a condominium",
    PropertyType.PENTHOUSE: "Penthouse",
    PropertyType.STUDIO: "Studio",
    PropertyType.LAND: "Land",
    PropertyType.OFFICE: "Office",
    PropertyType.SHOP: "Shop",
    PropertyType.WAREHOUSE: "Warehouse",
    PropertyType.FARM: "Small farm",
    ListingPurpose.SALE: "For sale",
    ListingPurpose.RENT: "For rent",
    PropertyStatus.AVAILABLE: "Available",
    PropertyStatus.RESERVED: "Reserved",
    PropertyStatus.SOLD: "Sold",
    PropertyStatus.RENTED: "Rented",
    PropertyStatus.INACTIVE: "Inactive",
    DevelopmentPhase.LAUNCH: "Launch",
    DevelopmentPhase.UNDER_CONSTRUCTION: "Under construction",
    DevelopmentPhase.READY: "Ready",
}


def _filters(
    model: type[PropertyFilters], params: Mapping[str, str], keys: tuple[str, ...]
) -> tuple[PropertyFilters, dict[str, str]]:
    sent = {key: value for key in keys if (value := params.get(key, "").strip())}
    try:
        return model.model_validate(sent), sent
    except ValidationError as exc:
        raise ValidationFailed(f"invalid filter: {', '.join(str(e['loc'][0]) for e in exc.errors())}") from exc


async def _lead_names(session: Any, page: Any, matches: list[LeadMatch]) -> dict[uuid.UUID, LeadRead]:
    """The matched leads as the lead list shows them (person's name and contact), in two queries for all."""
    found = await leads.get_leads(session, page.scope, lead_ids=[match.lead.id for match in matches])
    return {read.id: read for read in await leads.read_leads(session, found)}


@router.get("/imoveis")
async def list_properties(request: Request, page: Page, session: DbSession, cursor: str | None = None) -> Response:
    filters, sent = _filters(PropertyFilters, request.query_params, PROPERTY_FILTERS)
    rows, next_cursor = await properties.list_properties(
        session, page.scope, filters=filters, cursor=cursor, limit=PAGE_SIZE
    )
    return render(
        request,
        "imoveis.html",
        page=page,
        nav="imoveis",
        properties=[PropertyRead.model_validate(row) for row in rows],
        sent=sent,
        next_cursor=next_cursor,
        labels=LABELS,
        types=list(PropertyType),
        purposes=list(ListingPurpose),
        statuses=list(PropertyStatus),
    )


@router.get("/imoveis/{property_id}")
async def property_page(property_id: uuid.UUID, request: Request, page: Page, session: DbSession) -> Response:
    prop = PropertyRead.model_validate(await properties.get_property(session, page.scope, property_id=property_id))
    development = (
        await properties.get_development(session, page.scope, development_id=prop.development_id)
        if prop.development_id
        else None
    )
    matches = await properties.match_leads_for_property(
        session, page.scope, property_id=property_id, limit=MATCHES_SHOWN
    )
    return render(
        request,
        "imovel.html",
        page=page,
        nav="imoveis",
        prop=prop,
        development=development,
        matches=matches,
        matched=await _lead_names(session, page, matches),
        labels=LABELS,
    )


@router.get("/empreendimentos")
async def list_developments(request: Request, page: Page, session: DbSession, cursor: str | None = None) -> Response:
    sent = {key: value for key in DEVELOPMENT_FILTERS if (value := request.query_params.get(key, "").strip())}
    try:
        phase = DevelopmentPhase(sent["phase"]) if "phase" in sent else None
    except ValueError as exc:
        raise ValidationFailed("invalid filter: phase") from exc
    rows, next_cursor = await properties.list_developments(
        session, page.scope, phase=phase, city=sent.get("city"), q=sent.get("q"), cursor=cursor, limit=PAGE_SIZE
    )
    return render(
        request,
        "empreendimentos.html",
        page=page,
        nav="empreendimentos",
        developments=rows,
        sent=sent,
        next_cursor=next_cursor,
        labels=LABELS,
        phases=list(DevelopmentPhase),
    )


@router.get("/empreendimentos/{development_id}")
async def development_page(
    development_id: uuid.UUID, request: Request, page: Page, session: DbSession, status: str = ""
) -> Response:
    development = await properties.get_development(session, page.scope, development_id=development_id)
    try:
        wanted = PropertyStatus(status) if status else None
    except ValueError as exc:
        raise ValidationFailed("invalid filter: status") from exc
    units, more_units = await properties.list_units(
        session, page.scope, development_id=development_id, status=wanted, limit=UNITS_SHOWN
    )
    interested, _ = await leads.list_leads(
        session,
        page.scope,
        filters=LeadFilters(development_id=development_id),
        sort=LeadSort.CREATED_DESC,
        cursor=None,
        limit=PAGE_SIZE,
    )
    return render(
        request,
        "empreendimento.html",
        page=page,
        nav="empreendimentos",
        development=development,
        units=units,
        more_units=more_units is not None,
        unit_status=wanted,
        statuses=list(PropertyStatus),
        interested=interested,
        labels=LABELS,
    )
