"""t.js in a real browser: a visit with UTMs and a click id, a second page, forms, the chat bridge and consent.

Debian's Chromium (``/usr/bin/chromium``) is driven by Playwright against two real servers on loopback: leadflow
(uvicorn, a migrated SQLite database) and a "site" serving the pages that embed the snippet leadflow hands out.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from leadflow.app import create_app
from leadflow.auth import service as auth
from leadflow.auth.schemas import ApiKeyCreate
from leadflow.config import Settings
from leadflow.kit.db import Database, create_engine
from leadflow.kit.migrate import upgrade
from leadflow.kit.scope import Scope
from leadflow.models import ApiKeyKind
from leadflow.tenant.service import create_tenant
from tests import factories

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
if not CHROMIUM.exists():
    if IN_CI:
        pytest.fail("CI needs Debian's Chromium at /usr/bin/chromium (.ci/run installs it)", pytrace=False)
    pytest.skip(
        "Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True
    )

from playwright.sync_api import Browser, BrowserContext, Cookie, Page, Request, Route, sync_playwright  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CAMPAIGN_QUERY = "utm_source=google&utm_medium=cpc&utm_campaign=lancamento-jardins&gclid=TeSt123"
FIRST_TOUCH = {
    "utm_source": "google",
    "utm_medium": "cpc",
    "utm_campaign": "lancamento-jardins",
    "gclid": "TeSt123",
}
THIRTEEN_MONTHS = timedelta(days=396)
# Stands in for Chatwoot's widget SDK: records the calls t.js makes on `window.$chatwoot`.
FAKE_CHATWOOT = """<script>
window.$chatwoot = {hasLoaded: false, calls: [],
  setCustomAttributes: function (a) { this.calls.push(["setCustomAttributes", a]); },
  setConversationCustomAttributes: function (a) { this.calls.push(["setConversationCustomAttributes", a]); },
  setUser: function (id, user) { this.calls.push(["setUser", id, user]); }};
</script>"""
CONTACT_INPUTS = """<input name="name"><input name="email"><input name="phone"><textarea name="message"></textarea>"""


# Servers


class Site(ThreadingHTTPServer):
    """A customer's website on loopback: fixed pages, and a form handler that records what it receives."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SiteHandler)
        self.pages: dict[str, str] = {}
        self.posts: list[tuple[str, dict[str, list[str]]]] = []

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class SiteHandler(BaseHTTPRequestHandler):
    server: Site

    def do_GET(self) -> None:
        page = self.server.pages.get(urlsplit(self.path).path)
        self._answer(200 if page else 404, page or "não encontrada")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
        self.server.posts.append((urlsplit(self.path).path, parse_qs(body, keep_blank_values=True)))
        self.send_response(303)
        self.send_header("Location", "/obrigado.html")
        self.end_headers()

    def _answer(self, status: int, html: str) -> None:
        data = html.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Stack:
    app_url: str
    site: Site
    api: httpx.Client  # an admin API key of the tenant
    forms_endpoint: bool
    pages: dict[str, str] = field(default_factory=dict)

    def events(self, **filters: str) -> list[dict[str, Any]]:
        response = self.api.get("/v1/events", params={"limit": "200", **filters})
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items


async def _seed(url: str, site_origin: str) -> tuple[str, str]:
    """The tenant the loopback host falls back to, a write key for the site and an admin key for the checks."""
    database = Database(create_engine(url))
    try:
        async with database.session(Scope.system()) as session:
            tenant = await create_tenant(session, slug="jardins", name="Jardins Imóveis")
        scope = factories.owner_scope(tenant)
        async with database.session(scope) as session:
            site_key = ApiKeyCreate(name="Site", kind=ApiKeyKind.WRITE, allowed_origins=[site_origin])
            _, write_key = await auth.create_api_key(session, scope, data=site_key)
            admin = ApiKeyCreate(name="Testes", kind=ApiKeyKind.SECRET, scopes=["admin"])
            _, admin_key = await auth.create_api_key(session, scope, data=admin)
    finally:
        await database.dispose()
    return write_key, admin_key


def _serve_app(settings: Settings) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "leadflow did not start"
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"


def _page(title: str, head: str, body: str) -> str:
    head = f'<meta charset="utf-8"><title>{title}</title>{head}'
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


