"""From a click on an ad to a routed lead, in a real browser: a visit with UTMs and a gclid, a second page, a
``data-leadflow-form`` form posted to ``/v1/forms/contato`` → the lead is in the database with the first touch and
the click id, handed to a broker by the roleta, with its routing explanation stored.

Debian's Chromium drives the site (pages on a loopback server that embed the snippet leadflow hands out) against a
real leadflow (uvicorn) whose bus worker runs in the server process (``worker_in_process``, as ``leadflow demo``),
on a fresh SQLite file and a fresh PostgreSQL database. Prints the time from the form's answer to the assignment.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, Response, sync_playwright
from pydantic import SecretStr
from sqlalchemy import select

from leadflow.auth import service as auth
from leadflow.auth.schemas import ApiKeyCreate
from leadflow.config import Settings
from leadflow.kit.db import Database, create_engine
from leadflow.kit.migrate import upgrade
from leadflow.kit.scope import Scope
from leadflow.lead.funnel import ensure_default_pipelines
from leadflow.models import ApiKeyKind, Event, EventType, Lead, LeadAssignment, LeadConversion, Role
from leadflow.tenant.service import create_tenant
from tests import factories
from tests.browser.test_tracking_script import (  # the servers and browser of the t.js checks
    CAMPAIGN_QUERY,
    CHROMIUM,
    CHROMIUM_ARGS,
    CONTACT_INPUTS,
    FIRST_TOUCH,
    Site,
    _fill_contact,
    _loaded,
    _page,
    _serve_app,
    _snippet,
)
from tests.conftest import drop_postgres_database, new_postgres_database

ASSIGNED_WITHIN = 15.0  # seconds: generous for a loaded CI machine; the measured time is printed
T = TypeVar("T")


def _aside(function: Callable[..., T], *args: Any) -> T:
    """Run ``function`` in a thread of its own: Playwright's sync API keeps an event loop running in this one, and
    ``asyncio.run`` (our database helpers, the migrations) refuses to start inside it."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


@dataclass
class RoutedStack:
    backend: str
    url: str
    tenant_id: uuid.UUID
    app_url: str
    site: Site
    api: httpx.Client  # an admin API key of the tenant
    brokers: dict[uuid.UUID, str]


async def _seed(url: str, site_origin: str) -> tuple[uuid.UUID, str, str, uuid.UUID, dict[uuid.UUID, str]]:
    """A tenant with its default pipelines, a write key for the site, an admin key, and team "Vendas" (two
    brokers and their manager) that receives the contact form's leads."""
    database = Database(create_engine(url))
    try:
        async with database.session(Scope.system()) as session:
            tenant = await create_tenant(session, slug="jardins", name="Jardins Imóveis")
        scope = factories.owner_scope(tenant)
        async with database.session(scope) as session:
            await ensure_default_pipelines(session, scope)
            site_key = ApiKeyCreate(name="Site", kind=ApiKeyKind.WRITE, allowed_origins=[site_origin])
            _, write_key = await auth.create_api_key(session, scope, data=site_key)
            admin = ApiKeyCreate(name="Testes", kind=ApiKeyKind.SECRET, scopes=["admin", "read"])
            _, admin_key = await auth.create_api_key(session, scope, data=admin)
        brokers = [
            await factories.make_user(database, tenant, role=Role.BROKER, name=name)
            for name in ("Ana Corretora", "Bruno Corretor")
        ]
        manager = await factories.make_user(database, tenant, role=Role.MANAGER, name="Gerente Vendas")
        team = await factories.make_team(database, tenant, "Vendas", [*brokers, manager])
    finally:
        await database.dispose()
    return tenant.id, write_key, admin_key, team.id, {b.id: b.name for b in brokers}


