"""The landing pages in a real browser: a Google ad click lands on a development's page, the visitor sends the
form, and the capture pipeline (the in-process bus worker, as in `leadflow demo`) makes it a lead with the ad's
first touch and click id, routed by the roleta. A second visitor, with JavaScript off, does the same on a property.

Debian's Chromium (``/usr/bin/chromium``) is driven by Playwright against leadflow served by uvicorn on loopback,
with the demo dataset (small) in a migrated SQLite database. Screenshots go to ``var/screenshots/landing-*.png``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy import select

from leadflow.app import create_app
from leadflow.config import Settings
from leadflow.demo.crm import SMALL
from leadflow.demo.seed import seed_demo
from leadflow.kit.db import Database, create_engine
from leadflow.kit.migrate import upgrade
from leadflow.kit.scope import Scope
from leadflow.models import Development, Lead, LeadConversion, LeadForm, Person, Property, PropertyStatus, Tenant, User

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
if not CHROMIUM.exists():
    if IN_CI:
        pytest.fail("CI needs Debian's Chromium at /usr/bin/chromium (.ci/run installs it)", pytrace=False)
    pytest.skip(
        "Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True
    )

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
DEVELOPMENT = "/empreendimentos/residencial-jardim-das-acacias"
AD_CLICK = "utm_source=google&utm_medium=cpc&utm_campaign=jardins&gclid=TeSt-Landing-42"
FIRST_TOUCH = {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "jardins", "gclid": "TeSt-Landing-42"}
T = TypeVar("T")


@dataclass
class Demo:
    url: str
    database_url: str

    def query(self, probe: Callable[[Any], Any]) -> Any:
        """Runs ``probe(session)`` against the demo tenant's data in a fresh engine (the server owns its own)."""

        async def run() -> Any:
            db = Database(create_engine(self.database_url))
            try:
                async with db.session(Scope.system()) as session:
                    tenant = (await session.scalars(select(Tenant).where(Tenant.slug == "demo"))).one()
                async with db.session(Scope.for_tenant(tenant.id)) as session:
                    return await probe(session)
            finally:
                await db.dispose()

        # Playwright's sync API keeps an event loop running in this thread: the query gets a thread of its own.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, run()).result()


def _serve(settings: Settings) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "leadflow did not start"
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("landing")
    url = f"sqlite+aiosqlite:///{tmp / 'leadflow.db'}"
    upgrade(url)

    async def seed() -> None:
        db = Database(create_engine(url))
        try:
            await seed_demo(db, size=SMALL)
        finally:
            await db.dispose()

    asyncio.run(seed())
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        data_dir=tmp,
        database_url=url,
        secret_key=SecretStr("landing-browser-test-key-" + "x" * 32),
        base_domain="localhost",
        default_tenant="demo",  # as `make demo`: the loopback host is the demo tenant's site
        redis_url=None,
        log_level="WARNING",
        worker_in_process=True,
    )
    server, thread, app_url = _serve(settings)
    try:
        yield Demo(url=app_url, database_url=url)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _wait_for(probe: Callable[[], T | None], what: str, seconds: float = 20) -> T:
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _lead_of(demo: Demo, name: str) -> tuple[Lead, User | None, LeadConversion] | None:
    async def probe(session: Any) -> tuple[Lead, User | None, LeadConversion] | None:
        row = (
            await session.execute(
                select(Lead, LeadConversion)
                .join(Person, Person.id == Lead.person_id)
                .join(LeadConversion, LeadConversion.lead_id == Lead.id)
                .where(Person.name == name)
            )
        ).first()
        if row is None or row.Lead.owner_id is None:
            return None
        owner = await session.get(User, row.Lead.owner_id)
        return row.Lead, owner, row.LeadConversion

    result: tuple[Lead, User | None, LeadConversion] | None = demo.query(probe)
    return result


def _fill(page: Page, name: str, phone: str, email: str) -> None:
    page.get_by_label("Nome").fill(name)
    page.get_by_label("Telefone ou WhatsApp").fill(phone)
    page.get_by_label("E-mail").fill(email)