def _build_site(stack: Stack, snippet: str, consent_snippet: str) -> None:
    own_form = (
        f'<form id="own" data-leadflow-form="contato-site" action="/recebe-contato" method="post">{CONTACT_INPUTS}'
        '<button type="submit">Enviar</button></form>'
    )
    our_form = (
        f'<form id="ours" data-leadflow-form="contato" action="{stack.app_url}/v1/forms/contato" method="post">'
        f'{CONTACT_INPUTS}<input name="lf_hp" style="display:none"><button type="submit">Enviar</button></form>'
    )
    # A call made before t.js has loaded: the snippet's stub must keep it.
    early_call = '<script>leadflow.track("Planta vista", {"planta": "3 quartos"});</script>'
    stack.site.pages.update(
        {
            "/jardins.html": _page(
                "Residencial Jardins", snippet + early_call, '<a id="plantas" href="/plantas.html">Plantas</a>'
            ),
            "/plantas.html": _page("Plantas", FAKE_CHATWOOT + snippet, own_form),
            "/obrigado.html": _page("Obrigado", snippet, '<a id="contato" href="/contato.html">Fale conosco</a>'),
            "/contato.html": _page("Contato", snippet, our_form),
            "/privado.html": _page("Privado", consent_snippet, our_form),
        }
    )


def _snippet(api: httpx.Client, write_key: str, *, consent_required: bool) -> str:
    params = {"write_key": write_key, "consent_required": str(consent_required).lower()}
    response = api.get("/v1/tracking/snippet", params=params)
    assert response.status_code == 200, response.text
    html: str = response.json()["html"]
    return html


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("browser")
    url = f"sqlite+aiosqlite:///{tmp / 'leadflow.db'}"
    upgrade(url)
    site = Site()
    threading.Thread(target=site.serve_forever, daemon=True).start()
    write_key, admin_key = asyncio.run(_seed(url, site.origin))
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
    )
    server, thread, app_url = _serve_app(settings)
    api = httpx.Client(base_url=app_url, headers={"Authorization": f"Bearer {admin_key}"}, timeout=10)
    try:
        forms_endpoint = "/v1/forms/{form_key}" in api.get("/openapi.json").json()["paths"]
        if forms_endpoint:
            form = {"key": "contato", "name": "Fale conosco", "thank_you_url": f"{site.origin}/obrigado.html"}
            created = api.post("/v1/forms", json=form)
            assert created.status_code == 201, created.text
        stack = Stack(app_url=app_url, site=site, api=api, forms_endpoint=forms_endpoint)
        _build_site(
            stack,
            _snippet(api, write_key, consent_required=False),
            _snippet(api, write_key, consent_required=True),
        )
        yield stack
    finally:
        api.close()
        server.should_exit = True
        thread.join(timeout=10)
        site.shutdown()
        site.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# The visit


@dataclass
class Visit:
    tracking_id: str
    cookies: list[Cookie]
    storage: dict[str, str]
    chat_calls: list[list[Any]]
    own_form_post: dict[str, list[str]]
    leadflow_form_post: dict[str, list[str]]
    events: list[dict[str, Any]]


def _loaded(page: Page) -> None:
    page.wait_for_function("window.leadflow && window.leadflow.version")


def _fill_contact(page: Page, form: str) -> None:
    page.fill(f"{form} [name=name]", "Maria Silva")
    page.fill(f"{form} [name=email]", "maria.silva@gmail.com")
    page.fill(f"{form} [name=phone]", "(11) 98765-4321")
    page.fill(f"{form} [name=message]", "Quero visitar o decorado.")


def _wait_for(probe: Callable[[], Any], what: str, *, page: Page | None = None, seconds: float = 10) -> Any:
    """Polls ``probe``; with a page, waits through Playwright so its route handlers and events keep running."""
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        if page is None:
            time.sleep(0.1)
        else:
            page.wait_for_timeout(100)


def _is_form_post(request: Request) -> bool:
    return request.method == "POST" and "/v1/forms/contato" in request.url


