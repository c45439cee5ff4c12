"""Login, logout and password change: forms over the auth service (the console adds no rule of its own)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from leadflow.auth import service as auth
from leadflow.auth.schemas import LoginRequest, PasswordChange
from leadflow.console import session as cookies
from leadflow.console.auth import Page
from leadflow.console.web import LANG_COOKIE, ConsoleRoute, render, request_locale, t
from leadflow.kit.errors import TooManyRequests, ValidationFailed
from leadflow.kit.i18n import LOCALES
from leadflow.kit.scope import get_scope
from leadflow.kit.web import DbSession
from leadflow.tenant.dependencies import CurrentTenant
from leadflow.tenant.service import TenantRef

router = APIRouter(prefix="/app", route_class=ConsoleRoute, include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a console path: never another site (open redirect) or a protocol-relative URL."""
    if target and target.startswith("/app") and not target.startswith("//") and "\\" not in target:
        return target
    return "/app"


def _login_page(
    request: Request,
    locale: str,
    tenant: TenantRef,
    next: str | None,
    *,
    error: str | None = None,
    email: str = "",
    status: int = 200,
) -> Response:
    return render(
        request,
        "login.html",
        status=status,
        locale=locale,
        tenant=tenant,
        next=safe_next(next),
        error=error,
        email=email,
    )


@router.get("/login")
async def login_form(request: Request, tenant: CurrentTenant, next: str | None = None) -> Response:
    locale = request_locale(request, tenant.locale)
    return _login_page(request, locale, tenant, next)


@router.post("/login")
async def login(
    request: Request,
    tenant: CurrentTenant,
    session: DbSession,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/app",
) -> Response:
    locale = request_locale(request, tenant.locale)
    anonymous = get_scope(session.sync_session)
    assert anonymous is not None  # CurrentTenant bound it
    state = request.app.state
    try:
        body = LoginRequest(email=email, password=password)
        pair = await auth.login(
            session,
            anonymous,
            email=body.email,
            password=body.password,
            ip=request.client.host if request.client else "unknown",
            signer=state.signer,
            counter=state.counter,
            policy=state.login_policy,
        )
    except (ValidationError, auth.InvalidCredentials):
        # Answered 200 so the unit of work keeps the audit entry of the failed attempt.
        error = t(locale, "E-mail or password is wrong.")
        return _login_page(request, locale, tenant, next, error=error, email=email)
    except TooManyRequests:
        error = t(locale, "Too many failed attempts. Wait a few minutes and try again.")
        return _login_page(request, locale, tenant, next, error=error, email=email, status=429)
    request.state.console_tokens = pair
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
async def logout(request: Request, page: Page, session: DbSession) -> Response:
    refresh_token = request.cookies.get(cookies.cookie_names(request).refresh)
    if refresh_token:
        await auth.logout(session, page.scope, refresh_token=refresh_token)
    request.state.console_logout = True
    return RedirectResponse("/app/login", status_code=303)


@router.get("/password")
async def password_form(request: Request, page: Page) -> Response:
    return render(request, "password.html", page=page, nav="password", error=None, done=False)


@router.post("/password")
async def change_password(
    request: Request,
    page: Page,
    session: DbSession,
    current_password: Annotated[str, Form(max_length=1024)] = "",
    new_password: Annotated[str, Form(max_length=1024)] = "",
    confirm_password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    error = None
    if new_password != confirm_password:
        error = t(page.locale, "The new password and its confirmation differ.")
    else:
        try:
            body = PasswordChange(current_password=current_password, new_password=new_password)
            await auth.change_password(
                session, page.scope, current_password=body.current_password, new_password=body.new_password
            )
        except ValidationError:
            error = t(page.locale, "The new password needs at least 10 characters.")
        except ValidationFailed:
            error = t(page.locale, "The current password is wrong.")
    if error:
        return render(request, "password.html", status=422, page=page, nav="password", error=error, done=False)
    # Changing the password revoked every refresh token: log in again with the new one.
    request.state.console_logout = True
    return RedirectResponse("/app/login?changed=1", status_code=303)


@router.post("/lang")
async def choose_language(
    request: Request, lang: Annotated[str, Form(max_length=10)] = "", next: Annotated[str, Form()] = "/app"
) -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in LOCALES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, path="/", samesite="lax", httponly=True)
    return response
