from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from leadflow.auth.dependencies import Manager, Member
from leadflow.kit.schemas import Page
from leadflow.kit.web import DbSession, UnitOfWorkRoute
from leadflow.models import Role
from leadflow.user import service
from leadflow.user.schemas import TeamCreate, TeamRead, TeamUpdate, UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute)
Limit = Annotated[int, Query(ge=1, le=200)]


@router.get("/users", tags=["users"], summary="Users of the tenant")
async def list_users(
    scope: Member,
    session: DbSession,
    role: Role | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Page[UserRead]:
    users, next_cursor = await service.list_users(session, scope, role=role, q=q, cursor=cursor, limit=limit)
    return Page(items=[UserRead.model_validate(u) for u in users], next_cursor=next_cursor)


@router.post("/users", tags=["users"], status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, scope: Manager, session: DbSession) -> UserRead:
    return UserRead.model_validate(await service.create_user(session, scope, data=body))


@router.get("/users/{user_id}", tags=["users"])
async def get_user(user_id: uuid.UUID, scope: Member, session: DbSession) -> UserRead:
    return UserRead.model_validate(await service.get_user(session, scope, user_id=user_id))


@router.patch("/users/{user_id}", tags=["users"])
async def update_user(user_id: uuid.UUID, body: UserUpdate, scope: Manager, session: DbSession) -> UserRead:
    return UserRead.model_validate(await service.update_user(session, scope, user_id=user_id, data=body))


@router.delete("/users/{user_id}", tags=["users"], status_code=status.HTTP_204_NO_CONTENT, summary="Soft delete")
async def delete_user(user_id: uuid.UUID, scope: Manager, session: DbSession) -> None:
    await service.delete_user(session, scope, user_id=user_id)


@router.post("/users/{user_id}/restore", tags=["users"])
async def restore_user(user_id: uuid.UUID, scope: Manager, session: DbSession) -> UserRead:
    return UserRead.model_validate(await service.restore_user(session, scope, user_id=user_id))


@router.get("/teams", tags=["teams"])
async def list_teams(scope: Member, session: DbSession, cursor: str | None = None, limit: Limit = 50) -> Page[TeamRead]:
    teams, next_cursor = await service.list_teams(session, scope, cursor=cursor, limit=limit)
    return Page(items=teams, next_cursor=next_cursor)


@router.post("/teams", tags=["teams"], status_code=status.HTTP_201_CREATED)
async def create_team(body: TeamCreate, scope: Manager, session: DbSession) -> TeamRead:
    return await service.create_team(session, scope, data=body)


@router.get("/teams/{team_id}", tags=["teams"])
async def get_team(team_id: uuid.UUID, scope: Member, session: DbSession) -> TeamRead:
    return await service.get_team(session, scope, team_id=team_id)


@router.patch("/teams/{team_id}", tags=["teams"])
async def update_team(team_id: uuid.UUID, body: TeamUpdate, scope: Manager, session: DbSession) -> TeamRead:
    return await service.update_team(session, scope, team_id=team_id, data=body)


@router.delete("/teams/{team_id}", tags=["teams"], status_code=status.HTTP_204_NO_CONTENT, summary="Soft delete")
async def delete_team(team_id: uuid.UUID, scope: Manager, session: DbSession) -> None:
    await service.delete_team(session, scope, team_id=team_id)


@router.post("/teams/{team_id}/restore", tags=["teams"])
async def restore_team(team_id: uuid.UUID, scope: Manager, session: DbSession) -> TeamRead:
    return await service.restore_team(session, scope, team_id=team_id)


@router.put("/teams/{team_id}/members/{user_id}", tags=["teams"], status_code=status.HTTP_204_NO_CONTENT)
async def add_member(team_id: uuid.UUID, user_id: uuid.UUID, scope: Manager, session: DbSession) -> None:
    await service.add_member(session, scope, team_id=team_id, user_id=user_id)


@router.delete("/teams/{team_id}/members/{user_id}", tags=["teams"], status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(team_id: uuid.UUID, user_id: uuid.UUID, scope: Manager, session: DbSession) -> None:
    await service.remove_member(session, scope, team_id=team_id, user_id=user_id)
