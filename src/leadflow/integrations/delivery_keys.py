"""Idempotency keys for deliveries: the provider's own ids when it gives them, a hash of the body otherwise."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

MAX_KEY = 128


def delivery_key(prefix: str, natural_ids: Iterable[str], raw: bytes) -> str:
    """``<prefix>:<id>`` for one natural id, a hash of the sorted ids for several, of the raw body for none."""
    ids = sorted(set(natural_ids))
    if len(ids) == 1 and len(ids[0]) + len(prefix) + 1 <= MAX_KEY:
        return f"{prefix}:{ids[0]}"
    material = "\n".join(ids).encode() if ids else raw
    return f"{prefix}:sha256:{hashlib.sha256(material).hexdigest()}"
