from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from leadflow.auth.dependencies import Manager, Member
from leadflow.kit.schemas import Page
from leadflow.kit.web import DbSession, UnitOfWorkRoute
from leadflow.models import DevelopmentPhase, Property, PropertyStatus
from leadflow.property import service
from leadflow.property.auth import PropertiesWrite
from leadflow.property.schemas import (
    DevelopmentCreate,
    DevelopmentRead,
    DevelopmentUpdate,
    LeadMatch,
    PropertyCreate,
    PropertyFilters,
    PropertyMatch,
    PropertyRead,
    PropertySort,
    PropertyUpdate,
    UnitCreate,
)

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute)
Limit = Annotated[int, Query(ge=1, le=200)]
MatchLimit = Annotated[int, Query(ge=1, le=100, description="How many matches, best first")]
MinScore = Annotated[int, Query(ge=0, le=100, description="Leave out matches scoring below this")]


def _page(rows: list[Property], next_cursor: str | None) -> Page[PropertyRead]:
    return Page(items=[PropertyRead.model_validate(p) for p in rows], next_cursor=next_cursor)


@router.get("/properties", tags=["properties"], summary="Properties (imóveis) of the tenant")
async def list_properties(
    scope: Member,
    session: DbSession,
    filters: Annotated[PropertyFilters, Query()],
    sort: Annotated[PropertySort, Query(description="A leading '-' sorts descending")] = "-created_at",
    cursor: str | None = None,
    limit: Limit = 50,
) -> Page[PropertyRead]:
    rows, next_cursor = await service.list_properties(
        session, scope, filters=filters, sort=sort, cursor=cursor, limit=limit
    )
    return _page(rows, next_cursor)


@router.post("/properties", tags=["properties"], status_code=status.HTTP_201_CREATED)
async def create_property(body: PropertyCreate, scope: PropertiesWrite, session: DbSession) -> PropertyRead:
    return PropertyRead.model_validate(await service.create_property(session, scope, data=body))


@router.get("/properties/{property_id}", tags=["properties"])
async def get_property(property_id: uuid.UUID, scope: Member, session: DbSession) -> PropertyRead:
    return PropertyRead.model_validate(await service.get_property(session, scope, property_id=property_id))


@router.patch("/properties/{property_id}", tags=["properties"])
async def update_property(
    property_id: uuid.UUID, body: PropertyUpdate, scope: PropertiesWrite, session: DbSession
) -> PropertyRead:
    prop = await service.update_property(session, scope, property_id=property_id, data=body)
    return PropertyRead.model_validate(prop)


@router.delete(
    "/properties/{property_id}", tags=["properties"], status_code=status.HTTP_204_NO_CONTENT, summary="Soft delete"
)
async def delete_property(property_id: uuid.UUID, scope: Manager, session: DbSession) -> None:
    await service.delete_property(session, scope, property_id=property_id)


@router.post("/properties/{property_id}/restore", tags=["properties"])
async def restore_property(property_id: uuid.UUID, scope: Manager, session: DbSession) -> PropertyRead:
    return PropertyRead.model_validate(await service.restore_property(session, scope, property_id=property_id))


@router.get(
    "/properties/{property_id}/matches", tags=["matching"], summary="Open leads whose interest this property fits"
)
async def match_leads(
    property_id: uuid.UUID, scope: Member, session: DbSession, limit: MatchLimit = 20, min_score: MinScore = 0
) -> Page[LeadMatch]:
    items = await service.match_leads_for_property(
        session, scope, property_id=property_id, limit=limit, min_score=min_score
    )
    return Page(items=items)


@router.get("/leads/{lead_id}/matches", tags=["matching"], summary="Available properties that fit the lead")
async def match_properties(
    lead_id: uuid.UUID, scope: Member, session: DbSession, limit: MatchLimit = 20, min_score: MinScore = 0
) -> Page[PropertyMatch]:
    items = await service.match_properties_for_lead(session, scope, lead_id=lead_id, limit=limit, min_score=min_score)
    return Page(items=items)


@router.get("/developments", tags=["developments"], summary="Developments (empreendimentos) with availability")
async def list_developments(
    scope: Member,
    session: DbSession,
    phase: DevelopmentPhase | None = None,
    city: Annotated[str | None, Query(max_length=120)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Name contains")] = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Page[DevelopmentRead]:
    items, next_cursor = await service.list_developments(
        session, scope, phase=phase, city=city, q=q, cursor=cursor, limit=limit
    )
    return Page(items=items, next_cursor=next_cursor)


@router.post("/developments", tags=["developments"], status_code=status.HTTP_201_CREATED)
async def create_development(body: DevelopmentCreate, scope: PropertiesWrite, session: DbSession) -> DevelopmentRead:
    return await service.create_development(session, scope, data=body)


@router.get("/developments/{development_id}", tags=["developments"])
async def get_development(development_id: uuid.UUID, scope: Member, session: DbSession) -> DevelopmentRead:
    return await service.get_development(session, scope, development_id=development_id)


@router.patch("/developments/{development_id}", tags=["developments"])
async def update_development(
    development_id: uuid.UUID, body: DevelopmentUpdate, scope: PropertiesWrite, session: DbSession
) -> DevelopmentRead:
    return await service.update_development(session, scope, development_id=development_id, data=body)


@router.delete(
    "/developments/{development_id}",
    tags=["developments"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Soft delete (units stay)",
)
async def delete_development(development_id: uuid.UUID, scope: Manager, session: DbSession) -> None:
    await service.delete_development(session, scope, development_id=development_id)


@router.post("/developments/{development_id}/restore", tags=["developments"])
async def restore_development(development_id: uuid.UUID, scope: Manager, session: DbSession) -> DevelopmentRead:
    return await service.restore_development(session, scope, development_id=development_id)


@router.get("/developments/{development_id}/units", tags=["developments"], summary="Units, by reference")
async def list_units(
    development_id: uuid.UUID,
    scope: Member,
    session: DbSession,
    tower: Annotated[str | None, Query(max_length=60)] = None,
    status: PropertyStatus | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Page[PropertyRead]:
    rows, next_cursor = await service.list_units(
        session, scope, development_id=development_id, tower=tower, status=status, cursor=cursor, limit=limit
    )
    return _page(rows, next_cursor)


@router.post("/developments/{development_id}/units", tags=["developments"], status_code=status.HTTP_201_CREATED)
async def create_unit(
    development_id: uuid.UUID, body: UnitCreate, scope: PropertiesWrite, session: DbSession
) -> PropertyRead:
    prop = await service.create_unit(session, scope, development_id=development_id, data=body)
    return PropertyRead.model_validate(prop)
