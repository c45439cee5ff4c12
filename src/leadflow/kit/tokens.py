"""Short-lived signed access tokens (JWT, HS256 pinned) with a verify set for key rotation."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt

from leadflow.kit.time import utcnow

ALGORITHM = "HS256"
AUDIENCE = "leadflow"
REQUIRED_CLAIMS = ["exp", "iat", "sub", "tid", "role", "aud"]


class InvalidToken(Exception):
    pass


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    role: str


def _kid(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class TokenSigner:
    """Signs with the first key; verifies with any key of the set, chosen by ``kid``."""

    def __init__(self, keys: list[str], ttl_seconds: int) -> None:
        if not keys or any(len(k) < 32 for k in keys):
            raise ValueError("signing keys must be at least 32 characters")
        self._keys = {_kid(k): k for k in keys}
        self._current = keys[0]
        self.ttl_seconds = ttl_seconds

    def issue(self, *, user_id: uuid.UUID, tenant_id: uuid.UUID, role: str) -> str:
        now = utcnow()
        claims = {
            "sub": str(user_id),
            "tid": str(tenant_id),
            "role": role,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + timedelta(seconds=self.ttl_seconds),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._current, algorithm=ALGORITHM, headers={"kid": _kid(self._current)})

    def verify(self, token: str) -> AccessClaims:
        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.get(str(header.get("kid", "")))
            if key is None or header.get("alg") != ALGORITHM:
                raise InvalidToken("unknown key or algorithm")
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                options={"require": REQUIRED_CLAIMS},
            )
            return AccessClaims(
                user_id=uuid.UUID(claims["sub"]), tenant_id=uuid.UUID(claims["tid"]), role=str(claims["role"])
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
            raise InvalidToken(str(exc)) from exc


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2
