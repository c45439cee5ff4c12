"""A manager gets the snippet that installs t.js on the tenant's site, with the origins its write keys allow."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from leadflow.kit.db import Database
from leadflow.models import ApiKey, ApiKeyKind, Tenant
from leadflow.tracking import service
from tests import factories
from tests.capture.factories import allow_origins, revoke

SCRIPT = service.tracking_script()
AURORA = "https://aurora.exemplo.com.br"
SITE = "https://www.imobiliaria-exemplo.com.br"


async def write_key(db: Database, tenant: Tenant, origins: list[str] | None = None) -> tuple[ApiKey, str]:
    key, secret = await factories.make_key(db, tenant, kind=ApiKeyKind.WRITE)
    if origins is not None:
        await allow_origins(db, tenant, key, origins)
    return key, secret


class TestTheSnippet:
    async def test_it_loads_the_script_from_the_tenants_host_with_a_placeholder_key(
        self, as_manager: httpx.AsyncClient
    ) -> None:
        response = await as_manager.get("/v1/tracking/snippet")
        assert response.status_code == 200
        body = response.json()
        assert body["write_key"] is None
        assert body["consent_required"] is False
        assert (
            '<script async src="http://acme.localhost/t.js" data-write-key="YOUR-WRITE-KEY"></script>' in (body["html"])
        )
        assert "window.leadflow._q.push" in body["html"]

    async def test_it_reports_the_script_build_and_its_sizes(self, as_manager: httpx.AsyncClient) -> None:
        script = (await as_manager.get("/v1/tracking/snippet")).json()["script"]
        assert script == {
            "url": "http://acme.localhost/t.js",
            "versioned_url": f"http://acme.localhost/t/{SCRIPT.hash}.js",
            "version": SCRIPT.version,
            "hash": SCRIPT.hash,
            "size_bytes": len(SCRIPT.body),
            "gzip_bytes": len(SCRIPT.gzipped),
        }

    async def test_a_live_write_key_of_the_tenant_is_written_into_it(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        _, secret = await write_key(db, tenant)
        response = await as_manager.get("/v1/tracking/snippet", params={"write_key": secret})
        assert response.status_code == 200
        assert response.json()["write_key"] == secret
        assert f'data-write-key="{secret}"' in response.json()["html"]

    async def test_consent_required_asks_the_script_to_wait_for_consent(self, as_manager: httpx.AsyncClient) -> None:
        body = (await as_manager.get("/v1/tracking/snippet", params={"consent_required": "true"})).json()
        assert body["consent_required"] is True
        assert 'data-write-key="YOUR-WRITE-KEY" data-consent="required"></script>' in body["html"]

    async def test_the_snippet_html_is_escaped(self) -> None:
        html = service.snippet_html(
            script_url='https://x.example/t.js?a=1&b="2"', write_key="<k>", version="1", consent_required=False
        )
        assert 'src="https://x.example/t.js?a=1&amp;b=&quot;2&quot;" data-write-key="&lt;k&gt;"' in html


class TestWriteKeysAndOrigins:
    async def test_it_lists_the_live_write_keys_and_the_origins_they_allow(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        aurora, _ = await write_key(db, tenant, [AURORA, SITE])
        site, _ = await write_key(db, tenant, [SITE])
        body = (await as_manager.get("/v1/tracking/snippet")).json()
        assert body["allowed_origins"] == [AURORA, SITE]
        assert [(k["id"], k["prefix"], k["allowed_origins"]) for k in body["write_keys"]] == [
            (str(aurora.id), aurora.prefix, [AURORA, SITE]),
            (str(site.id), site.prefix, [SITE]),
        ]
        assert set(body["write_keys"][0]) == {"id", "name", "prefix", "allowed_origins"}

    async def test_revoked_and_secret_keys_are_not_listed(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        revoked, _ = await write_key(db, tenant, ["https://antigo.exemplo.com.br"])
        await revoke(db, tenant, revoked)
        await factories.make_key(db, tenant, scopes=["read"])
        body = (await as_manager.get("/v1/tracking/snippet")).json()
        assert body["write_keys"] == []
        assert body["allowed_origins"] == []

    async def test_a_revoked_write_key_is_not_written_into_the_snippet(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        key, secret = await write_key(db, tenant)
        await revoke(db, tenant, key)
        response = await as_manager.get("/v1/tracking/snippet", params={"write_key": secret})
        assert response.status_code == 422
        assert response.json()["type"].endswith("/invalid-write-key")

    async def test_a_secret_key_is_not_a_write_key(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        _, secret = await factories.make_key(db, tenant, scopes=["read"])
        response = await as_manager.get("/v1/tracking/snippet", params={"write_key": secret})
        assert response.status_code == 422
        assert secret not in response.text

    async def test_an_unknown_key_is_refused(self, as_manager: httpx.AsyncClient) -> None:
        for bogus in ("lf_wk_inventada", "lf_wk_\u0007", "x" * 256):
            assert (await as_manager.get("/v1/tracking/snippet", params={"write_key": bogus})).status_code == 422


class TestTenantIsolation:
    async def test_another_tenants_write_key_is_refused(
        self, as_manager: httpx.AsyncClient, db: Database, other_tenant: Tenant
    ) -> None:
        _, rival_secret = await write_key(db, other_tenant)
        response = await as_manager.get("/v1/tracking/snippet", params={"write_key": rival_secret})
        assert response.status_code == 422

    async def test_another_tenants_keys_and_origins_are_not_listed(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        ours, _ = await write_key(db, tenant, [SITE])
        await write_key(db, other_tenant, ["https://rival.example.net"])
        body = (await as_manager.get("/v1/tracking/snippet")).json()
        assert [k["id"] for k in body["write_keys"]] == [str(ours.id)]
        assert body["allowed_origins"] == [SITE]


class TestWhoMayAsk:
    async def test_an_owner_may(self, as_owner: httpx.AsyncClient) -> None:
        assert (await as_owner.get("/v1/tracking/snippet")).status_code == 200

    async def test_an_admin_api_key_may(self, app: FastAPI, db: Database, tenant: Tenant) -> None:
        _, secret = await factories.make_key(db, tenant, scopes=["admin"])
        async with factories.client(app, tenant, token=secret) as client:
            assert (await client.get("/v1/tracking/snippet")).status_code == 200

    async def test_a_broker_may_not(self, as_broker: httpx.AsyncClient) -> None:
        assert (await as_broker.get("/v1/tracking/snippet")).status_code == 403

    async def test_nobody_logged_in_may_not(self, anonymous: httpx.AsyncClient) -> None:
        assert (await anonymous.get("/v1/tracking/snippet")).status_code == 401

    async def test_a_write_key_may_not(self, app: FastAPI, db: Database, tenant: Tenant) -> None:
        _, secret = await write_key(db, tenant)
        async with factories.client(app, tenant, token=secret) as client:
            assert (await client.get("/v1/tracking/snippet")).status_code == 403


class TestOpenApi:
    async def test_the_routes_are_documented_with_examples(self, app: FastAPI) -> None:
        paths = app.openapi()["paths"]
        snippet = paths["/v1/tracking/snippet"]["get"]
        assert {p["name"] for p in snippet["parameters"]} == {"write_key", "consent_required"}
        schema = app.openapi()["components"]["schemas"]["TrackingSnippet"]
        assert schema["properties"]["html"]["examples"]
        assert set(paths["/t.js"]["get"]["responses"]) == {"200", "304", "422"}
        assert "/t/{version}.js" in paths
