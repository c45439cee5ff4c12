from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from leadflow.auth.dependencies import Manager, Member
from leadflow.customfield import service
from leadflow.customfield.schemas import CustomFieldCreate, CustomFieldRead, CustomFieldUpdate, Entity
from leadflow.kit.schemas import Page
from leadflow.kit.web import DbSession, UnitOfWorkRoute

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute, tags=["custom fields"])


@router.get("/custom-fields", summary="Custom field definitions of the tenant")
async def list_fields(scope: Member, session: DbSession, entity: Entity | None = None) -> Page[CustomFieldRead]:
    fields = await service.list_fields(session, scope, entity=entity)
    return Page(items=[CustomFieldRead.model_validate(f) for f in fields])


@router.post("/custom-fields", status_code=status.HTTP_201_CREATED)
async def create_field(body: CustomFieldCreate, scope: Manager, session: DbSession) -> CustomFieldRead:
    return CustomFieldRead.model_validate(await service.create_field(session, scope, data=body))


@router.patch("/custom-fields/{field_id}")
async def update_field(
    field_id: uuid.UUID, body: CustomFieldUpdate, scope: Manager, session: DbSession
) -> CustomFieldRead:
    return CustomFieldRead.model_validate(await service.update_field(session, scope, field_id=field_id, data=body))


@router.delete("/custom-fields/{field_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_field(field_id: uuid.UUID, scope: Manager, session: DbSession) -> None:
    await service.delete_field(session, scope, field_id=field_id)
