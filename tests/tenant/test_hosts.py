"""A request's host selects its tenant: <slug>.<base domain>, a custom host, or the default tenant on localhost."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from leadflow.app import create_app
from leadflow.config import Settings
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import Tenant, User
from leadflow.tenant.service import TenantDirectory, create_tenant, host_without_port
from tests import factories


async def _me(app: FastAPI, base_url: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as c:
        return await c.get("/v1/me", headers={"Authorization": f"Bearer {token}"})


class TestHostResolution:
    @pytest.mark.parametrize(
        ("raw", "host"),
        [("Demo.Localhost:8000", "demo.localhost"), ("crm.imob.com.br.", "crm.imob.com.br"), ("[::1]:8000", "[::1]")],
    )
    def test_hosts_are_compared_without_port_case_or_trailing_dot(self, raw: str, host: str) -> None:
        assert host_without_port(raw) == host

    def test_only_one_label_above_the_base_domain_names_a_slug(self) -> None:
        directory = TenantDirectory(base_domain="leadflow.app", default_tenant="demo", ttl_seconds=0)
        assert directory.slug_for_host("acme.leadflow.app") == "acme"
        assert directory.slug_for_host("x.acme.leadflow.app") is None
        assert directory.slug_for_host("leadflow.app") == "demo"
        assert directory.slug_for_host("127.0.0.1") == "demo"

    async def test_a_custom_host_selects_its_tenant(self, db: Database, app: FastAPI) -> None:
        async with db.session(Scope.system()) as session:
            tenant = await create_tenant(session, slug="imob", name="Imob", hosts=["crm.imob.com.br"])
        user = await factories.make_user(db, tenant, email="dona@imob.example.com")
        token = (await factories.login(app, tenant, user.email))["access_token"]
        response = await _me(app, "https://crm.imob.com.br", token)
        assert response.json()["tenant"]["slug"] == "imob"

    async def test_localhost_serves_the_default_tenant(
        self, db: Database, settings: Settings, tenant: Tenant, manager: User
    ) -> None:
        app = create_app(settings.model_copy(update={"default_tenant": "acme"}), database=db)
        token = (await factories.login(app, tenant, manager.email))["access_token"]
        assert (await _me(app, "http://localhost:8000", token)).json()["tenant"]["slug"] == "acme"
        assert (await _me(app, "http://127.0.0.1:8000", token)).status_code == 200

    async def test_localhost_without_a_default_tenant_is_404(self, app: FastAPI, manager: User, tenant: Tenant) -> None:
        token = (await factories.login(app, tenant, manager.email))["access_token"]
        assert (await _me(app, "http://localhost", token)).status_code == 404