class TestAVisitorFromAGoogleAd:
    def test_sends_the_development_form_and_becomes_a_routed_lead_with_the_ads_first_touch(
        self, demo: Demo, browser: Browser
    ) -> None:
        context = browser.new_context(locale="pt-BR", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{demo.url}/")
        page.screenshot(path=str(SCREENSHOTS / "landing-home.png"), full_page=True)

        page.goto(f"{demo.url}{DEVELOPMENT}?{AD_CLICK}")
        page.wait_for_function("window.leadflow && window.leadflow.version")
        tracking_id = page.evaluate("leadflow.trackingId()")
        assert tracking_id.startswith("trk_")
        assert page.locator("h1").inner_text() == "Residencial Jardim das Acácias"
        form = page.locator("form[data-leadflow-form]")
        assert form.get_attribute("action") == "/v1/forms/lancamento-jardins"
        _fill(page, "Marina Teixeira", "(19) 98123-4567", "marina.teixeira@example.com")
        page.screenshot(path=str(SCREENSHOTS / "landing-development.png"), full_page=True)
        page.get_by_role("button", name="Enviar").click()
        page.wait_for_url("**/obrigado")
        assert "Obrigado!" in page.locator("h1").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "landing-thanks.png"))
        context.close()

        lead, owner, conversion = _wait_for(
            lambda: _lead_of(demo, "Marina Teixeira"), "the lead to be created and assigned"
        )
        assert {key: lead.first_touch.get(key) for key in FIRST_TOUCH} == FIRST_TOUCH
        assert lead.channel == "Paid Search"
        assert "google-ads" in lead.tags  # the demo rule for Google ad clicks ran
        assert owner is not None
        assert owner.email.endswith("@demo.example.com")
        assert conversion.form_key == "lancamento-jardins"
        assert conversion.enrichment["tracking_id"] == tracking_id  # t.js filled the hidden fields
        development = demo.query(
            lambda s: s.scalar(select(Development.id).where(Development.slug == "residencial-jardim-das-acacias"))
        )
        assert lead.development_id == development


class TestAVisitorWithoutJavaScript:
    def test_reads_a_property_page_and_sends_its_form_with_the_campaign_of_the_link(
        self, demo: Demo, browser: Browser
    ) -> None:
        reference = _an_available_property(demo)
        context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
        page = context.new_page()
        page.goto(f"{demo.url}/imoveis/{reference.lower()}?utm_source=facebook&utm_medium=paid_social&fbclid=FbX9")
        assert page.locator(".price").first.inner_text().startswith("R$ ")
        assert page.locator("script[data-write-key]").count() == 1  # served, just not run
        _fill(page, "Otávio Ramos", "(11) 97654-3210", "otavio.ramos@example.com")
        page.screenshot(path=str(SCREENSHOTS / "landing-property-mobile.png"), full_page=True)
        page.get_by_role("button", name="Enviar").click()
        page.wait_for_url("**/obrigado")
        context.close()

        lead, owner, conversion = _wait_for(
            lambda: _lead_of(demo, "Otávio Ramos"), "the lead to be created and assigned"
        )
        assert lead.first_touch["utm_source"] == "facebook"
        assert lead.first_touch["fbclid"] == "FbX9"
        assert lead.channel == "Paid Social"
        assert owner is not None
        assert conversion.form_key == "contato"
        assert conversion.enrichment["tracking_id"] is None  # no t.js, no tracking id


def _an_available_property(demo: Demo) -> str:
    async def probe(session: Any) -> str:
        stmt = (
            select(Property.reference)
            .where(Property.status == PropertyStatus.AVAILABLE, Property.development_id.is_(None))
            .order_by(Property.reference)
            .limit(1)
        )
        reference: str = (await session.scalars(stmt)).one()
        assert (await session.scalars(select(LeadForm.key).where(LeadForm.property_id.is_not(None)))).first() is None
        return reference

    result: str = demo.query(probe)
    return result
