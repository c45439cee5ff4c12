"""Signing-key rotation: the first key signs, every key of the verify set verifies, a removed key verifies nothing."""

from __future__ import annotations

import uuid

import httpx
import jwt
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from leadflow.app import create_app
from leadflow.config import Settings
from leadflow.kit.db import Database
from leadflow.kit.tokens import InvalidToken, TokenSigner
from leadflow.models import Tenant, User
from tests import factories

OLD = "the-key-we-used-until-today-" + "o" * 32
NEW = "the-key-we-sign-with-from-now-" + "n" * 32
USER, TENANT = uuid.uuid4(), uuid.uuid4()


def _issue(signer: TokenSigner) -> str:
    return signer.issue(user_id=USER, tenant_id=TENANT, role="manager")


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


class TestTokenSigner:
    def test_new_tokens_are_signed_with_the_first_key(self) -> None:
        token = _issue(TokenSigner([NEW, OLD], 60))
        assert TokenSigner([NEW], 60).verify(token).user_id == USER
        with pytest.raises(InvalidToken):
            TokenSigner([OLD], 60).verify(token)
        assert (
            jwt.get_unverified_header(token)["kid"] != jwt.get_unverified_header(_issue(TokenSigner([OLD], 60)))["kid"]
        )

    def test_a_token_of_a_retired_key_verifies_while_the_key_is_in_the_verify_set(self) -> None:
        token = _issue(TokenSigner([OLD], 60))
        claims = TokenSigner([NEW, OLD], 60).verify(token)
        assert (claims.user_id, claims.tenant_id, claims.role) == (USER, TENANT, "manager")

    def test_a_token_of_a_removed_key_no_longer_verifies(self) -> None:
        token = _issue(TokenSigner([OLD], 60))
        with pytest.raises(InvalidToken):
            TokenSigner([NEW], 60).verify(token)

    def test_a_token_whose_kid_names_a_key_of_the_set_but_was_signed_by_another_is_refused(self) -> None:
        forged = jwt.encode(
            {"sub": str(USER), "tid": str(TENANT), "role": "owner", "aud": "leadflow", "iat": 1, "exp": 4_000_000_000},
            "an-attackers-own-key-" + "a" * 32,
            algorithm="HS256",
            headers={"kid": _kid(_issue(TokenSigner([NEW], 60)))},
        )
        with pytest.raises(InvalidToken):
            TokenSigner([NEW, OLD], 60).verify(forged)

    def test_short_keys_are_refused(self) -> None:
        with pytest.raises(ValueError, match="32 characters"):
            TokenSigner([NEW, "short"], 60)


class TestVerifySetSettings:
    def test_the_current_key_comes_first_then_the_previous_ones(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LEADFLOW_SECRET_KEY", NEW)
        monkeypatch.setenv("LEADFLOW_PREVIOUS_SECRET_KEYS", f'["{OLD}"]')
        assert Settings(_env_file=None).signing_keys() == [NEW, OLD]  # type: ignore[call-arg]

    async def test_a_rotation_keeps_sessions_until_the_old_key_is_dropped(
        self, settings: Settings, db: Database, tenant: Tenant, manager: User
    ) -> None:
        before = create_app(settings.model_copy(update={"secret_key": SecretStr(OLD)}), database=db)
        token = (await factories.login(before, tenant, manager.email))["access_token"]

        during = _with_keys(settings, db, current=NEW, previous=[OLD])
        assert await _me(during, tenant, token) == 200
        fresh = (await factories.login(during, tenant, manager.email))["access_token"]
        after = _with_keys(settings, db, current=NEW, previous=[])
        assert await _me(after, tenant, token) == 401
        assert await _me(after, tenant, fresh) == 200


def _with_keys(settings: Settings, db: Database, *, current: str, previous: list[str]) -> FastAPI:
    keys = {"secret_key": SecretStr(current), "previous_secret_keys": [SecretStr(k) for k in previous]}
    return create_app(settings.model_copy(update=keys), database=db)


async def _me(app: FastAPI, tenant: Tenant, token: str) -> int:
    async with factories.client(app, tenant, token=token) as client:
        response: httpx.Response = await client.get("/v1/me")
    return response.status_code
