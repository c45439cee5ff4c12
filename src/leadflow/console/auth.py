"""Who is using the console: the access token in the session cookie, refreshed when it has expired.

The console is one more client of the auth service: the same tokens, the same scope, the same tenant-by-host rule
(a token of another tenant is a 404). Only the carrier differs (cookies instead of a Bearer header).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.auth import service as auth
from leadflow.auth.schemas import MeRead, TokenPair
from leadflow.console import session as cookies
from leadflow.console.web import LoginRequired, request_locale
from leadflow.kit.errors import Forbidden, Unauthenticated
from leadflow.kit.scope import Scope, get_scope, set_scope
from leadflow.kit.tokens import TokenSigner
from leadflow.kit.web import SAFE_METHODS, DbSession
from leadflow.models import Role
from leadflow.tenant.dependencies import CurrentTenant
from leadflow.tenant.service import TenantRef
from leadflow.user import service as users

MANAGING_ROLES = frozenset({Role.OWNER.value, Role.MANAGER.value})
# What a viewer may post in the console: their own session, password and notifications (read state).
VIEWER_WRITABLE = frozenset({"/app/logout", "/app/password", "/app/notificacoes/lidas"})
VIEWER_WRITABLE_PREFIXES = ("/app/notificacoes/",)  # …/{id}/abrir


@dataclass(frozen=True, slots=True)
class ConsolePage:
    """What every console page needs to know about the person looking at it."""

    scope: Scope
    me: MeRead
    tenant: TenantRef
    locale: str

    @property
    def time_zone(self) -> str:
        return self.tenant.time_zone

    @property
    def is_manager(self) -> bool:
        return self.scope.role in MANAGING_ROLES

    @property
    def is_broker(self) -> bool:
        return self.scope.role == Role.BROKER.value

    @property
    def user_name(self) -> str:
        return self.me.user.name if self.me.user else ""


async def _scope_from_cookies(request: Request, session: AsyncSession, tenant: TenantRef) -> Scope:
    names = cookies.cookie_names(request)
    signer: TokenSigner = request.app.state.signer
    access = request.cookies.get(names.access)
    if access:
        try:
            return await auth.scope_from_access_token(session, tenant, access, signer=signer)
        except auth.WrongTenant:
            raise
        except Unauthenticated:
            pass  # expired: try the refresh token below
    pair = await _refreshed(request, session, request.cookies.get(names.refresh))
    return await auth.scope_from_access_token(session, tenant, pair.access_token, signer=signer)


async def _refreshed(request: Request, session: AsyncSession, refresh_token: str | None) -> TokenPair:
    if not refresh_token:
        raise LoginRequired()
    anonymous = get_scope(session.sync_session)
    assert anonymous is not None  # CurrentTenant bound it
    try:
        pair = await auth.refresh(
            session,
            anonymous,
            refresh_token=refresh_token,
            signer=request.app.state.signer,
            ttl=request.app.state.login_policy.refresh_ttl_seconds,
        )
    except Unauthenticated as exc:
        # A reused token revoked its family; the redirect commits that (it is not an error response).
        request.state.console_logout = True
        raise LoginRequired() from exc
    request.state.console_tokens = pair
    return pair


async def console_page(request: Request, tenant: CurrentTenant, session: DbSession) -> ConsolePage:
    scope = await _scope_from_cookies(request, session, tenant)
    read_only = scope.role == Role.VIEWER.value and request.method not in SAFE_METHODS
    path = request.url.path
    if read_only and path not in VIEWER_WRITABLE and not path.startswith(VIEWER_WRITABLE_PREFIXES):
        raise Forbidden("viewers have read-only access")
    set_scope(session, scope)
    me = await users.describe_me(session, scope, tenant=tenant)
    return ConsolePage(scope=scope, me=me, tenant=tenant, locale=request_locale(request, tenant.locale))


async def manager_page(page: Annotated[ConsolePage, Depends(console_page)]) -> ConsolePage:
    if not page.is_manager:
        raise Forbidden("this page is for managers and owners")
    return page


Page = Annotated[ConsolePage, Depends(console_page)]
ManagerPage = Annotated[ConsolePage, Depends(manager_page)]
