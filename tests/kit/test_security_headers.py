"""Every answer carries the security headers; HTML pages get a CSP without inline scripts; nobody may frame us."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from leadflow.models import Tenant
from tests import factories


class TestSecurityHeaders:
    async def test_a_json_answer_is_unframeable_unsniffable_and_renders_nothing(
        self, anonymous: httpx.AsyncClient
    ) -> None:
        response = await anonymous.get("/healthz")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert "strict-transport-security" not in response.headers  # plain HTTP: HSTS would be ignored anyway

    async def test_an_error_answer_carries_them_too(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.get("/v1/leads")
        assert response.status_code == 401
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"

    async def test_over_https_the_answer_asks_for_https_for_a_year_with_subdomains(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"https://{factories.host_of(tenant)}") as client:
            response = await client.get("/healthz")
        assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"

    async def test_an_html_page_gets_a_policy_without_inline_scripts(
        self, app: FastAPI, anonymous: httpx.AsyncClient
    ) -> None:
        app.add_api_route("/probe.html", lambda: HTMLResponse("<p>olá</p>"), response_class=HTMLResponse)
        response = await anonymous.get("/probe.html")
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy
        assert "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["cross-origin-opener-policy"] == "same-origin"

    async def test_the_api_docs_get_their_own_policy_and_are_never_framed(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.get("/docs")
        assert response.headers["content-type"].startswith("text/html")
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["cross-origin-opener-policy"] == "same-origin"

    async def test_an_answer_to_a_credentialed_request_is_never_cached(self, as_manager: httpx.AsyncClient) -> None:
        response = await as_manager.get("/v1/me")
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"

    async def test_a_public_answer_keeps_its_own_caching(self, anonymous: httpx.AsyncClient) -> None:
        response = await anonymous.get("/t.js")
        assert response.status_code == 200
        assert "no-store" not in response.headers.get("cache-control", "")
        assert response.headers["x-content-type-options"] == "nosniff"
