"""Nothing logged carries a password, token or key in clear."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from leadflow.kit.logging import REDACTED, redact_secrets
from leadflow.models import Tenant, User
from tests import factories


class TestLogsHoldNoSecrets:
    async def test_a_login_session_logs_no_credential(
        self, app: FastAPI, tenant: Tenant, manager: User, capsys: pytest.CaptureFixture[str]
    ) -> None:
        tokens = await factories.login(app, tenant, manager.email)
        async with factories.client(app, tenant, token=tokens["access_token"]) as c:
            await c.get("/v1/me")
            created = (await c.post("/v1/api-keys", json={"name": "k", "scopes": ["read"]})).json()
            await c.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        logged = capsys.readouterr().err
        assert "request" in logged
        for secret in (factories.PASSWORD, tokens["access_token"], tokens["refresh_token"], created["key"]):
            assert secret not in logged

    def test_the_redactor_masks_sensitive_keys_at_any_depth(self) -> None:
        event = {"event": "x", "password": "p", "nested": {"api_key": "k", "ok": 1}, "Authorization": "Bearer t"}
        out = redact_secrets(None, "info", event)
        assert out["password"] == REDACTED
        assert out["nested"] == {"api_key": REDACTED, "ok": 1}
        assert out["Authorization"] == REDACTED

    async def test_the_audit_log_masks_password_hashes(self, as_manager: httpx.AsyncClient, broker: User) -> None:
        await as_manager.patch(f"/v1/users/{broker.id}", json={"password": "uma-senha-nova-123"})
        entries = (await as_manager.get("/v1/audit", params={"entity_id": str(broker.id)})).json()["items"]
        assert entries[0]["changes"]["password_hash"] == ["***", "***"]
