"""Translations for user-facing text: English message ids, Brazilian Portuguese first for the people who read them.

Catalogs are gettext `.po` files under `leadflow/locale/<pt_BR|en>/LC_MESSAGES/<domain>.po`, one domain per
feature that renders text (`console`, `site`, …) so features never edit the same file. They are compiled in memory
the first time a (locale, domain) pair is asked for: no build step, no `.mo` file to forget.
"""

from __future__ import annotations

import gettext
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES = ("pt-BR", "en")
DEFAULT_LOCALE = "pt-BR"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"


def negotiate(accept_language: str | None, preferred: str | None = None) -> str:
    """The locale to answer in: an explicit preference (user or tenant setting) that we speak, else the best
    `Accept-Language` match (quality-ordered, `pt` matches `pt-BR`), else pt-BR."""
    if preferred and (match := _supported(preferred)):
        return match
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            ranked.append((-quality, position, tag))
    for _, _, tag in sorted(ranked):
        if match := _supported(tag):
            return match
    return DEFAULT_LOCALE


def _supported(tag: str) -> str | None:
    wanted = tag.strip().replace("_", "-").lower()
    for locale in LOCALES:
        if wanted == locale.lower():
            return locale
    language = wanted.split("-")[0]
    for locale in LOCALES:
        if locale.lower().split("-")[0] == language:
            return locale
    return None


@cache
def translations(locale: str, domain: str) -> gettext.NullTranslations:
    """The compiled catalog of one domain in one locale; English (the message ids) when there is none."""
    po = LOCALE_DIR / locale.replace("-", "_") / "LC_MESSAGES" / f"{domain}.po"
    if not po.is_file():
        return gettext.NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale.replace("-", "_"), domain=domain)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=domain)


def translate(locale: str, domain: str, message: str, **params: object) -> str:
    """`message` in `locale`, with `%(name)s` placeholders filled from `params`."""
    text = translations(locale, domain).gettext(message)
    return text % params if params else text


def translate_plural(locale: str, domain: str, singular: str, plural: str, count: int, **params: object) -> str:
    text = translations(locale, domain).ngettext(singular, plural, count)
    return text % {"count": count, **params}
