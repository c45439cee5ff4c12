"""Standard Webhooks 1.0 symmetric signatures (``v1``): HMAC-SHA256 over ``{id}.{timestamp}.{body}``.

The secret is shown to the partner as ``whsec_`` + base64 of random bytes; the HMAC key is the decoded bytes, not
the string. During a rotation's grace period the request carries one ``v1,`` signature per secret (space
separated), so a partner verifying with either the old or the new secret accepts it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64 signature>`` value; ``body`` must be exactly the bytes sent."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_in_use: Sequence[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: the current secret's signature first, then the previous one's."""
    return " ".join(sign(secret, message_id, timestamp, body) for secret in secrets_in_use)


def headers_for(secrets_in_use: Sequence[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_in_use, message_id, timestamp, body),
    }
