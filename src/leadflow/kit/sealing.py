"""Encryption at rest with AES-256-GCM: integration credentials, webhook secrets, personal data in the event log.

Two levels, as in envelope encryption:

- a `KeyRing` holds the instance's master keys, derived with HKDF from the settings' secret keys (the current one
  seals; previous ones still open, so rotating `LEADFLOW_SECRET_KEY` and moving the old value to
  `LEADFLOW_PREVIOUS_SECRET_KEYS` keeps every sealed value readable until it is re-sealed);
- data keys (`new_data_key()`), e.g. one per person, wrapped by the key ring and stored beside the data they seal:
  destroying a data key makes what it sealed unreadable for good (LGPD erasure of an immutable log).

A sealed value carries a version byte, the id of the key that sealed it and a random 96-bit nonce. The caller's
`context` is bound as associated data, so a value copied to another row or column no longer opens.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
KEY_ID_BYTES = 4
NONCE_BYTES = 12
DATA_KEY_BYTES = 32
_HKDF_INFO = b"leadflow at-rest master key v1"


class SealBroken(ValueError):
    """The value was tampered with, sealed for another context, or sealed under a key this ring does not hold."""


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=8 * DATA_KEY_BYTES)


def seal_with(key: bytes, plaintext: bytes, *, context: bytes = b"") -> bytes:
    """Seal under one raw 256-bit key (a data key); the key id is the first bytes of the key's hash."""
    nonce = os.urandom(NONCE_BYTES)
    return VERSION + _key_id(key) + nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def open_with(key: bytes, sealed: bytes, *, context: bytes = b"") -> bytes:
    _, key_id, nonce, ciphertext = _split(sealed)
    if key_id != _key_id(key):
        raise SealBroken("sealed under another key")
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, context)
    except InvalidTag as error:
        raise SealBroken("the sealed value does not open with this key and context") from error


class KeyRing:
    """The instance's master keys: the first seals, all of them open."""

    def __init__(self, secrets: Sequence[str]) -> None:
        if not secrets:
            raise ValueError("a key ring needs at least one secret")
        self._keys = [_derive(secret) for secret in secrets]
        self._by_id = {_key_id(key): key for key in self._keys}

    def seal(self, plaintext: bytes, *, context: bytes = b"") -> bytes:
        return seal_with(self._keys[0], plaintext, context=context)

    def open(self, sealed: bytes, *, context: bytes = b"") -> bytes:
        _, key_id, _, _ = _split(sealed)
        key = self._by_id.get(key_id)
        if key is None:
            raise SealBroken("sealed under a key that is no longer configured")
        return open_with(key, sealed, context=context)

    def needs_reseal(self, sealed: bytes) -> bool:
        """True when the value was sealed by a previous key: re-seal it to finish a rotation."""
        return _split(sealed)[1] != _key_id(self._keys[0])

    def seal_json(self, value: Any, *, context: bytes = b"") -> bytes:
        return self.seal(json.dumps(value, separators=(",", ":"), sort_keys=True).encode(), context=context)

    def open_json(self, sealed: bytes, *, context: bytes = b"") -> Any:
        return json.loads(self.open(sealed, context=context))

    def wrap(self, data_key: bytes, *, context: bytes = b"") -> bytes:
        """A data key sealed by the ring, to be stored beside what it protects."""
        return self.seal(data_key, context=b"data-key:" + context)

    def unwrap(self, wrapped: bytes, *, context: bytes = b"") -> bytes:
        return self.open(wrapped, context=b"data-key:" + context)


def _derive(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret.encode())


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"leadflow key id" + key).digest()[:KEY_ID_BYTES]


def _split(sealed: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    header = 1 + KEY_ID_BYTES + NONCE_BYTES
    if len(sealed) < header + 16 or sealed[:1] != VERSION:
        raise SealBroken("not a sealed value of a known version")
    return sealed[:1], sealed[1 : 1 + KEY_ID_BYTES], sealed[1 + KEY_ID_BYTES : header], sealed[header:]
