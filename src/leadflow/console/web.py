"""The console's HTTP plumbing: its route class (CSRF, HTML errors, session cookies), templates and formatting."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import structlog
from babel.dates import format_datetime
from babel.numbers import format_currency, format_decimal, format_percent
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from leadflow.console import session as cookies
from leadflow.console.assets import vendor_url
from leadflow.kit.errors import Forbidden, LeadflowError, Wording, wording
from leadflow.kit.i18n import negotiate, translate, translations
from leadflow.kit.web import SAFE_METHODS, UnitOfWorkRoute

TEMPLATES = Path(__file__).parent / "templates"
DOMAIN = "console"
# The services' refusals (`Wording` templates), translated for whoever reads them in the console.
ERRORS_DOMAIN = "errors"
LANG_COOKIE = "lf_lang"
log = structlog.get_logger("leadflow.console")


class LoginRequired(LeadflowError):
    """No valid console session: the browser is sent to the login page (HTMX: by an HX-Redirect header)."""

    status = 401
    code = "login-required"
    title = "Login required"


class CsrfRefused(Forbidden):
    code = "csrf-refused"
    title = "Invalid or missing CSRF token"


def request_locale(request: Request, preferred: str | None = None) -> str:
    """The user's own pick (the language switch) first, then the tenant's setting, then Accept-Language."""
    chosen = request.cookies.get(LANG_COOKIE) or preferred
    return negotiate(request.headers.get("accept-language"), chosen)


def _brl(cents: int | None, locale: str) -> str:
    if cents is None:
        return "—"
    return str(format_currency(cents / 100, "BRL", locale=locale.replace("-", "_")))


def _number(value: float | int | None, locale: str) -> str:
    return "—" if value is None else str(format_decimal(value, locale=locale.replace("-", "_")))


def _when(value: datetime | None, locale: str, zone: str, fmt: str = "short") -> str:
    if value is None:
        return "—"
    return str(format_datetime(value, format=fmt, tzinfo=ZoneInfo(zone), locale=locale.replace("-", "_")))


@cache
def environment(locale: str) -> Environment:
    """One environment per locale, its gettext installed once (rendering never swaps translations)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(locale, DOMAIN), newstyle=True)  # type: ignore[attr-defined]
    env.globals["locale"] = locale
    env.filters["brl"] = lambda cents: _brl(cents, locale)
    env.filters["number"] = lambda value: _number(value, locale)
    env.filters["percent"] = lambda share: str(
        format_percent(share, format="#,##0.0%", locale=locale.replace("-", "_"))
    )
    env.filters["urlquote"] = lambda value: quote(str(value), safe="")
    return env


def render(
    request: Request, template: str, *, status: int = 200, locale: str | None = None, **values: Any
) -> HTMLResponse:
    page = values.get("page")
    locale = locale or (page.locale if page is not None else request_locale(request))
    zone = page.time_zone if page is not None else "America/Sao_Paulo"
    env = environment(locale)
    values.setdefault("when", lambda value, fmt="short": _when(value, locale, zone, fmt))
    values.setdefault("csrf", _csrf_of(request))
    values.setdefault("htmx", request.headers.get("hx-request") == "true")
    values.setdefault("vendor", lambda name: vendor_url(request.app.state.settings, name))
    html = env.get_template(template).render(request=request, **values)
    return HTMLResponse(html, status_code=status)


def _csrf_of(request: Request) -> str:
    return cookies.csrf_token(request, cookies.ensure_session_id(request))


def t(locale: str, message: str, **params: object) -> str:
    return translate(locale, DOMAIN, message, **params)


def said(locale: str, sentence: Wording) -> str:
    """A service's sentence in the reader's language; its English text when no catalog has it."""
    return translate(locale, _catalog_of(locale, sentence), sentence.template, **sentence.params)


def is_translated(locale: str, sentence: Wording) -> bool:
    return locale == "en" or _has(locale, ERRORS_DOMAIN, sentence) or _has(locale, DOMAIN, sentence)


def _catalog_of(locale: str, sentence: Wording) -> str:
    # The settings forms translated some refusals in the console's catalog before `errors` existed.
    return ERRORS_DOMAIN if _has(locale, ERRORS_DOMAIN, sentence) or not _has(locale, DOMAIN, sentence) else DOMAIN


def _has(locale: str, domain: str, sentence: Wording) -> bool:
    return translations(locale, domain).gettext(sentence.template) != sentence.template


def explain(locale: str, refusal: LeadflowError) -> str:
    """What a refusal says to the reader: the service's sentence when the catalog has it, else the error's title
    (“Lead não encontrado” reads better than an English sentence naming an id), else the English sentence."""
    for sentence in (refusal.wording, Wording(refusal.title)):
        if is_translated(locale, sentence):
            return said(locale, sentence)
    return refusal.detail


def is_script_request(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" or request.headers.get("x-requested-with") == "fetch"


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = "/app/login" if target in ("/app", "/app/") else f"/app/login?next={quote(target, safe='')}"
    if is_script_request(request):
        return Response(status_code=401, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status: int, detail: str) -> Response:
    locale = request_locale(request)
    titles = {403: t(locale, "You may not do this"), 404: t(locale, "Not found")}
    title = titles.get(status, t(locale, "Something went wrong"))
    if is_script_request(request):
        # A script's call (HTMX or fetch) gets the explanation alone; console.js shows it in the alert region.
        return HTMLResponse(detail or title, status_code=status)
    return render(request, "error.html", status=status, title=title, detail=detail, status_code=status)


async def _check_csrf(request: Request) -> None:
    presented = request.headers.get(cookies.CSRF_HEADER)
    if presented is None and "form" in request.headers.get("content-type", ""):
        form = await request.form()  # cached on the request: the endpoint reads the same form
        field = form.get(cookies.CSRF_FIELD)
        presented = field if isinstance(field, str) else None
    if not cookies.csrf_valid(request, presented):
        raise CsrfRefused(wording("the form is stale or was not sent by the console; reload the page and try again"))


class ConsoleRoute(UnitOfWorkRoute):
    """The unit of work of the API, plus: CSRF on every unsafe method, errors as HTML pages (or a login redirect),
    and the session cookies the request decided on."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console(request: Request) -> Response:
            try:
                if request.method not in SAFE_METHODS:
                    await _check_csrf(request)
                response = await handler(request)
            except LoginRequired:
                response = login_redirect(request)
            except LeadflowError as exc:
                response = error_page(request, exc.status, explain(request_locale(request), exc))
            except RequestValidationError as exc:
                log.info("console form refused", errors=exc.errors())
                response = error_page(request, 422, t(request_locale(request), "Some fields are invalid."))
            cookies.apply_pending_cookies(request, response)
            response.headers.setdefault("Cache-Control", "no-store")
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            return response

        return console