@pytest.fixture(scope="module")
def visit(stack: Stack, browser: Browser) -> Visit:
    """Google ad → landing page with UTMs and gclid → plans page (no UTMs, a chat widget, the site's own form) →
    thank-you page → contact page with a form posted to leadflow."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{stack.site.origin}/jardins.html?{CAMPAIGN_QUERY}")
    _loaded(page)
    tracking_id = page.evaluate("leadflow.trackingId()")
    page.click("#plantas")
    page.wait_for_url("**/plantas.html")
    _loaded(page)
    page.evaluate("window.$chatwoot.hasLoaded = true; window.dispatchEvent(new Event('chatwoot:ready'))")
    page.evaluate("leadflow.identify({email: 'maria.silva@gmail.com', name: 'Maria Silva'})")
    chat_calls = page.evaluate("window.$chatwoot.calls")
    cookies, storage = context.cookies(), page.evaluate("Object.assign({}, localStorage)")
    _fill_contact(page, "#own")
    page.click("#own button")
    page.wait_for_url("**/obrigado.html")
    _loaded(page)
    page.click("#contato")
    page.wait_for_url("**/contato.html")
    _loaded(page)
    _fill_contact(page, "#ours")
    with page.expect_request(_is_form_post) as form_request:
        page.click("#ours button")
    page.wait_for_load_state()
    post_data = form_request.value.post_data or ""
    context.close()  # pagehide: what is still queued leaves by beacon

    def stored() -> list[dict[str, Any]] | None:
        events = stack.events(tracking_id=tracking_id)
        names = {(e["type"], e["name"]) for e in events}
        paths = {e["payload"]["context"]["page"]["path"] for e in events if e["type"] == "page"}
        done = ("track", "form_submitted") in names and len(paths) == 4
        return events if done and (not stack.forms_endpoint or ("form", "contato") in names) else None

    return Visit(
        tracking_id=tracking_id,
        cookies=cookies,
        storage=storage,
        chat_calls=chat_calls,
        own_form_post=_wait_for(lambda: dict(stack.site.posts[0][1]) if stack.site.posts else None, "the site's form"),
        leadflow_form_post=parse_qs(post_data, keep_blank_values=True),
        events=_wait_for(stored, "the visit's events"),
    )


def _one(events: list[dict[str, Any]], type: str, name: str | None = None) -> dict[str, Any]:
    found = [e for e in events if e["type"] == type and (name is None or e["name"] == name)]
    assert len(found) == 1, f"expected one {type} {name}, got {len(found)}"
    return found[0]


def _single(post: dict[str, list[str]]) -> dict[str, str]:
    assert all(len(values) == 1 for values in post.values()), post
    return {name: values[0] for name, values in post.items()}


class TestTheVisitor:
    def test_gets_a_first_party_tracking_id_in_a_lax_cookie_for_13_months(self, visit: Visit) -> None:
        assert visit.tracking_id.startswith("trk_")
        cookie = next(c for c in visit.cookies if c["name"] == "lf_id")
        assert cookie["value"] == visit.tracking_id
        assert cookie["sameSite"] == "Lax"
        assert cookie["path"] == "/"
        expires = datetime.fromtimestamp(cookie["expires"], UTC)
        assert abs(expires - (datetime.now(UTC) + THIRTEEN_MONTHS)) < timedelta(hours=1)

    def test_keeps_the_id_and_the_first_touch_in_local_storage_too(self, visit: Visit) -> None:
        assert json.loads(visit.storage["lf_id"])["v"] == visit.tracking_id
        first_touch = json.loads(json.loads(visit.storage["lf_ft"])["v"])
        assert {k: first_touch[k] for k in FIRST_TOUCH} == FIRST_TOUCH
        assert first_touch["landing_page"].endswith(f"/jardins.html?{CAMPAIGN_QUERY}")

    def test_every_page_view_carries_the_same_id_and_the_first_touch(self, visit: Visit) -> None:
        pages = [e for e in visit.events if e["type"] == "page"]
        paths = {e["payload"]["context"]["page"]["path"] for e in pages}
        assert paths == {"/contato.html", "/jardins.html", "/obrigado.html", "/plantas.html"}
        for event in pages:
            assert event["anonymous_id"] == visit.tracking_id
            assert event["source"] == "t.js"
            assert (event["utm_source"], event["utm_medium"], event["utm_campaign"]) == (
                "google",
                "cpc",
                "lancamento-jardins",
            )
            assert event["payload"]["context"]["library"]["name"] == "leadflow.js"

    def test_a_call_made_before_the_script_loaded_is_sent(self, visit: Visit) -> None:
        event = _one(visit.events, "track", "Planta vista")
        assert event["payload"]["properties"] == {"planta": "3 quartos"}
        assert event["page_url"].endswith(f"/jardins.html?{CAMPAIGN_QUERY}")


class TestTheSitesOwnForm:
    def test_becomes_a_form_submitted_event_with_the_first_touch_and_the_visit_id(self, visit: Visit) -> None:
        event = _one(visit.events, "track", "form_submitted")
        properties = event["payload"]["properties"]
        assert event["anonymous_id"] == visit.tracking_id
        assert properties["form_key"] == "contato-site"
        assert properties["fields"] == {
            "name": "Maria Silva",
            "email": "maria.silva@gmail.com",
            "phone": "(11) 98765-4321",
            "message": "Quero visitar o decorado.",
        }
        assert {k: properties["first_touch"][k] for k in FIRST_TOUCH} == FIRST_TOUCH
        assert event["payload"]["context"]["campaign"] == {
            "source": "google",
            "medium": "cpc",
            "name": "lancamento-jardins",
        }
        assert event["payload"]["context"]["page"]["path"] == "/plantas.html"
        assert (event["utm_source"], event["utm_medium"], event["utm_campaign"]) == (
            "google",
            "cpc",
            "lancamento-jardins",
        )

    def test_reaches_the_site_with_the_hidden_context_fields(self, visit: Visit) -> None:
        post = _single(visit.own_form_post)
        assert {k: post[k] for k in FIRST_TOUCH} == FIRST_TOUCH
        assert post["lf_tracking_id"] == visit.tracking_id
        assert post["name"] == "Maria Silva"
        assert "lf_message_id" not in post  # only posts to leadflow are deduplicated by it


class TestAFormPostedToLeadflow:
    def test_gets_the_first_touch_in_its_hidden_fields(self, visit: Visit) -> None:
        post = _single(visit.leadflow_form_post)
        assert {k: post[k] for k in FIRST_TOUCH} == FIRST_TOUCH
        assert post["lf_tracking_id"] == visit.tracking_id
        assert post["landing_page"].endswith(f"/jardins.html?{CAMPAIGN_QUERY}")
        assert post["page_url"].endswith("/contato.html")
        assert json.loads(post["lf_last_touch"])["gclid"] == "TeSt123"
        assert post["lf_message_id"].startswith("lf-")
        assert post["lf_hp"] == ""
        assert "lf_consent" not in post  # consent was not asked on this site

    def test_is_not_reported_twice_as_a_track_call(self, visit: Visit) -> None:
        submitted = [e for e in visit.events if e["name"] == "form_submitted"]
        assert [e["payload"]["properties"]["form_key"] for e in submitted] == ["contato-site"]

    def test_is_stored_with_the_first_touch_and_the_visit_id(self, stack: Stack, visit: Visit) -> None:
        if not stack.forms_endpoint:
            pytest.skip("POST /v1/forms/{form_key} is not routed yet")
        event = _one(visit.events, "form", "contato")
        assert event["tracking_id"] == visit.tracking_id
        assert {k: event["payload"]["first_touch"][k] for k in FIRST_TOUCH} == FIRST_TOUCH
        assert event["utm_source"] == "google"


class TestTheChatBridge:
    def test_passes_the_tracking_id_and_first_touch_to_chatwoot_once_it_is_ready(self, visit: Visit) -> None:
        name, attributes = visit.chat_calls[0]
        assert name == "setCustomAttributes"
        assert attributes["lf_tracking_id"] == visit.tracking_id
        assert {k: attributes[k] for k in FIRST_TOUCH} == FIRST_TOUCH
        conversation = next(c for c in visit.chat_calls if c[0] == "setConversationCustomAttributes")[1]
        assert conversation["page_url"].endswith("/plantas.html")

    def test_identifies_the_visitor_when_they_give_a_name_or_email(self, visit: Visit) -> None:
        assert ["setUser", visit.tracking_id, {"name": "Maria Silva", "email": "maria.silva@gmail.com"}] in (
            visit.chat_calls
        )


class TestConsentRequired:
    def _batch(self, page: Page, action: Callable[[], Any], containing: str = "") -> list[dict[str, Any]]:
        def sent(request: Request) -> bool:
            return request.url.endswith("/v1/batch") and containing in (request.post_data or "")

        with page.expect_request(sent) as request:
            action()
        batch: list[dict[str, Any]] = json.loads(request.value.post_data or "{}")["batch"]
        return batch

    def test_nothing_is_stored_and_no_persistent_id_is_sent_until_consent(self, stack: Stack, browser: Browser) -> None:
        context: BrowserContext = browser.new_context()
        page = context.new_page()
        batch = self._batch(page, lambda: page.goto(f"{stack.site.origin}/privado.html?{CAMPAIGN_QUERY}"))
        assert [e["type"] for e in batch] == ["page"]
        assert batch[0]["anonymousId"].startswith("lfp_")  # a per-page id: the server needs one
        assert batch[0]["context"]["campaign"]["source"] == "google"
        assert page.evaluate("leadflow.trackingId()") is None
        assert context.cookies() == []
        assert page.evaluate("localStorage.length") == 0
        hidden = page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('#ours input[type=hidden]')].map(i => [i.name, i.value]))"
        )
        assert hidden["lf_consent"] == "0"
        assert "lf_tracking_id" not in hidden
        assert hidden["gclid"] == "TeSt123"
        context.close()

    def test_consent_given_stores_the_id_and_sends_it(self, stack: Stack, browser: Browser) -> None:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{stack.site.origin}/privado.html?{CAMPAIGN_QUERY}")
        _loaded(page)
        page.evaluate("leadflow.consent(true)")
        tracking_id = page.evaluate("leadflow.trackingId()")
        assert tracking_id.startswith("trk_")
        assert {c["name"]: c["value"] for c in context.cookies()}["lf_id"] == tracking_id
        batch = self._batch(page, lambda: page.evaluate("leadflow.track('Consentiu')"), containing="Consentiu")
        assert [e["anonymousId"] for e in batch if e.get("event") == "Consentiu"] == [tracking_id]
        page.goto(f"{stack.site.origin}/privado.html")
        _loaded(page)
        assert page.evaluate("leadflow.trackingId()") == tracking_id  # consent is remembered with the id
        page.evaluate("leadflow.consent(false)")
        assert context.cookies() == []
        assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('lf_'))") == []
        context.close()


def _stored(storage: str) -> dict[str, Any]:
    """A touch as t.js keeps it in localStorage: {"v": JSON text, "e": expiry}."""
    value: dict[str, Any] = json.loads(json.loads(storage)["v"])
    return value


class TestDelivery:
    def test_a_failed_batch_is_kept_and_sent_again_after_a_backoff(self, stack: Stack, browser: Browser) -> None:
        context = browser.new_context()
        page = context.new_page()
        failed: list[str] = []

        def flaky(route: Route) -> None:
            if failed:
                route.continue_()
                return
            failed.append(route.request.post_data or "")
            route.fulfill(status=503, body="indisponível", headers={"Access-Control-Allow-Origin": "*"})

        page.route("**/v1/batch", flaky)
        page.goto(f"{stack.site.origin}/jardins.html?{CAMPAIGN_QUERY}")
        _wait_for(lambda: failed, "the first batch", page=page)
        message_ids = [event["messageId"] for event in json.loads(failed[0])["batch"]]
        kept = page.evaluate("JSON.parse(localStorage.getItem('lf_q') || '[]').map(e => e.messageId)")
        assert set(message_ids) <= set(kept)
        _wait_for(lambda: all(stack.events(message_id=m) for m in message_ids), "the retried batch", page=page)
        _wait_for(lambda: page.evaluate("localStorage.getItem('lf_q')") is None, "the queue to empty", page=page)
        context.close()

    def test_a_single_page_app_navigation_is_a_page_view_with_its_own_last_touch(
        self, stack: Stack, browser: Browser
    ) -> None:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{stack.site.origin}/jardins.html?{CAMPAIGN_QUERY}")
        _loaded(page)
        tracking_id = page.evaluate("leadflow.trackingId()")
        page.evaluate("history.pushState({}, '', '/jardins/planta-3q?utm_source=newsletter&utm_medium=email')")

        def spa_view() -> list[dict[str, Any]]:
            views = stack.events(tracking_id=tracking_id, type="page")
            return [e for e in views if e["payload"]["context"]["page"]["path"] == "/jardins/planta-3q"]

        view = _wait_for(spa_view, "the page view of the pushState", page=page)[0]
        assert view["payload"]["context"]["page"]["referrer"].endswith(f"/jardins.html?{CAMPAIGN_QUERY}")
        assert view["utm_source"] == "google"  # events carry the first touch
        storage = page.evaluate("Object.assign({}, localStorage)")
        assert _stored(storage["lf_lt"])["utm_source"] == "newsletter"
        assert _stored(storage["lf_ft"])["utm_source"] == "google"
        context.close()
