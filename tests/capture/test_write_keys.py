"""Only the host tenant's live write key posts events, from an allowed origin; refusals store nothing."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from leadflow.kit.db import Database
from leadflow.models import ApiKey, ApiKeyKind, Tenant
from tests import factories
from tests.capture.factories import allow_origins, counts, revoke, site, track


class TestRefusedKeysStoreNothing:
    async def test_an_unknown_key_is_401(self, app: FastAPI, db: Database, tenant: Tenant) -> None:
        async with site(app, tenant, "lf_wk_inventada") as client:
            response = await client.post("/v1/batch", json={"batch": [track()]})
        assert response.status_code == 401
        assert await counts(db, tenant) == (0, 0)

    async def test_no_key_at_all_is_401_even_for_a_malformed_body(
        self, app: FastAPI, db: Database, tenant: Tenant
    ) -> None:
        async with factories.client(app, tenant) as client:
            response = await client.post("/v1/batch", content=b"{nope", headers={"content-type": "application/json"})
        assert response.status_code == 401
        assert await counts(db, tenant) == (0, 0)

    async def test_a_revoked_key_is_401(
        self, app: FastAPI, db: Database, tenant: Tenant, write_key: tuple[ApiKey, str]
    ) -> None:
        await revoke(db, tenant, write_key[0])
        async with site(app, tenant, write_key[1]) as client:
            response = await client.post("/v1/track", json=track())
        assert response.status_code == 401
        assert await counts(db, tenant) == (0, 0)

    async def test_another_tenants_write_key_on_this_host_is_404(
        self, app: FastAPI, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        _, rival_key = await factories.make_key(db, other_tenant, kind=ApiKeyKind.WRITE)
        async with site(app, tenant, rival_key) as client:
            response = await client.post("/v1/batch", json={"batch": [track()]})
        assert response.status_code == 404
        assert await counts(db, tenant) == (0, 0)
        assert await counts(db, other_tenant) == (0, 0)

    async def test_a_secret_key_is_not_a_write_key(self, app: FastAPI, db: Database, tenant: Tenant) -> None:
        _, secret = await factories.make_key(db, tenant, scopes=["admin"])
        async with site(app, tenant, secret) as client:
            assert (await client.post("/v1/track", json=track())).status_code == 403
        assert await counts(db, tenant) == (0, 0)

    async def test_a_users_token_is_not_a_write_key(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        assert (await as_manager.post("/v1/track", json=track())).status_code == 403
        assert await counts(db, tenant) == (0, 0)


class TestOrigins:
    async def test_an_origin_not_listed_is_403_and_nothing_is_stored(
        self, app: FastAPI, db: Database, tenant: Tenant, write_key: tuple[ApiKey, str]
    ) -> None:
        await allow_origins(db, tenant, write_key[0], ["https://aurora.exemplo.com.br"])
        async with site(app, tenant, write_key[1], origin="https://golpe.example.net") as client:
            response = await client.post("/v1/batch", json={"batch": [track()]})
        assert response.status_code == 403
        assert await counts(db, tenant) == (0, 0)

    async def test_a_listed_origin_posts_and_gets_cors_headers(
        self, app: FastAPI, db: Database, tenant: Tenant, write_key: tuple[ApiKey, str]
    ) -> None:
        origin = "https://aurora.exemplo.com.br"
        await allow_origins(db, tenant, write_key[0], [origin])
        async with site(app, tenant, write_key[1], origin=origin) as client:
            response = await client.post("/v1/track", json=track())
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == origin
        assert "access-control-allow-credentials" not in response.headers  # the write key, not cookies, authorises

    async def test_a_preflight_is_answered_only_for_a_listed_origin(
        self, app: FastAPI, db: Database, tenant: Tenant, write_key: tuple[ApiKey, str], anonymous: httpx.AsyncClient
    ) -> None:
        origin = "https://aurora.exemplo.com.br"
        await allow_origins(db, tenant, write_key[0], [origin])
        allowed = await anonymous.options("/v1/batch", headers={"origin": origin})
        assert allowed.status_code == 204
        assert allowed.headers["access-control-allow-origin"] == origin
        assert "POST" in allowed.headers["access-control-allow-methods"]
        refused = await anonymous.options("/v1/batch", headers={"origin": "https://golpe.example.net"})
        assert "access-control-allow-origin" not in refused.headers
