"""The declarative authorisation matrix (tests/authz_matrix.py) holds for the real app: every route answered as
declared for every kind of caller, and no route of the app is left out of the matrix."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from leadflow.models import ApiKeyKind, Tenant, User
from tests import factories
from tests.authz_matrix import ALLOW, AUTH, CALLERS, DENY, MATRIX, Expect
from tests.conftest import POSTGRES_URL

PARAM = re.compile(r"{(\w+)}")
# Placeholders for path parameters that are not ids.
NON_ID_PARAMS = {"version": "1", "form_key": "no-such-form"}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, those hidden from the OpenAPI included."""
    return {
        (method, context.path)
        for context in iter_route_contexts(app.routes)
        for method in (context.methods or ())
        if method != "HEAD"
    }


def classify(status: int) -> Expect | None:
    if status == 401:
        return AUTH
    if status == 403:
        return DENY
    if status >= 500:
        return None
    return ALLOW


def concrete(path: str) -> str:
    return PARAM.sub(lambda m: NON_ID_PARAMS.get(m.group(1), str(uuid.uuid4())), path)


@dataclass
class Callers:
    headers: dict[str, dict[str, str]]


@pytest.fixture
async def callers(app: FastAPI, tenant: Tenant, owner: User, manager: User, broker: User, viewer: User) -> Callers:
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for name, user in (("owner", owner), ("manager", manager), ("broker", broker), ("viewer", viewer)):
        tokens = await factories.login(app, tenant, user.email)
        headers[name] = {"Authorization": f"Bearer {tokens['access_token']}"}
    _, write_key = await factories.make_key(app.state.db, tenant, kind=ApiKeyKind.WRITE)
    _, secret_key = await factories.make_key(app.state.db, tenant, scopes=["read", "write"])
    headers["write_key"] = {"Authorization": f"Bearer {write_key}"}
    headers["secret_key"] = {"Authorization": f"Bearer {secret_key}"}
    return Callers(headers)


class TestTheAuthorisationMatrix:
    def test_declares_every_route_of_the_app_and_nothing_else(self, app: FastAPI) -> None:
        routes = app_routes(app)
        missing = sorted(routes - MATRIX.keys())
        stale = sorted(MATRIX.keys() - routes)
        assert missing == [], f"routes missing from tests/authz_matrix.py (declare who may call them): {missing}"
        assert stale == [], f"tests/authz_matrix.py declares routes the app does not have: {stale}"

    def test_declares_every_kind_of_caller_for_every_route(self) -> None:
        incomplete = sorted(route for route, row in MATRIX.items() if set(row) != set(CALLERS))
        assert incomplete == []

    async def test_every_caller_gets_the_declared_answer_on_every_route(
        self, backend: str, app: FastAPI, tenant: Tenant, callers: Callers
    ) -> None:
        if backend == "sqlite" and POSTGRES_URL:
            pytest.skip("authorisation does not depend on the database: one backend suffices (PostgreSQL)")
        mismatches = []
        async with factories.client(app, tenant) as client:
            for (method, path), row in sorted(MATRIX.items()):
                url = concrete(path)
                for caller in CALLERS:
                    body = {} if method in ("POST", "PUT", "PATCH") else None
                    response = await client.request(method, url, json=body, headers=callers.headers[caller])
                    got = classify(response.status_code)
                    if got != row[caller]:
                        mismatches.append(
                            f"{method} {path} as {caller}: {response.status_code}, declared {row[caller]}"
                        )
        assert mismatches == [], "\n".join(mismatches)
