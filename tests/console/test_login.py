"""Login, logout, password change, the session cookies and CSRF protection of the console."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from leadflow.config import Settings
from leadflow.kit.tokens import TokenSigner
from leadflow.models import Tenant, User
from tests import factories
from tests.console.conftest import Console, console_client

pytestmark = pytest.mark.asyncio


class TestLoginPage:
    async def test_has_an_email_a_password_and_a_submit_button_in_portuguese_by_default(self, visitor: Console) -> None:
        response = await visitor.get("/app/login")
        assert response.status_code == 200
        html = response.text
        assert '<html lang="pt-BR">' in html
        assert 'type="email"' in html
        assert 'type="password"' in html
        assert 'type="submit"' in html
        assert "Entrar" in html
        assert '<label for="password">Senha</label>' in html

    async def test_speaks_english_when_the_user_picks_it(self, visitor: Console) -> None:
        visitor.http.cookies.set("lf_lang", "en")
        html = (await visitor.get("/app/login")).text
        assert '<html lang="en">' in html
        assert "Log in" in html

    async def test_sets_an_httponly_lax_session_cookie_before_login(self, visitor: Console) -> None:
        response = await visitor.get("/app/login")
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("lf_console_sid=")
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie


class TestLoggingIn:
    async def test_with_the_right_password_sets_the_api_tokens_in_httponly_cookies(
        self, visitor: Console, broker: User
    ) -> None:
        response = await visitor.log_in(broker.email)
        assert response.status_code == 303
        assert response.headers["location"] == "/app"
        cookies = response.headers.get_list("set-cookie")
        access = next(c for c in cookies if c.startswith("lf_console_at="))
        assert "HttpOnly" in access
        assert "SameSite=lax" in access
        assert "Path=/" in access
        assert "Secure" not in access  # plain http (the demo): no Secure flag, no __Host- name
        assert any(c.startswith("lf_console_rt=") for c in cookies)

    async def test_with_a_wrong_password_shows_the_form_again_with_an_error(
        self, visitor: Console, broker: User
    ) -> None:
        response = await visitor.log_in(broker.email, "wrong-password")
        assert response.status_code == 200
        assert "E-mail ou senha incorretos." in response.text
        assert not any(c.startswith("lf_console_at=") for c in response.headers.get_list("set-cookie"))

    async def test_without_the_csrf_token_is_refused(self, visitor: Console, broker: User) -> None:
        await visitor.get("/app/login")
        response = await visitor.post("/app/login", {"email": broker.email, "password": factories.PASSWORD}, csrf="")
        assert response.status_code == 403

    async def test_goes_back_to_the_page_asked_for_but_never_to_another_site(
        self, visitor: Console, broker: User
    ) -> None:
        await visitor.get("/app/login")
        data = {"email": broker.email, "password": factories.PASSWORD, "next": "//evil.example.com/app"}
        response = await visitor.post("/app/login", data)
        assert response.headers["location"] == "/app"


class TestSecureCookies:
    async def test_over_https_use_host_prefixed_secure_cookies(
        self, app: FastAPI, tenant: Tenant, broker: User
    ) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"https://{factories.host_of(tenant)}") as http:
            console = Console(http)
            response = await console.log_in(broker.email)
        cookies = response.headers.get_list("set-cookie")
        access = next(c for c in cookies if c.startswith("__Host-lf_at="))
        assert "Secure" in access
        assert "Path=/" in access
        assert "Domain" not in access

    async def test_never_mode_keeps_plain_names_even_over_https(
        self, settings: Settings, app: FastAPI, tenant: Tenant, broker: User
    ) -> None:
        app.state.settings = settings.model_copy(update={"console_secure_cookies": "never"})
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"https://{factories.host_of(tenant)}") as http:
            response = await Console(http).log_in(broker.email)
        assert any(c.startswith("lf_console_at=") for c in response.headers.get_list("set-cookie"))


class TestSession:
    async def test_without_a_cookie_a_page_redirects_to_the_login(self, visitor: Console) -> None:
        response = await visitor.get("/app/leads?status=open")
        assert response.status_code == 303
        assert response.headers["location"] == "/app/login?next=%2Fapp%2Fleads%3Fstatus%3Dopen"

    async def test_an_htmx_call_without_a_session_is_told_where_to_log_in(self, visitor: Console) -> None:
        response = await visitor.http.get("/app/leads", headers={"HX-Request": "true"})
        assert response.status_code == 401
        assert response.headers["HX-Redirect"].startswith("/app/login")

    async def test_an_expired_access_token_is_refreshed_with_the_refresh_cookie(
        self, broker_console: Console, app: FastAPI, broker: User, tenant: Tenant
    ) -> None:
        expired = TokenSigner(app.state.settings.signing_keys(), -60).issue(
            user_id=broker.id, tenant_id=tenant.id, role=broker.role.value
        )
        old_refresh = broker_console.http.cookies["lf_console_rt"]
        broker_console.replace_cookie("lf_console_at", expired)
        response = await broker_console.get("/app")
        assert response.status_code == 200
        assert broker_console.http.cookies["lf_console_at"] != expired
        assert broker_console.http.cookies["lf_console_rt"] != old_refresh

    async def test_a_stale_token_with_no_refresh_cookie_goes_to_the_login(
        self, broker_console: Console, app: FastAPI, broker: User, tenant: Tenant
    ) -> None:
        expired = TokenSigner(app.state.settings.signing_keys(), -60).issue(
            user_id=broker.id, tenant_id=tenant.id, role=broker.role.value
        )
        broker_console.replace_cookie("lf_console_at", expired)
        broker_console.replace_cookie("lf_console_rt", None)
        response = await broker_console.get("/app")
        assert response.status_code == 303
        assert response.headers["location"] == "/app/login"


class TestCsrf:
    async def test_a_post_without_the_token_is_refused_with_403(self, broker_console: Console) -> None:
        response = await broker_console.post("/app/logout", csrf="")
        assert response.status_code == 403

    async def test_a_post_with_a_wrong_token_is_refused_with_403(self, broker_console: Console) -> None:
        response = await broker_console.post("/app/logout", csrf="0" * 64)
        assert response.status_code == 403

    async def test_the_token_of_another_browser_session_is_refused(
        self, app: FastAPI, tenant: Tenant, broker: User, broker_console: Console
    ) -> None:
        async with console_client(app, tenant) as other:
            await other.log_in(broker.email)
            response = await other.post("/app/logout", csrf=broker_console.csrf)
        assert response.status_code == 403

    async def test_the_token_in_the_header_is_accepted_as_htmx_sends_it(self, broker_console: Console) -> None:
        response = await broker_console.http.post("/app/logout", headers={"X-CSRF-Token": broker_console.csrf})
        assert response.status_code == 303


class TestLogout:
    async def test_revokes_the_session_and_clears_the_cookies(self, broker_console: Console) -> None:
        refresh = broker_console.http.cookies["lf_console_rt"]
        response = await broker_console.post("/app/logout")
        assert response.status_code == 303
        assert response.headers["location"] == "/app/login"
        assert "lf_console_at" not in broker_console.http.cookies
        api = await broker_console.http.post("/v1/auth/refresh", json={"refresh_token": refresh})
        assert api.status_code == 401


class TestPasswordChange:
    async def test_changes_the_password_and_asks_to_log_in_again(
        self, broker_console: Console, app: FastAPI, tenant: Tenant, broker: User
    ) -> None:
        await broker_console.get("/app/password")
        new = "a-brand-new-password"
        response = await broker_console.post(
            "/app/password",
            {"current_password": factories.PASSWORD, "new_password": new, "confirm_password": new},
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/app/login?changed=1"
        async with console_client(app, tenant) as again:
            assert (await again.log_in(broker.email, new)).status_code == 303

    async def test_refuses_a_wrong_current_password(self, broker_console: Console) -> None:
        await broker_console.get("/app/password")
        new = "a-brand-new-password"
        response = await broker_console.post(
            "/app/password", {"current_password": "nope", "new_password": new, "confirm_password": new}
        )
        assert response.status_code == 422
        assert "A senha atual está errada." in response.text


class TestLanguageSwitch:
    async def test_the_users_pick_wins_over_the_tenants_portuguese(self, broker_console: Console) -> None:
        response = await broker_console.post("/app/lang", {"lang": "en", "next": "/app/leads"})
        assert response.status_code == 303
        assert response.headers["location"] == "/app/leads"
        html = (await broker_console.get("/app/leads")).text
        assert '<html lang="en">' in html
        assert "<h1>Leads</h1>" in html
        assert "My day" in html