def _build_site(site: Site, app_url: str, snippet: str) -> None:
    form = (
        f'<form id="ours" data-leadflow-form="contato" action="{app_url}/v1/forms/contato" method="post">'
        f'{CONTACT_INPUTS}<input name="lf_hp" style="display:none"><button type="submit">Enviar</button></form>'
    )
    site.pages.update(
        {
            "/jardins.html": _page("Residencial Jardins", snippet, '<a id="contato" href="/contato.html">Contato</a>'),
            "/contato.html": _page("Fale conosco", snippet, form),
            "/obrigado.html": _page("Obrigado", snippet, "<p>Recebemos seu contato.</p>"),
        }
    )


@pytest.fixture(scope="module")
def routed(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoutedStack]:
    tmp = tmp_path_factory.mktemp(f"routed-{backend}")
    url = f"sqlite+aiosqlite:///{tmp / 'leadflow.db'}" if backend == "sqlite" else _aside(new_postgres_database)
    site = Site()
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        _aside(upgrade, url)
        tenant_id, write_key, admin_key, team_id, brokers = _aside(asyncio.run, _seed(url, site.origin))
        settings = Settings(
            _env_file=None,
            env="test",
            data_dir=tmp,
            database_url=url,
            secret_key=SecretStr("browser-test-signing-key-" + "x" * 32),
            base_domain="localhost",
            default_tenant="jardins",
            redis_url=None,
            log_level="WARNING",
            worker_in_process=True,  # the roleta runs in the server process, as under `leadflow demo`
        )
        server, thread, app_url = _serve_app(settings)
        api = httpx.Client(base_url=app_url, headers={"Authorization": f"Bearer {admin_key}"}, timeout=10)
        try:
            form = {
                "key": "contato",
                "name": "Fale conosco",
                "team_id": str(team_id),
                "thank_you_url": f"{site.origin}/obrigado.html",
            }
            created = api.post("/v1/forms", json=form)
            assert created.status_code == 201, created.text
            _build_site(site, app_url, _snippet(api, write_key, consent_required=False))
            yield RoutedStack(backend, url, tenant_id, app_url, site, api, brokers)
        finally:
            api.close()
            server.should_exit = True
            thread.join(timeout=10)
    finally:
        site.shutdown()
        site.server_close()
        if backend == "postgresql":
            _aside(drop_postgres_database, url)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class RoutedLead:
    tracking_id: str
    lead: Lead
    assignment: LeadAssignment
    routing: list[dict[str, Any]]
    answered_at: datetime  # when the browser had the form's answer (its 303 to the thank-you page)
    seen_at: datetime  # when the assigned lead was first read from the database


def _is_form_post(response: Response) -> bool:
    return response.request.method == "POST" and "/v1/forms/contato" in response.url


def _answered_at(response: Response) -> datetime:
    """The wall-clock moment the answer's first byte reached the browser (Resource Timing, milliseconds)."""
    timing = response.request.timing
    return datetime.fromtimestamp((timing["startTime"] + timing["responseStart"]) / 1000, UTC)


async def _assigned_lead(url: str, tenant_id: uuid.UUID, tracking_id: str) -> tuple[Lead, LeadAssignment, datetime]:
    """Polls the database until the visitor's form event has become a lead assigned by the roleta."""
    database = Database(create_engine(url))
    deadline = time.monotonic() + ASSIGNED_WITHIN
    try:
        while True:
            async with database.session(Scope.for_tenant(tenant_id)) as session:
                found = (
                    await session.execute(
                        select(Lead, LeadAssignment)
                        .join(LeadConversion, LeadConversion.lead_id == Lead.id)
                        .join(Event, Event.id == LeadConversion.event_id)
                        .join(LeadAssignment, LeadAssignment.lead_id == Lead.id)
                        .where(Event.type == EventType.FORM, Event.tracking_id == tracking_id)
                        .where(LeadAssignment.reason == "roleta")
                    )
                ).all()
            if found:
                [(lead, assignment)] = found
                return lead, assignment, datetime.now(UTC)
            assert time.monotonic() < deadline, f"no lead assigned by the roleta within {ASSIGNED_WITHIN} s"
            await asyncio.sleep(0.01)
    finally:
        await database.dispose()


