"""Brazilian data: phones in E.164 (DDD and the ninth digit), CPF/CNPJ check digits, e-mails, CEP."""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

NON_DIGITS = re.compile(r"\D+")


class InvalidValue(ValueError):
    """The value cannot be normalised; the message says why, in words a user understands."""


def digits(value: str) -> str:
    return NON_DIGITS.sub("", value)


def normalize_phone(raw: str, region: str = "BR") -> str:
    """Return the E.164 form (+5511987654321) of a phone typed in any format.

    Brazilian numbers without the country code are read with the default region; "0 XX" trunk and carrier
    prefixes (0 21 11 …) are handled by libphonenumber.
    """
    text = raw.strip()
    if not digits(text):
        raise InvalidValue("phone has no digits")
    if not text.startswith("+") and digits(text).startswith("55") and len(digits(text)) in (12, 13):
        text = "+" + digits(text)
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidValue(f"not a phone number: {exc}") from exc
    if parsed.country_code == 55:
        parsed = _with_ninth_digit(parsed)
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidValue("not a valid phone number (check the DDD and the number of digits)")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _with_ninth_digit(parsed: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber:
    # Mobiles gained a leading 9 (2012-2016); old 8-digit mobiles (starting 6-9) still arrive from contacts and
    # from WhatsApp's wa_id. Add the 9 so both forms normalise to the same number.
    national = str(parsed.national_number)
    if len(national) == 10 and national[2] in "6789":
        candidate = phonenumbers.parse(f"+55{national[:2]}9{national[2:]}")
        if phonenumbers.is_valid_number(candidate):
            return candidate
    return parsed


def phone_match_key(e164: str) -> str:
    """Key under which the same Brazilian mobile meets with or without its ninth digit."""
    if e164.startswith("+55"):
        national = e164[3:]
        if len(national) == 11 and national[2] == "9":
            return f"+55{national[:2]}{national[3:]}"
    return e164


def normalize_email(raw: str) -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidValue(str(exc)) from exc


def _check_digit(numbers: list[int], weights: list[int]) -> int:
    rest = sum(n * w for n, w in zip(numbers, weights, strict=True)) % 11
    return 0 if rest < 2 else 11 - rest


def normalize_cpf(raw: str) -> str:
    value = digits(raw)
    if len(value) != 11 or value == value[0] * 11:
        raise InvalidValue("CPF must have 11 digits")
    numbers = [int(c) for c in value]
    first = _check_digit(numbers[:9], list(range(10, 1, -1)))
    second = _check_digit(numbers[:10], list(range(11, 1, -1)))
    if numbers[9] != first or numbers[10] != second:
        raise InvalidValue("CPF check digits do not match")
    return value


def normalize_cnpj(raw: str) -> str:
    value = digits(raw)
    if len(value) != 14 or value == value[0] * 14:
        raise InvalidValue("CNPJ must have 14 digits")
    numbers = [int(c) for c in value]
    first = _check_digit(numbers[:12], [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2])
    second = _check_digit(numbers[:13], [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2])
    if numbers[12] != first or numbers[13] != second:
        raise InvalidValue("CNPJ check digits do not match")
    return value


def normalize_cpf_or_cnpj(raw: str) -> str:
    return normalize_cpf(raw) if len(digits(raw)) == 11 else normalize_cnpj(raw)


def normalize_cep(raw: str) -> str:
    value = digits(raw)
    if len(value) != 8:
        raise InvalidValue("CEP must have 8 digits")
    return value
