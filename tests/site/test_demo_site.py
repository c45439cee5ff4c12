"""The demo's landing pages, as `make demo` serves them (LEADFLOW_DEFAULT_TENANT=demo on localhost)."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from leadflow.app import create_app
from leadflow.config import Settings
from leadflow.demo.crm import SMALL
from leadflow.demo.seed import DEMO_WRITE_KEY, seed_demo
from leadflow.kit.db import Database

DEVELOPMENT = "/empreendimentos/residencial-jardim-das-acacias"


@pytest.fixture
def demo_app(settings: Settings, db: Database) -> FastAPI:
    return create_app(settings.model_copy(update={"default_tenant": "demo"}), database=db)


async def _get(app: FastAPI, base_url: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as client:
        return await client.get(path)


class TestDemoSite:
    async def test_localhost_serves_the_demo_home_and_a_development_page_with_its_launch_form_and_t_js(
        self, db: Database, demo_app: FastAPI
    ) -> None:
        # One seed for every check: loading the demo is the slow part.
        await seed_demo(db, size=SMALL)
        home = (await _get(demo_app, "http://localhost:8000", "/")).text
        assert "<title>Imobiliária Demo</title>" in home
        assert len(re.findall(r'href="/empreendimentos/[^"]+"', home)) == 3
        assert re.search(r'href="/imoveis/[a-z]{2}-\d{4}"', home)

        response = await _get(demo_app, "http://localhost:8000", DEVELOPMENT)
        assert response.status_code == 200
        page = response.text
        assert 'action="/v1/forms/lancamento-jardins" data-leadflow-form="lancamento-jardins"' in page
        assert f'src="http://localhost:8000/t.js" data-write-key="{DEMO_WRITE_KEY}"' in page

        # The other demo tenant has the same development (its own rows) and none of the demo's site settings.
        other = (await _get(demo_app, "http://outra.localhost:8000", DEVELOPMENT)).text
        assert "Residencial Jardim das Acácias" in other
        assert "data-write-key" not in other
