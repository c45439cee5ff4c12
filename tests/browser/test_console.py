"""The console in a real browser: a broker's and a manager's day, drag and drop on the kanban, a lead's timeline.

Debian's Chromium (``/usr/bin/chromium``) is driven by Playwright against leadflow served by uvicorn on loopback,
with the demo dataset (small) in a migrated SQLite database. Screenshots of every main page are left in
``var/screenshots/`` as test artifacts.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from pydantic import SecretStr

from leadflow.app import create_app
from leadflow.config import Settings
from leadflow.demo.crm import SMALL
from leadflow.demo.seed import DEMO_PASSWORD, seed_demo
from leadflow.kit.db import Database, create_engine
from leadflow.kit.migrate import upgrade
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.lead import service as leads
from leadflow.lead.schemas import LeadCreate
from leadflow.models import Role
from leadflow.person.schemas import PersonCreate
from leadflow.tenant.service import get_tenant_by_slug
from leadflow.user.repository import UserRepository

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
if not CHROMIUM.exists():
    if IN_CI:
        pytest.fail("CI needs Debian's Chromium at /usr/bin/chromium (.ci/run installs it)", pytrace=False)
    pytest.skip(
        "Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True
    )

from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
VENDOR = Path(__file__).resolve().parents[2] / "web" / "node_modules"
BROKER, MANAGER = "ana@demo.example.com", "gestor@demo.example.com"
NEW_LEAD_NAME = "Paula Recém-Chegada"

if not (VENDOR / "htmx.org").is_dir():
    pytest.fail("the console's npm packages are missing: run `make install` (npm ci --prefix web)", pytrace=False)


@dataclass(frozen=True)
class Stack:
    url: str
    db_url: str
    new_lead_id: str


async def _new_lead_for(url: str, email: str, name: str) -> str:
    """A lead handed to a user, created by the service as the capture pipeline would (the console is not involved)."""
    database = Database(create_engine(url))
    try:
        async with database.session(Scope.system()) as session:
            tenant = await get_tenant_by_slug(session, "demo")
        scope = Scope(tenant_id=tenant.id, actor_type="system", role=Role.OWNER.value)
        async with database.session(scope) as session:
            user = await UserRepository(session).by_email(email)
            assert user is not None
            data = LeadCreate(
                person=PersonCreate(name=name, phones=["(11) 97777-0000"]),
                owner_id=user.id,
                source="site",
                first_response_due_at=utcnow() + timedelta(minutes=15),
            )
            return str((await leads.create_lead(session, scope, data=data)).id)
    finally:
        await database.dispose()


async def _seed(url: str) -> str:
    """The demo tenant (small), plus a lead of Ana's that nobody has answered yet (for Meu dia's countdown)."""
    database = Database(create_engine(url))
    try:
        await seed_demo(database, size=SMALL)
        async with database.session(Scope.system()) as session:
            tenant = await get_tenant_by_slug(session, "demo")
        scope = Scope(tenant_id=tenant.id, actor_type="system", role=Role.OWNER.value)
        async with database.session(scope) as session:
            ana = await UserRepository(session).by_email(BROKER)
            assert ana is not None
            data = LeadCreate(
                person=PersonCreate(name=NEW_LEAD_NAME, phones=["(11) 91234-5678"]),
                owner_id=ana.id,
                source="site",
                title="Apartamento 2 dormitórios",
                first_response_due_at=utcnow() + timedelta(minutes=12),
            )
            lead = await leads.create_lead(session, scope, data=data)
            return str(lead.id)
    finally:
        await database.dispose()


def _serve(settings: Settings) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "leadflow did not start"
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("console")
    url = f"sqlite+aiosqlite:///{tmp / 'leadflow.db'}"
    upgrade(url)
    new_lead_id = asyncio.run(_seed(url))
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        data_dir=tmp,
        database_url=url,
        secret_key=SecretStr("console-browser-test-key-" + "x" * 32),
        base_domain="localhost",
        default_tenant="demo",
        redis_url=None,
        log_level="WARNING",
    )
    server, thread, app_url = _serve(settings)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield Stack(url=app_url, db_url=url, new_lead_id=new_lead_id)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _log_in(browser: Browser, stack: Stack, email: str, *, phone: bool = False) -> Page:
    viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    context = browser.new_context(viewport=viewport, locale="pt-BR")  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(f"{stack.url}/app/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Senha").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(f"{stack.url}/app")
    return page


def _drag(page: Page, source: Locator, target: Locator) -> None:
    """A person's drag, by the card's name (not its Move menu): press, move in small steps (SortableJS follows
    the pointer), release over the target."""
    start, end = source.bounding_box(), target.bounding_box()
    assert start
    assert end
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 10, start["y"] + start["height"] / 2 + 10, steps=5)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 20, steps=25)
    page.mouse.up()


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


class TestLoginPage:
    def test_is_in_portuguese_with_labelled_email_and_password_inputs(self, stack: Stack, browser: Browser) -> None:
        page = browser.new_page()
        page.goto(f"{stack.url}/app/login")
        expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
        expect(page.get_by_label("E-mail")).to_have_attribute("type", "email")
        expect(page.get_by_label("Senha")).to_have_attribute("type", "password")
        _shot(page, "login")
        page.close()

    def test_a_wrong_password_is_explained(self, stack: Stack, browser: Browser) -> None:
        page = browser.new_page()
        page.goto(f"{stack.url}/app/login")
        page.get_by_label("E-mail").fill(BROKER)
        page.get_by_label("Senha").fill("senha-errada")
        page.get_by_role("button", name="Entrar").click()
        expect(page.get_by_role("alert")).to_have_text("E-mail ou senha incorretos.")
        page.close()


class TestBroker:
    def test_meu_dia_shows_the_new_lead_with_a_live_countdown(self, stack: Stack, browser: Browser) -> None:
        page = _log_in(browser, stack, BROKER, phone=True)
        expect(page.get_by_role("heading", name=re.compile("Meu dia"))).to_be_visible()
        row = page.locator("li.row", has_text=NEW_LEAD_NAME)
        countdown = row.locator(".countdown")
        first = countdown.inner_text()
        page.wait_for_timeout(1500)
        assert countdown.inner_text() != first, "the countdown does not tick"
        expect(row.get_by_role("link", name=f"WhatsApp para {NEW_LEAD_NAME}")).to_have_attribute(
            "href", "https://wa.me/5511912345678"
        )
        _shot(page, "meu-dia-broker-phone")
        page.context.close()

    def test_drags_a_card_to_the_next_stage(self, stack: Stack, browser: Browser) -> None:
        page = _log_in(browser, stack, BROKER)
        page.goto(f"{stack.url}/app/funil")
        columns = page.locator(".kanban .cards")
        first, second = columns.nth(0), columns.nth(1)
        card = first.locator(".kcard").first
        lead_id = card.get_attribute("data-lead-id")
        with page.expect_response(lambda r: r.url.endswith(f"/app/leads/{lead_id}/move")) as moved:
            _drag(page, card.locator("a"), second)
        assert moved.value.status == 204
        page.reload()
        expect(page.locator(".kanban .cards").nth(1).locator(f'[data-lead-id="{lead_id}"]')).to_have_count(1)
        _shot(page, "funil-broker")
        page.context.close()

    def test_a_move_the_pipeline_forbids_goes_back_with_the_reason(self, stack: Stack, browser: Browser) -> None:
        page = _log_in(browser, stack, BROKER)
        page.goto(f"{stack.url}/app/funil")
        columns = page.locator(".kanban .cards")
        card = columns.nth(0).locator(".kcard").first
        lead_id = card.get_attribute("data-lead-id")
        _drag(page, card.locator("a"), columns.nth(3))  # Venda moves one step at a time in the demo
        expect(page.locator("#alerts .alert")).to_contain_text("não permite mover")
        expect(columns.nth(0).locator(f'[data-lead-id="{lead_id}"]')).to_have_count(1)
        page.context.close()

    def test_opens_a_leads_timeline_and_logs_a_call(self, stack: Stack, browser: Browser) -> None:
        page = _log_in(browser, stack, BROKER)
        page.get_by_role("link", name=NEW_LEAD_NAME, exact=True).click()
        expect(page.get_by_role("heading", name=NEW_LEAD_NAME)).to_be_visible()
        form = page.locator("#log-interaction")
        form.get_by_label("Canal").select_option("call")
        form.get_by_label("Resultado").fill("atendeu")
        form.get_by_label("Anotações").fill("Quer visitar no sábado")
        form.get_by_role("button", name="Registrar contato").click()
        page.wait_for_url(f"{stack.url}/app/leads/{stack.new_lead_id}")
        expect(page.locator("#timeline .tl-interaction").first).to_be_visible()
        _shot(page, "lead-timeline")
        page.context.close()


class TestLiveLeads:
    def test_a_new_lead_appears_on_meu_dia_without_reload_with_a_notification(
        self, stack: Stack, browser: Browser
    ) -> None:
        page = _log_in(browser, stack, BROKER)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(500)  # the stream is open
        # Playwright's sync API owns this thread's event loop: the lead is created from another thread.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, _new_lead_for(stack.db_url, BROKER, "Lúcia Ao Vivo")).result()
        expect(page.locator("#alerts .alert")).to_contain_text("Novo lead: Lúcia Ao Vivo", timeout=15_000)
        expect(page.locator("#awaiting")).to_contain_text("Lúcia Ao Vivo")
        _shot(page, "meu-dia-live-lead")
        page.context.close()


class TestManager:
    def test_sees_the_painel_with_the_demo_figures(self, stack: Stack, browser: Browser) -> None:
        page = _log_in(browser, stack, MANAGER)
        expect(page.get_by_role("heading", name="Painel", exact=True)).to_be_visible()
        expect(page.locator("#won-value")).to_contain_text("R$")
        expect(page.get_by_role("heading", name="Leads por origem")).to_be_visible()
        # The bars are drawn under the CSP (no inline styles): the longest bar of a chart has a width.
        widths = page.locator(".bar-fill").evaluate_all("bars => bars.map(b => b.getBoundingClientRect().width)")
        assert max(widths) > 0, widths
        _shot(page, "painel-manager")
        page.goto(f"{stack.url}/app/leads")
        expect(page.locator("#leads-table tbody tr").first).to_be_visible()
        _shot(page, "leads-manager")
        page.goto(f"{stack.url}/app/funil")
        _shot(page, "funil-manager")
        page.context.close()

    def test_opens_a_lead_page_from_the_list(self, stack: Stack, browser: Browser) -> None:
        page = _log_in(browser, stack, MANAGER)
        page.goto(f"{stack.url}/app/leads")
        page.locator("#leads-table tbody tr th a").first.click()
        expect(page.locator("#timeline li").first).to_be_visible()
        _shot(page, "lead-manager")
        page.context.close()

    def test_tests_the_rules_on_a_sample_lead_and_checks_the_audit_chain(self, stack: Stack, browser: Browser) -> None:
        page = _log_in(browser, stack, MANAGER)
        page.goto(f"{stack.url}/app/configuracoes/regras")
        page.get_by_label("Origem (lead.source)").fill("portal_zap")
        page.get_by_role("button", name="Testar com o lead de exemplo").click()
        expect(page.locator("#rules-outcome")).to_be_visible()
        _shot(page, "configuracoes-regras-manager")
        page.goto(f"{stack.url}/app/configuracoes/equipes")
        _shot(page, "configuracoes-equipes-manager")
        page.goto(f"{stack.url}/app/auditoria")
        expect(page.locator("#chain")).to_contain_text("A cadeia de auditoria está íntegra")  # loaded by htmx
        page.locator("#audit-entries details summary").first.click()
        _shot(page, "auditoria-manager")
        page.context.close()
