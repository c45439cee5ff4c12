"""Meta's webhook mechanics, shared by WhatsApp, Instagram and Lead Ads: the GET verification handshake and the
``X-Hub-Signature-256`` HMAC-SHA256 of the raw body with the app secret."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_HEADER = "x-hub-signature-256"


def signature_of(app_secret: str, raw: bytes) -> str:
    """The header value Meta sends for this body (what a test or a fake signs with)."""
    return "sha256=" + hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()


def verify_signature(app_secret: str, headers: Mapping[str, str], raw: bytes) -> str | None:
    """None when the raw body carries a valid signature, else the reason; compared in constant time."""
    presented = headers.get(SIGNATURE_HEADER)
    if not presented:
        return "missing X-Hub-Signature-256 header"
    if not presented.startswith("sha256="):
        return "X-Hub-Signature-256 is not a sha256= signature"
    if not hmac.compare_digest(presented.encode(), signature_of(app_secret, raw).encode()):
        return "X-Hub-Signature-256 does not match the body"
    return None


def handshake_answer(verify_token: str, query: Mapping[str, str]) -> str | None:
    """The challenge to echo when Meta's subscription check names our verify token, else None (403)."""
    if query.get("hub.mode") != "subscribe":
        return None
    token = query.get("hub.verify_token", "")
    if not hmac.compare_digest(token.encode(), verify_token.encode()):
        return None
    challenge = query.get("hub.challenge")
    return challenge if challenge else None
