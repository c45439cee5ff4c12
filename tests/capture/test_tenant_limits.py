"""A noisy tenant meets its walls (429 with Retry-After); its neighbours do not notice.

Each scenario runs with the in-process counter and with Redis (LEADFLOW_TEST_REDIS_URL), on both databases. The
limiter's clock is pinned to the start of a minute, so no test straddles two windows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from leadflow.config import Settings
from leadflow.kit.db import Database
from leadflow.kit.metrics import REGISTRY
from leadflow.kit.scope import Scope
from leadflow.models import ApiKeyKind, LeadForm, Tenant, User
from tests import factories
from tests.capture.factories import counts, site, track
from tests.conftest import IN_CI, REDIS_URL

START_OF_A_MINUTE = 1_780_000_020.0 // 60 * 60
INGEST, API, HOOKS, EVENTS_A_DAY = 3, 2, 2, 5


class PinnedClock:
    def __init__(self) -> None:
        self.now = START_OF_A_MINUTE

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def counter_backend(request: pytest.FixtureRequest) -> str | None:
    if request.param == "memory":
        return None
    if not REDIS_URL:
        if IN_CI:
            pytest.fail("CI=true requires LEADFLOW_TEST_REDIS_URL")
        pytest.skip("set LEADFLOW_TEST_REDIS_URL to test the limits on Redis")
    return REDIS_URL


@pytest.fixture(name="settings")
def small_walls(settings: Settings, counter_backend: str | None) -> Settings:
    return settings.model_copy(
        update={
            "redis_url": counter_backend,
            "tenant_ingest_requests_per_minute": INGEST,
            "tenant_hook_requests_per_minute": HOOKS,
            "tenant_api_requests_per_minute": API,
            "tenant_events_per_day": EVENTS_A_DAY,
        }
    )


@pytest.fixture
def clock(app: FastAPI) -> PinnedClock:
    pinned = PinnedClock()
    app.state.limiter.clock = pinned
    return pinned


@pytest_asyncio.fixture
async def site_a(app: FastAPI, db: Database, tenant: Tenant, clock: PinnedClock) -> AsyncIterator[httpx.AsyncClient]:
    _, key = await factories.make_key(db, tenant, kind=ApiKeyKind.WRITE)
    async with site(app, tenant, key) as client:
        yield client


@pytest_asyncio.fixture
async def site_b(
    app: FastAPI, db: Database, other_tenant: Tenant, clock: PinnedClock
) -> AsyncIterator[httpx.AsyncClient]:
    _, key = await factories.make_key(db, other_tenant, kind=ApiKeyKind.WRITE)
    async with site(app, other_tenant, key) as client:
        yield client


def _batch(size: int) -> dict[str, object]:
    return {"batch": [track() for _ in range(size)]}


def _assert_refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["type"].endswith(code)
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["ratelimit-remaining"] == "0"


class TestIngestionRate:
    async def test_a_tenant_over_its_rate_gets_429_while_another_keeps_posting(
        self, db: Database, tenant: Tenant, site_a: httpx.AsyncClient, site_b: httpx.AsyncClient
    ) -> None:
        for _ in range(INGEST):
            assert (await site_a.post("/v1/track", json=track())).status_code == 200
        refused = await site_a.post("/v1/track", json=track())
        _assert_refused(refused, "/rate-limited")
        assert refused.headers["retry-after"] == "60"
        assert await counts(db, tenant) == (INGEST, 0)  # the refused event is nowhere, not even as rejected
        for _ in range(INGEST):
            assert (await site_b.post("/v1/track", json=track())).status_code == 200

    async def test_the_next_minute_lets_the_tenant_in_again(
        self, site_a: httpx.AsyncClient, clock: PinnedClock
    ) -> None:
        for _ in range(INGEST):
            await site_a.post("/v1/track", json=track())
        assert (await site_a.post("/v1/track", json=track())).status_code == 429
        clock.now += 60
        assert (await site_a.post("/v1/track", json=track())).status_code == 200

    async def test_two_write_keys_of_one_tenant_share_its_wall_and_not_another_tenants(
        self, app: FastAPI, db: Database, tenant: Tenant, site_a: httpx.AsyncClient, site_b: httpx.AsyncClient
    ) -> None:
        _, second_key = await factories.make_key(db, tenant, kind=ApiKeyKind.WRITE)
        for _ in range(INGEST - 1):
            assert (await site_a.post("/v1/track", json=track())).status_code == 200
        assert (await site_b.post("/v1/track", json=track())).status_code == 200
        async with site(app, tenant, second_key) as second_site:
            assert (await second_site.post("/v1/track", json=track())).status_code == 200
            assert (await second_site.post("/v1/track", json=track())).status_code == 429

    async def test_a_request_with_an_unknown_write_key_spends_nothing(
        self, app: FastAPI, tenant: Tenant, site_a: httpx.AsyncClient
    ) -> None:
        async with site(app, tenant, "lf_wk_not-a-key") as stranger:
            for _ in range(INGEST + 2):
                assert (await stranger.post("/v1/track", json=track())).status_code == 401
        assert (await site_a.post("/v1/track", json=track())).status_code == 200

    async def test_form_posts_count_in_the_tenants_ingestion(
        self, app: FastAPI, db: Database, tenant: Tenant, other_tenant: Tenant, clock: PinnedClock
    ) -> None:
        for owner in (tenant, other_tenant):
            async with db.session(factories.owner_scope(owner)) as session:
                session.add(LeadForm(key="contato", name="Fale conosco"))
        fields = {"name": "Maria Silva", "phone": "(11) 98765-4321"}
        async with factories.client(app, tenant) as visitor_a, factories.client(app, other_tenant) as visitor_b:
            for _ in range(INGEST):
                assert (await visitor_a.post("/v1/forms/contato", json=fields)).status_code == 202
            _assert_refused(await visitor_a.post("/v1/forms/contato", json=fields), "/rate-limited")
            assert (await visitor_b.post("/v1/forms/contato", json=fields)).status_code == 202

    async def test_webhook_deliveries_have_their_own_wall(
        self, app: FastAPI, tenant: Tenant, other_tenant: Tenant, site_a: httpx.AsyncClient
    ) -> None:
        async with factories.client(app, tenant) as provider_a, factories.client(app, other_tenant) as provider_b:
            for _ in range(HOOKS):
                assert (await provider_a.get("/hooks/whatsapp/nope")).status_code != 429
            _assert_refused(await provider_a.get("/hooks/whatsapp/nope"), "/rate-limited")
            assert (await provider_b.get("/hooks/whatsapp/nope")).status_code != 429
        assert (await site_a.post("/v1/track", json=track())).status_code == 200


class TestDailyEventQuota:
    async def test_a_batch_beyond_the_quota_is_refused_and_nothing_of_it_is_stored(
        self, db: Database, tenant: Tenant, site_a: httpx.AsyncClient, clock: PinnedClock
    ) -> None:
        assert (await site_a.post("/v1/batch", json=_batch(EVENTS_A_DAY - 1))).status_code == 200
        before = REGISTRY.get_sample_value("leadflow_events_over_quota_total") or 0.0
        refused = await site_a.post("/v1/batch", json=_batch(2))
        _assert_refused(refused, "/quota-exceeded")
        assert await counts(db, tenant) == (EVENTS_A_DAY - 1, 0)
        assert REGISTRY.get_sample_value("leadflow_events_over_quota_total") == before + 2
        assert (await site_a.post("/v1/batch", json=_batch(1))).status_code == 200  # the refused took no place
        assert await counts(db, tenant) == (EVENTS_A_DAY, 0)

    async def test_the_quota_of_one_tenant_is_not_another_tenants(
        self, db: Database, other_tenant: Tenant, site_a: httpx.AsyncClient, site_b: httpx.AsyncClient
    ) -> None:
        assert (await site_a.post("/v1/batch", json=_batch(EVENTS_A_DAY))).status_code == 200
        assert (await site_a.post("/v1/track", json=track())).status_code == 429
        assert (await site_b.post("/v1/batch", json=_batch(EVENTS_A_DAY))).status_code == 200
        assert await counts(db, other_tenant) == (EVENTS_A_DAY, 0)

    async def test_a_tenants_own_quota_overrides_the_default(
        self, db: Database, tenant: Tenant, site_a: httpx.AsyncClient
    ) -> None:
        async with db.session(Scope.system()) as session:
            stored = await session.get_one(Tenant, tenant.id)
            stored.settings = {**stored.settings, "limits": {"events_per_day": 1}}
        assert (await site_a.post("/v1/track", json=track())).status_code == 200
        _assert_refused(await site_a.post("/v1/track", json=track()), "/quota-exceeded")


class TestApiRate:
    async def test_a_tenant_over_its_api_rate_gets_429_while_another_is_served(
        self, app: FastAPI, db: Database, tenant: Tenant, other_tenant: Tenant, manager: User, clock: PinnedClock
    ) -> None:
        rival = await factories.make_user(db, other_tenant, email="gestor@rival.example.com")
        async with factories.logged_in(app, tenant, manager) as a, factories.logged_in(app, other_tenant, rival) as b:
            for _ in range(API):
                assert (await a.get("/v1/me")).status_code == 200
            _assert_refused(await a.get("/v1/me"), "/rate-limited")
            assert (await b.get("/v1/me")).status_code == 200

    async def test_requests_with_a_bad_token_do_not_spend_the_tenants_budget(
        self, app: FastAPI, tenant: Tenant, manager: User, clock: PinnedClock
    ) -> None:
        async with factories.client(app, tenant, token="lf_sk_forged") as stranger:
            for _ in range(API + 3):
                assert (await stranger.get("/v1/me")).status_code == 401
        async with factories.logged_in(app, tenant, manager) as a:
            assert (await a.get("/v1/me")).status_code == 200
