"""HTML of the public site: one Jinja2 environment per locale (gettext domain ``site``) and the formatting a
Brazilian visitor expects (R$ 1.250.000,00, 72,5 m², "dezembro de 2027")."""

from __future__ import annotations

import functools
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any
from urllib.parse import quote_plus, urlsplit

from babel.dates import format_skeleton
from babel.numbers import format_currency, format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from leadflow.capture.forms import HONEYPOT, TOUCH_FIELDS
from leadflow.kit.i18n import translations
from leadflow.models import DevelopmentPhase, ListingPurpose, PropertyType
from leadflow.site.paths import development_path, property_path

DOMAIN = "site"
NBSP = "\u00a0"
MAPS_SEARCH = "https://www.google.com/maps/search/?api=1&query="
# Pages carry the visit's touch in hidden fields, so a visitor without JavaScript (or with t.js blocked) keeps it.
NO_STORE_HEADERS = {"Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff"}
MAX_TOUCH_VALUE = 200
MAX_URL = 800

# English labels (message ids of the `site` catalog) of the values the CRM stores in Portuguese.
PROPERTY_TYPES = {
    PropertyType.APARTMENT: "Apartment",
    PropertyType.HOUSE: "House",
    PropertyType.CONDO_HOUSE: "House in a gated community",
    PropertyType.PENTHOUSE: "Penthouse",
    PropertyType.STUDIO: "Studio",
    PropertyType.LAND: "Plot of land",
    PropertyType.OFFICE: "Office",
    PropertyType.SHOP: "Shop",
    PropertyType.WAREHOUSE: "Warehouse",
    PropertyType.FARM: "Country house",
}
PURPOSES = {ListingPurpose.SALE: "For sale", ListingPurpose.RENT: "For rent"}
PHASES = {
    DevelopmentPhase.LAUNCH: "Launch",
    DevelopmentPhase.UNDER_CONSTRUCTION: "Under construction",
    DevelopmentPhase.READY: "Ready to move in",
}


def _babel(locale: str) -> str:
    return locale.replace("-", "_")


def brl(cents: int | None, locale: str) -> str:
    """Integer cents as Brazilian reais in the locale's format; the space after R$ is a plain one."""
    if cents is None:
        return ""
    text = format_currency(Decimal(cents) / 100, "BRL", locale=_babel(locale))
    return text.replace(NBSP, " ")


def area(value: Decimal | None, locale: str) -> str:
    if value is None:
        return ""
    return f"{format_decimal(value.normalize(), locale=_babel(locale))} m²"


def month_year(value: date | None, locale: str) -> str:
    return format_skeleton("yMMMM", value, locale=_babel(locale)) if value else ""


def cep(value: str | None) -> str:
    return f"{value[:5]}-{value[5:]}" if value and len(value) == 8 else value or ""


def address(row: Any) -> str:
    """Street and number, neighbourhood, city - UF (whatever the listing has)."""
    street = ", ".join(part for part in (row.street, row.number) if part)
    city = " - ".join(part for part in (row.city, row.uf) if part)
    return " · ".join(part for part in (street, row.neighbourhood, city) if part)


def maps_url(row: Any) -> str | None:
    """A Google Maps search for the listing: its coordinates when known, else its address (None without either)."""
    if row.latitude is not None and row.longitude is not None:
        return MAPS_SEARCH + quote_plus(f"{row.latitude},{row.longitude}")
    parts = [row.street, row.number, row.neighbourhood, row.city, row.uf, cep(row.cep)]
    query = ", ".join(part for part in parts if part)
    return MAPS_SEARCH + quote_plus(query) if row.city or row.street else None


@functools.cache
def _stylesheet() -> Markup:
    # Inlined: one request less for a first visit, and the pages stay readable without any other file.
    css = resources.files("leadflow.site").joinpath("static/site.css").read_text(encoding="utf-8")
    return Markup(css)


@functools.cache
def environment(locale: str) -> Environment:
    """The templates with the locale's catalog installed (English when the locale has none)."""
    env = Environment(
        loader=PackageLoader("leadflow.site", "templates"),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(locale, DOMAIN), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        brl=functools.partial(brl, locale=locale),
        area=functools.partial(area, locale=locale),
        month_year=functools.partial(month_year, locale=locale),
        cep=cep,
        address=address,
        maps_url=maps_url,
    )
    env.globals.update(
        locale=locale,
        html_lang=locale,
        og_locale=_babel(locale),
        property_path=property_path,
        development_path=development_path,
        property_type=PROPERTY_TYPES.get,
        purpose=PURPOSES.get,
        phase=PHASES.get,
        honeypot=HONEYPOT,
        stylesheet=_stylesheet,
    )
    return env


def visit_touch(request: Request) -> dict[str, str]:
    """The touch this request shows (campaign parameters, another site as referrer, the landing URL), as the
    forms endpoint reads it from hidden fields. t.js replaces these with the visit's stored first touch."""
    touch = {
        name: value[:MAX_TOUCH_VALUE] for name in TOUCH_FIELDS if (value := request.query_params.get(name, "").strip())
    }
    referrer = request.headers.get("referer", "")
    if referrer and urlsplit(referrer).netloc.lower() != request.headers.get("host", "").lower():
        touch["referrer"] = referrer[:MAX_URL]
    touch["landing_page"] = str(request.url)[:MAX_URL]
    touch["page_url"] = str(request.url)[:MAX_URL]
    return touch


def canonical_url(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + path


def render(request: Request, template: str, *, locale: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = environment(locale).get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status_code, headers=NO_STORE_HEADERS)
