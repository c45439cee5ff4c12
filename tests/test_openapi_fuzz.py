"""Schemathesis over the app's own OpenAPI: whatever a client sends, the app never answers with a server error or
with a body its schema does not describe, and no route that declares authentication serves a caller without it.

Every operation is fuzzed with an owner's token and without any credential, with a bounded, derandomised
number of examples (``LEADFLOW_FUZZ_EXAMPLES``, default 2; one without credentials) so the run stays inside
``make test``'s budget. The app runs in-process (httpx's ASGI transport) on its own migrated database:
PostgreSQL as the non-owner app login (row-level security on) when ``LEADFLOW_TEST_POSTGRES_URL`` is set,
SQLite otherwise.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from pydantic import SecretStr
from schemathesis import APIOperation, Case
from schemathesis.checks import not_a_server_error, response_schema_conformance

from leadflow.app import create_app
from leadflow.config import Settings
from leadflow.kit.db import Database, create_engine
from leadflow.kit.migrate import upgrade
from leadflow.models import Role, Tenant
from tests import factories
from tests.conftest import POSTGRES_URL, as_app_login, drop_postgres_database, new_postgres_database

MAX_EXAMPLES = int(os.environ.get("LEADFLOW_FUZZ_EXAMPLES", "2"))
# Refusing a caller without credentials does not depend on the payload: fewer examples suffice.
MAX_EXAMPLES_WITHOUT_CREDENTIALS = 1
HOST = "acme.localhost"
# Without credentials a route that declares authentication may only refuse: 401, or earlier, for the envelope
# alone (a malformed, oversized or wrongly typed body is refused before anyone is asked who they are).
REFUSALS_WITHOUT_CREDENTIALS = {400, 401, 413, 415}


def _settings(data_dir: object) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        data_dir=data_dir,  # type: ignore[arg-type]
        secret_key=SecretStr("fuzz-signing-key-" + "x" * 32),
        base_domain="localhost",
        redis_url=None,
        log_format="json",
        log_level="CRITICAL",  # every 4xx logs a line; thousands of them would drown the output
    )


def _operations() -> list[APIOperation]:
    app = create_app(_settings("var"), database=Database(create_engine("sqlite+aiosqlite://")))
    schema = schemathesis.openapi.from_dict(app.openapi())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50, "the OpenAPI lists too few operations"
    return operations


OPERATIONS = _operations()


def _requires_credentials(operation: APIOperation) -> bool:
    return bool(operation.definition.raw.get("security"))


@dataclass
class World:
    """One app with a tenant and its owner, driven on an event loop of its own (hypothesis tests are sync)."""

    runner: asyncio.Runner
    client: httpx.AsyncClient
    token: str

    def call(self, case: Case, *, authenticated: bool) -> httpx.Response:
        kwargs = case.as_transport_kwargs(base_url=f"http://{HOST}")
        headers: dict[str, str] = {k: v for k, v in kwargs.pop("headers", {}).items() if k.lower() != "authorization"}
        if authenticated:
            headers["Authorization"] = f"Bearer {self.token}"
        kwargs.pop("cookies", None)
        if isinstance(kwargs.get("data"), bytes | str):
            kwargs["content"] = kwargs.pop("data")
        response: httpx.Response = self.runner.run(self.client.request(headers=headers, **kwargs))
        self.runner.run(response.request.aread())  # a multipart body is a stream: the checks read it again
        return response


def _database_url(backend: str, tmp_dir: object) -> tuple[str, str, str | None]:
    """(owner URL, app URL, PostgreSQL URL to drop afterwards)."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_dir}/fuzz.db"
        return url, url, None
    owner = new_postgres_database()
    return owner, as_app_login(owner), owner


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp_dir = tmp_path_factory.mktemp("fuzz")
    # One backend keeps the run inside its budget: PostgreSQL when there is one (stricter types, row security).
    owner_url, app_url, to_drop = _database_url("postgresql" if POSTGRES_URL else "sqlite", tmp_dir)
    upgrade(owner_url, app_url=app_url)
    runner = asyncio.Runner()
    db = Database(create_engine(app_url))
    app = create_app(_settings(tmp_dir), database=db)

    async def open_world() -> World:
        tenant = await factories.make_tenant(db, "acme", "Acme Imóveis")
        owner = await factories.make_user(db, tenant, role=Role.OWNER, email="dona@acme.example.com")
        tokens = await factories.login(app, tenant, owner.email)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{HOST}")
        return World(runner, client, tokens["access_token"])

    world = runner.run(open_world())
    try:
        yield world
    finally:
        runner.run(world.client.aclose())
        runner.run(db.dispose())
        runner.close()
        if to_drop:
            drop_postgres_database(to_drop)


def _fuzz(operation: APIOperation, check: Any, *, examples: int = MAX_EXAMPLES) -> None:
    @hypothesis_settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Case) -> None:
        check(case)

    run()


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
class TestEveryOperation:
    def test_with_an_owners_token_never_answers_a_server_error_or_an_undocumented_body(
        self, world: World, operation: APIOperation
    ) -> None:
        def check(case: Case) -> None:
            response = world.call(case, authenticated=True)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        _fuzz(operation, check)

    def test_without_credentials_never_serves_a_route_that_requires_them(
        self, world: World, operation: APIOperation
    ) -> None:
        def check(case: Case) -> None:
            response = world.call(case, authenticated=False)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
            if _requires_credentials(operation):
                assert response.status_code in REFUSALS_WITHOUT_CREDENTIALS, (
                    f"{case.method} {case.formatted_path} answered {response.status_code} without credentials"
                )

        _fuzz(operation, check, examples=MAX_EXAMPLES_WITHOUT_CREDENTIALS)


class TestWhatTheFuzzingFound:
    """Regressions of the server errors Schemathesis found, on both backends."""

    async def test_an_integer_beyond_the_databases_range_is_a_validation_error(
        self, as_manager: httpx.AsyncClient
    ) -> None:
        response = await as_manager.get(f"/v1/rule-sets/{2**63}")  # PostgreSQL int32 and SQLite int64 overflow
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")

    async def test_a_nul_character_in_stored_text_is_never_a_server_error(self, as_manager: httpx.AsyncClient) -> None:
        response = await as_manager.post("/v1/loss-reasons", json={"name": "sem\u0000interesse"})
        assert response.status_code in (201, 422)  # PostgreSQL cannot store NUL in text: 422 there

    async def test_a_form_cannot_point_at_another_tenants_team(
        self, db: Database, as_manager: httpx.AsyncClient, other_tenant: Tenant
    ) -> None:
        theirs = await factories.make_team(db, other_tenant, "Vendas", [])
        response = await as_manager.post(
            "/v1/forms", json={"key": "contato", "name": "Contato", "team_id": str(theirs.id)}
        )
        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "team_id"}]
