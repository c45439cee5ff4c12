"""The settings API: providers with capabilities and schemas, connect (validated, secrets sealed and never
returned), test against the fake Graph API, health, disconnect; and tenant isolation of all of it."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from leadflow.config import Settings
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import IntegrationConnection, Role, Tenant
from tests import factories
from tests.integrations.conftest import (
    APP_SECRET,
    ZAP_PASSWORD,
    basic,
    connect,
    deliver,
    portal_lead,
    post_portal_lead,
    text_message,
    whatsapp_settings,
)
from tests.integrations.fakes.graph import FakeGraph


class TestProviders:
    async def test_providers_are_listed_with_capabilities_and_settings_schema(
        self, as_manager: httpx.AsyncClient
    ) -> None:
        response = await as_manager.get("/v1/integrations/providers")
        assert response.status_code == 200
        by_name = {p["name"]: p for p in response.json()}
        assert "messaging" in by_name["whatsapp"]["capabilities"]
        schema = by_name["whatsapp"]["settings_schema"]
        assert "phone_number_id" in schema["required"]
        assert schema["properties"]["app_secret"]["writeOnly"] is True

    async def test_crms_are_listed_too_with_where_they_connect(self, as_manager: httpx.AsyncClient) -> None:
        by_name = {p["name"]: p for p in (await as_manager.get("/v1/integrations/providers")).json()}
        crms = {name: p for name, p in by_name.items() if "crm_sync" in p["capabilities"]}
        assert {name: p["connect"] for name, p in crms.items()} == {
            "hubspot": "PUT /v1/sync/hubspot", "pipedrive": "PUT /v1/sync/pipedrive",
            "salesforce": "PUT /v1/sync/salesforce", "rdstation": "PUT /v1/sync/rdstation",
        }  # fmt: skip
        assert all("connection_test" in p["capabilities"] for p in crms.values())
        assert crms["hubspot"]["settings_schema"]["properties"]["access_token"]["writeOnly"] is True
        assert "writeOnly" not in crms["hubspot"]["settings_schema"]["properties"]["id_property"]
        assert by_name["whatsapp"]["connect"] == "POST /v1/integrations"

    async def test_a_broker_may_not_see_integrations(self, as_broker: httpx.AsyncClient) -> None:
        assert (await as_broker.get("/v1/integrations")).status_code == 403


class TestConnect:
    async def test_secrets_are_never_returned_only_named(self, as_manager: httpx.AsyncClient) -> None:
        created = await connect(as_manager, "whatsapp", "loja", whatsapp_settings())
        assert created["secrets_set"] == ["app_secret", "verify_token"]
        assert created["webhook_path"] == "/hooks/whatsapp/loja"
        listed = (await as_manager.get("/v1/integrations")).text
        assert APP_SECRET not in listed
        assert APP_SECRET not in str(created)

    async def test_secrets_are_encrypted_at_rest(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        await connect(as_manager, "whatsapp", "loja", whatsapp_settings())
        async with db.session(Scope.for_tenant(tenant.id)) as session:
            [row] = (await session.scalars(select(IntegrationConnection))).all()
        assert APP_SECRET.encode() not in row.credentials
        assert "app_secret" not in row.settings

    async def test_settings_are_validated_by_the_provider_schema(self, as_manager: httpx.AsyncClient) -> None:
        body = {"provider": "whatsapp", "key": "loja", "name": "Loja", "settings": {"phone_number_id": "abc"}}
        response = await as_manager.post("/v1/integrations", json=body)
        assert response.status_code == 422
        fields = {e["field"] for e in response.json()["errors"]}
        assert {"settings.phone_number_id", "settings.app_secret"} <= fields

    async def test_an_unknown_provider_is_422(self, as_manager: httpx.AsyncClient) -> None:
        body = {"provider": "orkut", "key": "loja", "name": "Loja", "settings": {}}
        assert (await as_manager.post("/v1/integrations", json=body)).status_code == 422

    async def test_a_key_is_taken_once_per_provider(self, as_manager: httpx.AsyncClient) -> None:
        await connect(as_manager, "whatsapp", "loja", whatsapp_settings())
        body = {"provider": "whatsapp", "key": "loja", "name": "Outra", "settings": whatsapp_settings()}
        assert (await as_manager.post("/v1/integrations", json=body)).status_code == 409

    async def test_changing_settings_keeps_secrets_left_out(
        self, as_manager: httpx.AsyncClient, anonymous: httpx.AsyncClient
    ) -> None:
        created = await connect(as_manager, "whatsapp", "loja", whatsapp_settings())
        response = await as_manager.patch(
            f"/v1/integrations/{created['id']}", json={"settings": {"phone_number_id": "200000000000002"}}
        )
        assert response.status_code == 200, response.text
        assert response.json()["settings"]["phone_number_id"] == "200000000000002"
        assert (await deliver(anonymous, text_message(), key="loja")).status_code == 200


class TestTestAndHealth:
    async def test_a_working_token_tests_ok_and_shows_in_health(
        self, as_manager: httpx.AsyncClient, graph: FakeGraph
    ) -> None:
        created = await connect(as_manager, "whatsapp", "loja", whatsapp_settings(graph))
        result = await as_manager.post(f"/v1/integrations/{created['id']}/test")
        assert result.json() == {"ok": True, "detail": None}
        health = (await as_manager.get(f"/v1/integrations/{created['id']}/health")).json()
        assert health["status"] == "active"
        assert health["last_success_at"] is not None

    async def test_a_refused_token_tests_failing_with_the_reason(
        self, as_manager: httpx.AsyncClient, graph: FakeGraph
    ) -> None:
        created = await connect(as_manager, "whatsapp", "loja", whatsapp_settings(graph, access_token="expired"))
        result = (await as_manager.post(f"/v1/integrations/{created['id']}/test")).json()
        assert result["ok"] is False
        assert "401" in result["detail"]
        health = (await as_manager.get(f"/v1/integrations/{created['id']}/health")).json()
        assert health["status"] == "failing"
        assert "401" in health["last_error"]
        assert "expired" not in str(health)

    async def test_a_graph_base_url_on_a_metadata_address_is_refused_by_the_ssrf_guard(
        self, as_manager: httpx.AsyncClient, graph: FakeGraph
    ) -> None:
        settings = whatsapp_settings(graph, graph_base_url="http://169.254.169.254")
        created = await connect(as_manager, "whatsapp", "loja", settings)
        result = (await as_manager.post(f"/v1/integrations/{created['id']}/test")).json()
        assert result["ok"] is False
        assert "not allowed" in result["detail"]
        assert graph.requests == []

    async def test_loopback_is_refused_unless_the_test_setting_allows_it(
        self, as_manager: httpx.AsyncClient, graph: FakeGraph, settings: Settings
    ) -> None:
        settings.webhooks_allow_loopback = False
        created = await connect(as_manager, "whatsapp", "loja", whatsapp_settings(graph))
        result = (await as_manager.post(f"/v1/integrations/{created['id']}/test")).json()
        assert result["ok"] is False
        assert "not allowed" in result["detail"]
        assert graph.requests == []

    async def test_disconnecting_refuses_further_deliveries(
        self, as_manager: httpx.AsyncClient, anonymous: httpx.AsyncClient
    ) -> None:
        created = await connect(as_manager, "whatsapp", "loja", whatsapp_settings())
        assert (await as_manager.delete(f"/v1/integrations/{created['id']}")).status_code == 204
        assert (await deliver(anonymous, text_message(), key="loja")).status_code == 404
        assert (await as_manager.get(f"/v1/integrations/{created['id']}")).status_code == 404


class TestTenantIsolation:
    async def test_another_tenants_connection_key_cannot_be_used_from_this_tenants_host(
        self, app: FastAPI, db: Database, tenant: Tenant, other_tenant: Tenant, anonymous: httpx.AsyncClient
    ) -> None:
        rival_owner = await factories.make_user(db, other_tenant, role=Role.OWNER, email="dono@rival.example.com")
        async with factories.logged_in(app, other_tenant, rival_owner) as rival:
            await connect(rival, "whatsapp", "rival-whatsapp", whatsapp_settings())
            await connect(rival, "zap", "rival-zap", {"username": "rival", "password": ZAP_PASSWORD})
        # Correctly signed and authenticated, but sent to our host: the key does not exist here.
        assert (await deliver(anonymous, text_message(), key="rival-whatsapp")).status_code == 404
        response = await post_portal_lead(anonymous, portal_lead(), key="rival-zap", headers=basic("rival"))
        assert response.status_code == 404

    async def test_another_tenants_connections_are_invisible(
        self, app: FastAPI, db: Database, other_tenant: Tenant, as_manager: httpx.AsyncClient
    ) -> None:
        rival_owner = await factories.make_user(db, other_tenant, role=Role.OWNER, email="dono@rival.example.com")
        async with factories.logged_in(app, other_tenant, rival_owner) as rival:
            theirs = await connect(rival, "whatsapp", "rival-whatsapp", whatsapp_settings())
        assert await (await as_manager.get("/v1/integrations")).aread() == b"[]"
        for method, suffix in (("GET", ""), ("GET", "/health"), ("POST", "/test"), ("DELETE", ""), ("PATCH", "")):
            kwargs: dict[str, Any] = {"json": {"name": "x"}} if method == "PATCH" else {}
            response = await as_manager.request(method, f"/v1/integrations/{theirs['id']}{suffix}", **kwargs)
            assert response.status_code == 404, (method, suffix)

    async def test_the_same_key_may_exist_in_two_tenants_and_each_host_reaches_its_own(
        self,
        app: FastAPI,
        db: Database,
        tenant: Tenant,
        other_tenant: Tenant,
        as_manager: httpx.AsyncClient,
        anonymous: httpx.AsyncClient,
    ) -> None:
        await connect(as_manager, "whatsapp", "loja", whatsapp_settings())
        rival_owner = await factories.make_user(db, other_tenant, role=Role.OWNER, email="dono@rival.example.com")
        async with factories.logged_in(app, other_tenant, rival_owner) as rival:
            await connect(rival, "whatsapp", "loja", whatsapp_settings(app_secret="rival-secret"))
        # Signed with the rival's secret, posted to our host: our secret decides, so it is refused.
        assert (await deliver(anonymous, text_message(), key="loja", secret="rival-secret")).status_code == 401
        assert (await deliver(anonymous, text_message(), key="loja")).status_code == 200
