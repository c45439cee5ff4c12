from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from leadflow.auth import service
from leadflow.auth.dependencies import Authenticated, Manager
from leadflow.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    LoginRequest,
    LogoutRequest,
    MeRead,
    PasswordChange,
    RefreshRequest,
    TokenPair,
)
from leadflow.kit.schemas import Page
from leadflow.kit.scope import Scope, get_scope
from leadflow.kit.web import DbSession, UnitOfWorkRoute
from leadflow.tenant.dependencies import CurrentTenant
from leadflow.user import service as users

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute)


def _anonymous_scope(session: DbSession) -> Scope:
    scope = get_scope(session.sync_session)
    assert scope is not None  # CurrentTenant bound it
    return scope


@router.post("/auth/login", tags=["auth"], summary="Log in with e-mail and password")
async def login(body: LoginRequest, request: Request, tenant: CurrentTenant, session: DbSession) -> TokenPair:
    state = request.app.state
    return await service.login(
        session,
        _anonymous_scope(session),
        email=body.email,
        password=body.password,
        ip=request.client.host if request.client else "unknown",
        signer=state.signer,
        counter=state.counter,
        policy=state.login_policy,
    )


@router.post("/auth/refresh", tags=["auth"], summary="Exchange a refresh token for a new pair")
async def refresh(body: RefreshRequest, request: Request, tenant: CurrentTenant, session: DbSession) -> TokenPair:
    state = request.app.state
    return await service.refresh(
        session,
        _anonymous_scope(session),
        refresh_token=body.refresh_token,
        signer=state.signer,
        ttl=state.login_policy.refresh_ttl_seconds,
    )


@router.post("/auth/logout", tags=["auth"], status_code=status.HTTP_204_NO_CONTENT, summary="Revoke a session")
async def logout(body: LogoutRequest, tenant: CurrentTenant, session: DbSession) -> None:
    await service.logout(session, _anonymous_scope(session), refresh_token=body.refresh_token)


@router.get("/me", tags=["auth"], summary="The current user (or API key) and tenant")
async def me(scope: Authenticated, tenant: CurrentTenant, session: DbSession) -> MeRead:
    return await users.describe_me(session, scope, tenant=tenant)


@router.post("/me/password", tags=["auth"], status_code=status.HTTP_204_NO_CONTENT)
async def change_password(body: PasswordChange, scope: Authenticated, session: DbSession) -> None:
    await service.change_password(
        session, scope, current_password=body.current_password, new_password=body.new_password
    )


@router.get("/api-keys", tags=["api keys"])
async def list_keys(
    scope: Manager,
    session: DbSession,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ApiKeyRead]:
    keys, next_cursor = await service.list_api_keys(session, scope, cursor=cursor, limit=limit)
    return Page(items=[ApiKeyRead.model_validate(k) for k in keys], next_cursor=next_cursor)


@router.post("/api-keys", tags=["api keys"], status_code=status.HTTP_201_CREATED)
async def create_key(body: ApiKeyCreate, scope: Manager, session: DbSession) -> ApiKeyCreated:
    key, secret = await service.create_api_key(session, scope, data=body)
    return ApiKeyCreated.model_validate({**ApiKeyRead.model_validate(key).model_dump(), "key": secret})


@router.delete("/api-keys/{key_id}", tags=["api keys"], summary="Revoke a key")
async def revoke_key(key_id: uuid.UUID, scope: Manager, session: DbSession) -> ApiKeyRead:
    return ApiKeyRead.model_validate(await service.revoke_api_key(session, scope, key_id=key_id))
