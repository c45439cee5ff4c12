"""Access tokens are refused when expired, tampered, unsigned, mis-signed or from another tenant."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from leadflow.kit.time import utcnow
from leadflow.kit.tokens import TokenSigner
from leadflow.models import Tenant, User
from tests import factories


async def _me_status(app: FastAPI, tenant: Tenant, token: str) -> int:
    async with factories.client(app, tenant, token=token) as c:
        return (await c.get("/v1/me")).status_code


def _claims(user: User, **over: object) -> dict[str, object]:
    now = utcnow()
    claims: dict[str, object] = {
        "sub": str(user.id),
        "tid": str(user.tenant_id),
        "role": "owner",
        "aud": "leadflow",
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    claims.update(over)
    return claims


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class TestAccessTokens:
    async def test_an_expired_token_is_refused(self, app: FastAPI, tenant: Tenant, manager: User) -> None:
        key = app.state.settings.signing_keys()[0]
        signer = TokenSigner([key], ttl_seconds=-10)
        token = signer.issue(user_id=manager.id, tenant_id=tenant.id, role="manager")
        assert await _me_status(app, tenant, token) == 401

    async def test_a_tampered_token_is_refused(self, app: FastAPI, tenant: Tenant, manager: User) -> None:
        token = (await factories.login(app, tenant, manager.email))["access_token"]
        header, payload, signature = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["role"] = "owner"
        assert await _me_status(app, tenant, f"{header}.{_b64(claims)}.{signature}") == 401

    async def test_an_unsigned_alg_none_token_is_refused(self, app: FastAPI, tenant: Tenant, manager: User) -> None:
        claims = _claims(manager, iat=1, exp=4_000_000_000)
        token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
        assert await _me_status(app, tenant, token) == 401

    async def test_an_rs256_token_is_refused(self, app: FastAPI, tenant: Tenant, manager: User) -> None:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        token = jwt.encode(_claims(manager), private, algorithm="RS256")
        assert await _me_status(app, tenant, token) == 401

    async def test_an_hs256_token_signed_with_a_public_key_is_refused(
        self, app: FastAPI, tenant: Tenant, manager: User
    ) -> None:
        public_pem = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        token = _forge_hs256(_claims(manager), public_pem)
        assert await _me_status(app, tenant, token) == 401

    async def test_a_token_of_another_tenant_is_answered_404(
        self, app: FastAPI, tenant: Tenant, other_tenant: Tenant, manager: User
    ) -> None:
        token = (await factories.login(app, tenant, manager.email))["access_token"]
        assert await _me_status(app, other_tenant, token) == 404

    async def test_a_token_signed_by_a_previous_key_still_verifies_during_rotation(
        self, app: FastAPI, tenant: Tenant, manager: User
    ) -> None:
        old_key = app.state.settings.signing_keys()[0]
        token = TokenSigner([old_key], 60).issue(user_id=manager.id, tenant_id=tenant.id, role="manager")
        app.state.signer = TokenSigner(["a-brand-new-signing-key-" + "y" * 32, old_key], 60)
        assert await _me_status(app, tenant, token) == 200

    async def test_a_deleted_user_loses_access_at_once(
        self, app: FastAPI, tenant: Tenant, owner: User, manager: User
    ) -> None:
        token = (await factories.login(app, tenant, manager.email))["access_token"]
        async with factories.logged_in(app, tenant, owner) as as_owner:
            assert (await as_owner.delete(f"/v1/users/{manager.id}")).status_code == 204
        assert await _me_status(app, tenant, token) == 401


def _forge_hs256(claims: dict[str, object], secret: bytes) -> str:
    """Sign by hand: PyJWT itself refuses a PEM public key as an HMAC secret."""
    header = _b64({"alg": "HS256", "typ": "JWT"})
    body = _b64({k: int(v.timestamp()) if hasattr(v, "timestamp") else v for k, v in claims.items()})
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"


class TestRefreshTokens:
    async def test_refresh_rotates_the_pair(self, app: FastAPI, tenant: Tenant, manager: User) -> None:
        first = await factories.login(app, tenant, manager.email)
        async with factories.client(app, tenant) as c:
            response = await c.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert response.status_code == 200
        second = response.json()
        assert second["refresh_token"] != first["refresh_token"]
        assert await _me_status(app, tenant, second["access_token"]) == 200

    async def test_reusing_a_spent_refresh_token_revokes_the_whole_family(
        self, app: FastAPI, tenant: Tenant, manager: User
    ) -> None:
        first = await factories.login(app, tenant, manager.email)
        async with factories.client(app, tenant) as c:
            second = (await c.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
            replay = await c.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
            after = await c.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
        assert replay.status_code == 401
        assert replay.json()["type"].endswith("/refresh-token-reused")
        assert after.status_code == 401

    async def test_logout_revokes_the_refresh_token(self, app: FastAPI, tenant: Tenant, manager: User) -> None:
        tokens = await factories.login(app, tenant, manager.email)
        async with factories.client(app, tenant) as c:
            assert (await c.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})).status_code == 204
            again = await c.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert again.status_code == 401

    async def test_a_refresh_token_of_another_tenant_is_refused(
        self, app: FastAPI, tenant: Tenant, other_tenant: Tenant, manager: User
    ) -> None:
        tokens = await factories.login(app, tenant, manager.email)
        async with factories.client(app, other_tenant) as c:
            response = await c.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert response.status_code == 401


class TestThrottling:
    async def test_an_account_is_throttled_after_repeated_failures(
        self, app: FastAPI, tenant: Tenant, manager: User
    ) -> None:
        limit = app.state.login_policy.failures_per_account
        async with factories.client(app, tenant) as c:
            for _ in range(limit):
                assert (
                    await c.post("/v1/auth/login", json={"email": manager.email, "password": "x"})
                ).status_code == 401
            blocked = await c.post("/v1/auth/login", json={"email": manager.email, "password": factories.PASSWORD})
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0

    async def test_an_ip_is_throttled_across_accounts(self, app: FastAPI, tenant: Tenant, manager: User) -> None:
        limit = app.state.login_policy.failures_per_ip
        async with factories.client(app, tenant) as c:
            for n in range(limit):
                await c.post("/v1/auth/login", json={"email": f"ghost{n}@acme.example.com", "password": "x"})
            blocked = await c.post("/v1/auth/login", json={"email": manager.email, "password": factories.PASSWORD})
        assert blocked.status_code == 429

    async def test_a_success_clears_the_account_counter(self, app: FastAPI, tenant: Tenant, manager: User) -> None:
        limit = app.state.login_policy.failures_per_account
        async with factories.client(app, tenant) as c:
            for _ in range(limit - 1):
                await c.post("/v1/auth/login", json={"email": manager.email, "password": "x"})
            assert (
                await c.post("/v1/auth/login", json={"email": manager.email, "password": factories.PASSWORD})
            ).status_code == 200
            await c.post("/v1/auth/login", json={"email": manager.email, "password": "x"})
            again = await c.post("/v1/auth/login", json={"email": manager.email, "password": factories.PASSWORD})
        assert again.status_code == 200
