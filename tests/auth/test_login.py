from __future__ import annotations

import httpx
from fastapi import FastAPI

from leadflow.kit.crypto import hash_password, verify_password
from leadflow.models import Tenant, User
from tests import factories


class TestLogin:
    async def test_a_user_logs_in_and_reads_who_they_are(self, app: FastAPI, tenant: Tenant, manager: User) -> None:
        tokens = await factories.login(app, tenant, manager.email)
        assert tokens["token_type"] == "bearer"
        assert tokens["expires_in"] > 0
        assert tokens["refresh_token"]
        async with factories.client(app, tenant, token=tokens["access_token"]) as c:
            me = (await c.get("/v1/me")).json()
        assert me["user"]["email"] == manager.email
        assert me["user"]["role"] == "manager"
        assert me["tenant"]["slug"] == "acme"

    async def test_a_wrong_password_is_refused_as_problem(self, anonymous: httpx.AsyncClient, manager: User) -> None:
        response = await anonymous.post("/v1/auth/login", json={"email": manager.email, "password": "nope"})
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("/invalid-credentials")

    async def test_the_api_ignores_an_access_token_sent_as_a_cookie(
        self, app: FastAPI, tenant: Tenant, manager: User
    ) -> None:
        """A browser sends cookies with cross-site requests; only a Bearer header proves the caller chose to."""
        tokens = await factories.login(app, tenant, manager.email)
        async with factories.client(app, tenant) as c:
            for name in ("lf_access", "lf_console_at", "__Host-lf_at"):
                c.cookies.set(name, tokens["access_token"])
            assert (await c.get("/v1/me")).status_code == 401


class TestPasswordHashing:
    def test_passwords_are_stored_as_argon2id_and_verify(self) -> None:
        stored = hash_password("senha-secreta-123")
        assert stored.startswith("$argon2id$")
        assert "senha-secreta-123" not in stored
        assert verify_password(stored, "senha-secreta-123")
        assert not verify_password(stored, "senha-errada")
