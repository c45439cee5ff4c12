from __future__ import annotations

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from leadflow.config import Settings


class TestOperations:
    async def test_healthz_answers_without_a_tenant(self, app: FastAPI) -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://any.host") as c:
            assert (await c.get("/healthz")).json() == {"status": "ok"}

    async def test_readyz_reports_a_migrated_database(self, app: FastAPI) -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://any.host") as c:
            body = (await c.get("/readyz")).json()
        assert body["status"] == "ready"
        assert body["database"] in {"sqlite", "postgresql"}

    async def test_metrics_count_requests_by_route_and_status(self, anonymous: httpx.AsyncClient) -> None:
        await anonymous.get("/healthz")
        text = (await anonymous.get("/metrics")).text
        assert 'leadflow_http_requests_total{method="GET",route="/healthz",status="200"}' in text
        assert "leadflow_http_request_duration_seconds_bucket" in text


class TestProtectedMetrics:
    async def test_with_a_token_configured_only_the_scraper_reads_them(
        self, anonymous: httpx.AsyncClient, settings: Settings
    ) -> None:
        settings.metrics_token = SecretStr("scrape-" + "z" * 32)
        assert (await anonymous.get("/metrics")).status_code == 401
        wrong = await anonymous.get("/metrics", headers={"Authorization": "Bearer scrape-nope"})
        assert wrong.status_code == 401
        right = await anonymous.get("/metrics", headers={"Authorization": f"Bearer scrape-{'z' * 32}"})
        assert right.status_code == 200
        assert "leadflow_http_requests_total" in right.text
