from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from leadflow.auth.dependencies import Manager, Member
from leadflow.kit.schemas import Page
from leadflow.kit.web import DbSession, UnitOfWorkRoute
from leadflow.person import service
from leadflow.person.auth import PeopleWrite
from leadflow.person.schemas import (
    ConsentCreate,
    ConsentRead,
    DuplicateRead,
    MergeCreate,
    MergeRead,
    PersonCreate,
    PersonFilters,
    PersonRead,
    PersonUpdate,
)

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute)
Limit = Annotated[int, Query(ge=1, le=200)]


@router.get("/people", tags=["people"], summary="People (clientes/contatos) of the tenant")
async def list_people(
    scope: Member,
    session: DbSession,
    filters: Annotated[PersonFilters, Query()],
    cursor: str | None = None,
    limit: Limit = 50,
) -> Page[PersonRead]:
    people, next_cursor = await service.list_people(session, scope, filters=filters, cursor=cursor, limit=limit)
    return Page(items=people, next_cursor=next_cursor)


@router.post("/people", tags=["people"], status_code=status.HTTP_201_CREATED)
async def create_person(body: PersonCreate, scope: PeopleWrite, session: DbSession) -> PersonRead:
    return await service.read_person(session, await service.create_person(session, scope, data=body))


@router.post("/people/merges/{merge_id}/undo", tags=["people"], summary="Undo a merge")
async def undo_merge(merge_id: uuid.UUID, scope: Manager, session: DbSession) -> MergeRead:
    return MergeRead.of(await service.undo_merge(session, scope, merge_id=merge_id))


@router.get("/people/merges/{merge_id}", tags=["people"], summary="A merge record")
async def get_merge(merge_id: uuid.UUID, scope: Member, session: DbSession) -> MergeRead:
    return MergeRead.of(await service.get_merge(session, scope, merge_id=merge_id))


@router.get("/people/{person_id}", tags=["people"])
async def get_person(
    person_id: uuid.UUID,
    scope: Member,
    session: DbSession,
    reveal: Annotated[
        Literal["cpf"] | None, Query(description="Show the CPF in full (owners and managers; audited)")
    ] = None,
) -> PersonRead:
    if reveal == "cpf":
        return await service.reveal_person(session, scope, person_id=person_id)
    return await service.read_person(session, await service.get_person(session, scope, person_id=person_id))


@router.patch("/people/{person_id}", tags=["people"])
async def update_person(person_id: uuid.UUID, body: PersonUpdate, scope: PeopleWrite, session: DbSession) -> PersonRead:
    person = await service.update_person(session, scope, person_id=person_id, data=body)
    return await service.read_person(session, person)


@router.delete("/people/{person_id}", tags=["people"], status_code=status.HTTP_204_NO_CONTENT, summary="Soft delete")
async def delete_person(person_id: uuid.UUID, scope: Manager, session: DbSession) -> None:
    await service.delete_person(session, scope, person_id=person_id)


@router.post("/people/{person_id}/restore", tags=["people"])
async def restore_person(person_id: uuid.UUID, scope: Manager, session: DbSession) -> PersonRead:
    return await service.read_person(session, await service.restore_person(session, scope, person_id=person_id))


@router.get("/people/{person_id}/duplicates", tags=["people"], summary="Likely duplicates, strongest first")
async def list_duplicates(person_id: uuid.UUID, scope: Member, session: DbSession) -> Page[DuplicateRead]:
    return Page(items=await service.find_duplicates(session, scope, person_id=person_id))


@router.post(
    "/people/{person_id}/merge",
    tags=["people"],
    status_code=status.HTTP_201_CREATED,
    summary="Merge another person into this one (undoable)",
)
async def merge_people(person_id: uuid.UUID, body: MergeCreate, scope: Manager, session: DbSession) -> MergeRead:
    merge = await service.merge_people(session, scope, survivor_id=person_id, other_id=body.other_id)
    return MergeRead.of(merge)


@router.get("/people/{person_id}/consents", tags=["people"], summary="Consent history (LGPD), newest first")
async def list_consents(
    person_id: uuid.UUID, scope: Member, session: DbSession, cursor: str | None = None, limit: Limit = 50
) -> Page[ConsentRead]:
    consents, next_cursor = await service.list_consents(session, scope, person_id=person_id, cursor=cursor, limit=limit)
    return Page(items=[ConsentRead.model_validate(c) for c in consents], next_cursor=next_cursor)


@router.post(
    "/people/{person_id}/consents",
    tags=["people"],
    status_code=status.HTTP_201_CREATED,
    summary="Record a consent or its withdrawal (a new row; history is never edited)",
)
async def record_consent(
    person_id: uuid.UUID, body: ConsentCreate, scope: PeopleWrite, session: DbSession
) -> ConsentRead:
    return ConsentRead.model_validate(await service.record_consent(session, scope, person_id=person_id, data=body))