@pytest.fixture(scope="module")
def routed_lead(routed: RoutedStack, chromium: Browser) -> RoutedLead:
    """Google ad → landing page with UTMs and gclid → contact page (no UTMs) → the form, posted to leadflow."""
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{routed.site.origin}/jardins.html?{CAMPAIGN_QUERY}")
    _loaded(page)
    tracking_id = page.evaluate("leadflow.trackingId()")
    page.click("#contato")
    page.wait_for_url("**/contato.html")
    _loaded(page)
    _fill_contact(page, "#ours")
    with page.expect_response(_is_form_post) as answer:
        page.click("#ours button")
    response = answer.value
    assert response.status == 303, response.status  # an HTML post: stored, then sent to the thank-you page
    lead, assignment, seen_at = _aside(asyncio.run, _assigned_lead(routed.url, routed.tenant_id, tracking_id))
    page.wait_for_url("**/obrigado.html")
    context.close()
    routing = routed.api.get(f"/v1/leads/{lead.id}/routing")
    assert routing.status_code == 200, routing.text
    answered_at = _answered_at(response)
    assigned_at = assignment.assigned_at.replace(tzinfo=assignment.assigned_at.tzinfo or UTC)
    print(
        f"\n[{routed.backend}] form answer (303) → lead assigned by the roleta: "
        f"{(assigned_at - answered_at).total_seconds() * 1000:.0f} ms (assignment time); "
        f"read back from the database after {(seen_at - answered_at).total_seconds() * 1000:.0f} ms"
    )
    return RoutedLead(tracking_id, lead, assignment, routing.json(), answered_at, seen_at)


class TestTheFormsLead:
    def test_is_an_open_lead_made_from_the_visitors_form_event(
        self, routed: RoutedStack, routed_lead: RoutedLead
    ) -> None:
        assert routed_lead.tracking_id.startswith("trk_")  # the query joined the form event of this visitor
        lead = routed.api.get(f"/v1/leads/{routed_lead.lead.id}")
        assert lead.status_code == 200, lead.text
        assert lead.json()["status"] == "open"
        assert lead.json()["team_id"] is not None

    def test_carries_the_first_touch_utms_and_the_click_id_from_the_landing_page(self, routed_lead: RoutedLead) -> None:
        first_touch = routed_lead.lead.first_touch
        assert {k: first_touch.get(k) for k in FIRST_TOUCH} == FIRST_TOUCH
        assert first_touch["landing_page"].endswith(f"/jardins.html?{CAMPAIGN_QUERY}")
        assert routed_lead.lead.utm_campaign == "lancamento-jardins"
        assert routed_lead.lead.channel == "Paid Search"  # GA4: a gclid is a Google Ads click

    def test_is_handed_to_one_of_the_teams_brokers_by_the_roleta(
        self, routed: RoutedStack, routed_lead: RoutedLead
    ) -> None:
        assert routed_lead.lead.owner_id in routed.brokers
        assert routed_lead.assignment.to_user_id == routed_lead.lead.owner_id
        assert routed_lead.assignment.reason == "roleta"

    def test_has_its_routing_explanation_stored(self, routed: RoutedStack, routed_lead: RoutedLead) -> None:
        [decision] = routed_lead.routing
        assert decision["kind"] == "new_lead"
        assert decision["assignee_id"] == str(routed_lead.lead.owner_id)
        assert decision["step"] == "team"
        assert "round-robin" in decision["why"]
        team_step = next(s for s in decision["roleta"]["steps"] if s["step"] == "team")
        considered = {c["name"]: c["skipped_because"] for c in team_step["considered"]}
        assert considered == {
            "Ana Corretora": None,
            "Bruno Corretor": None,
            "Gerente Vendas": "reserved_for_escalation",
        }
