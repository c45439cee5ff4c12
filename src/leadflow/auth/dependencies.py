"""Typed dependencies that authenticate a request and authorise it by role or key scope.

Authentication happens here and only here: it resolves the tenant from the host, checks that the credential
belongs to that tenant (another tenant's credential is a 404), and binds the resulting scope to the request's
session, which then confines every query to the tenant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from leadflow.audit.service import log_access
from leadflow.auth import service
from leadflow.kit.errors import Forbidden, Unauthenticated
from leadflow.kit.scope import Scope, set_scope
from leadflow.kit.tokens import TokenSigner, looks_like_jwt
from leadflow.kit.web import SAFE_METHODS, request_session
from leadflow.models import ApiKeyKind, Role
from leadflow.tenant.dependencies import CurrentTenant
from leadflow.tenant.limits import admit_api_call

bearer = HTTPBearer(auto_error=False, description="A JWT access token or a secret API key")

# Routes a viewer may call although they are not reads (their own session and password).
# What a viewer may post: their own session, password and notifications (read state), nothing of the CRM.
VIEWER_WRITABLE = frozenset(
    {"/v1/auth/logout", "/v1/me/password", "/v1/me/notifications/read", "/v1/me/notifications/{notification_id}/read"}
)


async def authenticate(
    request: Request,
    tenant: CurrentTenant,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Scope:
    # Bearer only, never a cookie: a browser attaches cookies to cross-site requests, and the API has no CSRF
    # check (the console, which does, authenticates its own cookies in console/session.py).
    token = credentials.credentials if credentials else None
    if not token:
        raise Unauthenticated("send an access token or API key as a Bearer token")
    session = request_session(request)
    signer: TokenSigner = request.app.state.signer
    if looks_like_jwt(token):
        scope = await service.scope_from_access_token(session, tenant, token, signer=signer)
    else:
        scope, key = await service.scope_from_api_key(session, tenant, token)
        if key.kind is not ApiKeyKind.SECRET:
            raise Forbidden("a public write key may only post events and forms")
    if scope.role == Role.VIEWER.value and request.method not in SAFE_METHODS:
        route = getattr(request.scope.get("route"), "path", "")
        if route not in VIEWER_WRITABLE:
            raise Forbidden("viewers have read-only access")
    set_scope(session, scope)
    await admit_api_call(request, tenant)  # counted once the credential is proven: strangers spend no budget
    route = getattr(request.scope.get("route"), "path", request.url.path)
    log_access(session, scope, method=request.method, route=route)  # Marco Civil art. 15, with the request's commit
    return scope


Authenticated = Annotated[Scope, Depends(authenticate)]


def allow(*roles: Role, key_scope: str | None = None) -> Callable[[Scope], Awaitable[Scope]]:
    """Allow users with one of ``roles`` and secret keys carrying ``key_scope``."""
    allowed = frozenset(r.value for r in roles)

    async def check(scope: Authenticated) -> Scope:
        if scope.actor_type == "api_key":
            if key_scope is None or key_scope not in scope.key_scopes:
                raise Forbidden(f"this API key lacks the {key_scope or 'required'} scope")
        elif scope.role not in allowed:
            raise Forbidden("your role does not allow this")
        return scope

    return check


Manager = Annotated[Scope, Depends(allow(Role.OWNER, Role.MANAGER, key_scope="admin"))]
Member = Annotated[Scope, Depends(allow(Role.OWNER, Role.MANAGER, Role.BROKER, Role.VIEWER, key_scope="read"))]
