"""The Grupo ZAP/OLX lead webhook: one JSON per lead with HTTP Basic auth; ``originLeadId`` is the idempotency key
and ``clientListingId`` our listing reference. The portal waits 5 s, retries any non-2xx 5 times every 10 minutes
and keeps the lead 14 days: answer fast, after the lead is stored."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from leadflow.integrations.base import Delivery, Refused
from leadflow.integrations.jsonbody import json_body

MAX_FIELD = 255
MAX_MESSAGE = 5000


class ZapSettings(BaseModel):
    """The Basic credentials agreed with Grupo ZAP at homologation."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=120, examples=["imobiliaria-demo"])
    password: SecretStr = Field(min_length=8, max_length=200)


@dataclass(frozen=True, slots=True)
class PortalLead:
    origin: str | None  # leadOrigin: VivaReal, Zap, GrupoZap, "Grupo OLX"
    origin_lead_id: str
    listing_reference: str
    origin_listing_id: str | None
    name: str | None
    email: str | None
    phone: str | None
    message: str | None
    temperature: str | None
    transaction_type: str | None
    lead_type: str | None


class ZapSource:
    def __init__(self, settings: ZapSettings) -> None:
        self._settings = settings

    def verify(self, headers: Mapping[str, str], raw: bytes) -> str | None:
        presented = _basic_credentials(headers.get("authorization", ""))
        if presented is None:
            return "missing or malformed HTTP Basic authorization"
        username, password = presented
        # Both compared, always, in constant time: the answer does not tell which one was wrong.
        user_ok = hmac.compare_digest(username.encode(), self._settings.username.encode())
        password_ok = hmac.compare_digest(password.encode(), self._settings.password.get_secret_value().encode())
        return None if user_ok and password_ok else "HTTP Basic credentials do not match the connection"

    def read(self, raw: bytes) -> Delivery:
        body = json_body(raw)
        lead = read_portal_lead(body)
        return Delivery(key=f"zap:{lead.origin_lead_id}"[:128], body=body)


def read_portal_lead(body: Any) -> PortalLead:
    """The lead a portal body holds; raises :class:`Refused` (4xx, so the portal keeps it for analysis) when the
    lead id or the listing is missing."""
    if not isinstance(body, dict):
        raise Refused("the body must be a JSON object")
    origin_lead_id = _text(body.get("originLeadId"), 120)
    if origin_lead_id is None:
        raise Refused("originLeadId is missing")
    listing = _text(body.get("clientListingId"), 40)
    if listing is None:
        raise Refused("clientListingId is missing", kind="unknown_reference")
    extra = body.get("extraData")
    return PortalLead(
        origin=_text(body.get("leadOrigin"), 60),
        origin_lead_id=origin_lead_id,
        listing_reference=listing,
        origin_listing_id=_text(body.get("originListingId"), 60),
        name=_text(body.get("name"), 200),
        email=_text(body.get("email"), 254),
        phone=_phone(body),
        message=_text(body.get("message"), MAX_MESSAGE),
        temperature=_text(body.get("temperature"), 30),
        transaction_type=_text(body.get("transactionType"), 30),
        lead_type=_text(extra.get("leadType"), 60) if isinstance(extra, dict) else None,
    )


def _phone(body: dict[str, Any]) -> str | None:
    ddd, phone = _text(body.get("ddd"), 4), _text(body.get("phone"), 20)
    if ddd and phone:
        return ddd + phone
    return _text(body.get("phoneNumber"), 30) or phone


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def _text(value: Any, limit: int = MAX_FIELD) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", "").strip()
    return text[:limit] if text else None
