"""The instance secrets LGPD features derive their keys from: the key ring that wraps per-subject data keys and
the HMAC key of the suppression list.

Service signatures stay ``(session, scope, *, ...)`` (retention and integrations call them without settings), so
the settings are registered once per process by ``create_app`` (``configure``); a worker started without an app
falls back to ``get_settings()``, which reads the same environment.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from leadflow.config import Settings, get_settings
from leadflow.kit.sealing import KeyRing

_configured: Settings | None = None
_SUPPRESSION_INFO = b"leadflow suppression list v1"


def configure(settings: Settings) -> None:
    global _configured
    _configured = settings


def _secrets() -> tuple[str, ...]:
    return tuple((_configured or get_settings()).signing_keys())


def key_ring() -> KeyRing:
    return _ring(_secrets())


@lru_cache(maxsize=4)
def _ring(secrets: tuple[str, ...]) -> KeyRing:
    return KeyRing(secrets)


def contact_digests(kind: str, match_key: str) -> list[str]:
    """The HMACs of a normalised contact under every configured secret, the current one first, so a suppression
    written before a key rotation still matches after it."""
    message = f"{kind}:{match_key}".encode()
    return [hmac.new(key, message, hashlib.sha256).hexdigest() for key in _hmac_keys(_secrets())]


def contact_key_refs(kind: str, match_key: str) -> list[str]:
    """The names of the data key of an e-mail or phone (``kind``) the event log names, current secret first."""
    return contact_digests(f"contact-{kind}", match_key)


@lru_cache(maxsize=4)
def _hmac_keys(secrets: tuple[str, ...]) -> tuple[bytes, ...]:
    return tuple(
        HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SUPPRESSION_INFO).derive(s.encode())
        for s in secrets
    )
