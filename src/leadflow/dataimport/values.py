"""Cells of a spreadsheet read as typed values: BRL amounts, numbers, areas, dates, lists and choices.

Pure functions. Each raises :class:`BadValue` with a message a manager understands (it becomes the ``message``
of a report line's error); none guesses when a value is ambiguous.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal

MAX_CENTS = 10**13
MAX_COUNT = 999
_NUMBER = re.compile(r"^[0-9.,]+$")
_DIGITS = re.compile(r"^[0-9]+$")
_GROUPED = {".": re.compile(r"^[0-9]{1,3}(\.[0-9]{3})+$"), ",": re.compile(r"^[0-9]{1,3}(,[0-9]{3})+$")}
_BR_DATE = re.compile(r"^([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})$")
_ISO_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
_LIST_SEPARATORS = re.compile(r"[,|;]")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


class BadValue(ValueError):
    """A cell that cannot be read as the field's type."""


def parse_decimal(raw: str, *, max_places: int = 2) -> Decimal:
    """A number written the Brazilian way ("1.234.567,89", "72,5") or plainly ("1234567.89").

    With both separators the last one is the decimal mark; a lone "," is decimal; a lone "." is decimal when 1 or
    2 digits follow it once, and a thousands separator when groups of exactly three follow it ("650.000").
    """
    text = raw.strip().replace("\u00a0", "").replace(" ", "")
    if not text or not _NUMBER.match(text) or not any(c.isdigit() for c in text):
        raise BadValue("not a number (write it like 1.234,56)")
    whole, fraction = _split_decimal(text)
    if len(fraction) > max_places:
        raise BadValue(f"more than {max_places} decimal places")
    return Decimal(f"{whole or '0'}.{fraction or '0'}")


def _split_decimal(text: str) -> tuple[str, str]:
    commas, dots = text.count(","), text.count(".")
    if commas and dots:
        mark = "," if text.rfind(",") > text.rfind(".") else "."
        whole, fraction = text.rsplit(mark, 1)
        return _ungrouped(whole, "." if mark == "," else ","), _digits_only(fraction)
    if commas == 1 and len(text.rsplit(",", 1)[1]) != 3:
        whole, fraction = text.split(",")
        return _digits_only(whole, allow_empty=True), _digits_only(fraction)
    if dots == 1 and len(text.rsplit(".", 1)[1]) in (1, 2):
        whole, fraction = text.split(".")
        return _digits_only(whole, allow_empty=True), _digits_only(fraction)
    if commas or dots:
        separator = "," if commas else "."
        if separator == "," and commas == 1:
            raise BadValue("ambiguous number: write 1.234 or 1,23 (pt-BR) instead of 1,234")
        return _ungrouped(text, separator), ""
    return text, ""


def _ungrouped(text: str, separator: str) -> str:
    if separator not in text:
        return _digits_only(text, allow_empty=True)
    if not _GROUPED[separator].match(text):
        raise BadValue("thousands must be grouped by three (1.234.567)")
    return text.replace(separator, "")


def _digits_only(text: str, *, allow_empty: bool = False) -> str:
    if (text == "" and allow_empty) or _DIGITS.match(text):
        return text
    raise BadValue("not a number (write it like 1.234,56)")


def parse_brl_cents(raw: str) -> int:
    """'R$ 1.234.567,89' -> 123456789 (integer cents). Negative amounts are refused."""
    text = raw.strip()
    if text.startswith("-"):
        raise BadValue("an amount cannot be negative")
    text = re.sub(r"^R\$", "", text, flags=re.IGNORECASE).strip()
    try:
        cents = int(parse_decimal(text) * 100)
    except BadValue as exc:
        raise BadValue(f"not an amount in reais (e.g. R$ 1.234,56): {exc}") from exc
    if cents > MAX_CENTS:
        raise BadValue("the amount is too large")
    return cents


def parse_area(raw: str) -> Decimal:
    """'72,5 m²' -> Decimal('72.5')."""
    text = re.sub(r"m(²|2)$", "", raw.strip(), flags=re.IGNORECASE)
    return parse_decimal(text)


def parse_count(raw: str) -> int:
    """A whole number of rooms, parking spaces, …: digits only ('3')."""
    text = raw.strip()
    if not _DIGITS.match(text) or int(text) > MAX_COUNT:
        raise BadValue("not a whole number (e.g. 3)")
    return int(text)


def parse_date(raw: str) -> date:
    """'14/03/1985' (day first, as in Brazil) or '1985-03-14'."""
    text = raw.strip()
    if match := _BR_DATE.match(text):
        day, month, year = (int(g) for g in match.groups())
    elif match := _ISO_DATE.match(text):
        year, month, day = (int(g) for g in match.groups())
    else:
        raise BadValue("not a date (write it as 14/03/1985)")
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise BadValue(f"not a date: {exc}") from exc


def parse_list(raw: str) -> list[str]:
    """'investidor, zona sul | vip' -> ['investidor', 'zona sul', 'vip'] (empty items dropped, order kept)."""
    items = (item.strip() for item in _LIST_SEPARATORS.split(raw))
    return list(dict.fromkeys(item for item in items if item))


def choice_key(raw: str) -> str:
    """The form choices are compared in: 'Sala Comercial' -> 'sala_comercial', 'Locação' -> 'locacao'."""
    decomposed = unicodedata.normalize("NFKD", raw.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_ALNUM.sub("_", plain).strip("_")


def parse_choice(raw: str, choices: dict[str, str], *, what: str) -> str:
    """Read ``raw`` as one of ``choices`` (``choice_key`` of a word people write -> the stored value)."""
    value = choices.get(choice_key(raw))
    if value is None:
        known = ", ".join(sorted(set(choices.values())))
        raise BadValue(f"unknown {what} (accepted: {known})")
    return value
