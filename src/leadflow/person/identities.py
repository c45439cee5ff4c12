"""What people type turned into identities: e-mails, phones in E.164, WhatsApp ids and CPF/CNPJ.

Pure functions (no database): each raises :class:`InvalidValue` with a message a user understands, and the list
helpers collect those as 422 errors naming the field and its index (``phones.1``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from leadflow.kit.br import (
    InvalidValue,
    digits,
    normalize_cpf_or_cnpj,
    normalize_email,
    normalize_phone,
    phone_match_key,
)
from leadflow.models import IdentityKind

PHONE_KINDS = (IdentityKind.PHONE, IdentityKind.WHATSAPP)
DOCUMENT_KINDS = (IdentityKind.CPF, IdentityKind.CNPJ)
# What a typed phone looks like: digits and the punctuation people put around them.
PHONE_LIKE = re.compile(r"^[0-9\s()+./-]+$")
# Meta's business-scoped WhatsApp user ids are opaque tokens ("BR.1234abcd…"), never spaces or control characters.
OPAQUE_WHATSAPP_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
MIN_SEARCH_DIGITS = 4


@dataclass(frozen=True, slots=True)
class IdentityValue:
    """One normalised identity: ``match_key`` is what duplicates are found by."""

    kind: IdentityKind
    value: str
    match_key: str


def email_identity(raw: str) -> IdentityValue:
    email = normalize_email(raw)
    return IdentityValue(IdentityKind.EMAIL, email, email)


def phone_identity(raw: str) -> IdentityValue:
    e164 = normalize_phone(raw)
    return IdentityValue(IdentityKind.PHONE, e164, phone_match_key(e164))


def whatsapp_identity(raw: str) -> IdentityValue:
    """A WhatsApp number (typed, or a wa_id: the international number without "+") or an opaque Meta user id."""
    text = raw.strip()
    if PHONE_LIKE.match(text):
        e164 = _whatsapp_number(text)
        return IdentityValue(IdentityKind.WHATSAPP, e164, phone_match_key(e164))
    if OPAQUE_WHATSAPP_ID.match(text) and any(c.isalpha() for c in text):
        return IdentityValue(IdentityKind.WHATSAPP, text, text)
    raise InvalidValue("not a WhatsApp number nor a WhatsApp user id")


def _whatsapp_number(text: str) -> str:
    try:
        return normalize_phone(text)
    except InvalidValue:
        if text.startswith("+") or not digits(text):
            raise
    # A wa_id of another country ("14155552671") is international without its "+".
    return normalize_phone("+" + digits(text))


def document_identity(raw: str) -> IdentityValue:
    """A CPF (11 digits) or CNPJ (14 digits), punctuation allowed, check digits verified."""
    number = normalize_cpf_or_cnpj(raw)
    kind = IdentityKind.CPF if len(number) == 11 else IdentityKind.CNPJ
    return IdentityValue(kind, number, number)


@dataclass
class ParsedIdentities:
    """The identities of a create or update: ``None`` for a list that was not given (it stays as it is)."""

    emails: list[IdentityValue] | None = None
    phones: list[IdentityValue] | None = None
    whatsapp_ids: list[IdentityValue] | None = None
    errors: list[dict[str, str]] = field(default_factory=list)

    def parse(self, name: str, raws: list[str] | None, parser: Callable[[str], IdentityValue]) -> None:
        if raws is None:
            return
        values: list[IdentityValue] = []
        for index, raw in enumerate(raws):
            try:
                value = parser(raw)
            except InvalidValue as exc:
                self.errors.append({"field": f"{name}.{index}", "message": str(exc)})
                continue
            if value not in values:  # the same number typed twice in two formats is one identity
                values.append(value)
        setattr(self, name, values)


def parse_identities(
    *, emails: list[str] | None, phones: list[str] | None, whatsapp_ids: list[str] | None
) -> ParsedIdentities:
    parsed = ParsedIdentities()
    parsed.parse("emails", emails, email_identity)
    parsed.parse("phones", phones, phone_identity)
    parsed.parse("whatsapp_ids", whatsapp_ids, whatsapp_identity)
    return parsed


@dataclass(frozen=True, slots=True)
class PhoneQuery:
    """A search text read as a phone: its digits, and its match key when it is a whole number."""

    digits: str
    match_key: str | None


def phone_query(text: str) -> PhoneQuery | None:
    """Read a search box as a phone when it looks like one ("(11) 98765-4321", "987654321"), else None."""
    text = text.strip()
    if not PHONE_LIKE.match(text) or len(digits(text)) < MIN_SEARCH_DIGITS:
        return None
    try:
        key: str | None = phone_match_key(normalize_phone(text))
    except InvalidValue:
        key = None
    return PhoneQuery(digits(text), key)


class Keyed(Protocol):
    @property
    def kind(self) -> IdentityKind: ...

    @property
    def match_key(self) -> str: ...


@dataclass
class MatchKeys:
    """The keys one person (or one lookup) is recognised by, grouped by what may match what.

    Phones and WhatsApp numbers meet on the phone match key (with or without the ninth digit).
    """

    phones: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    documents: set[str] = field(default_factory=set)

    def add(self, identities: Iterable[Keyed]) -> MatchKeys:
        for identity in identities:
            self._group(identity.kind).add(identity.match_key)
        return self

    def _group(self, kind: IdentityKind) -> set[str]:
        if kind in PHONE_KINDS:
            return self.phones
        if kind in DOCUMENT_KINDS:
            return self.documents
        return self.emails if kind is IdentityKind.EMAIL else set()

    def __bool__(self) -> bool:
        return bool(self.phones or self.emails or self.documents)
