"""The public write key of a site: read from where Segment SDKs put it, checked against the host and the origin.

What a key allows is cached per process for :data:`KEY_CACHE_SECONDS`, so a collect request costs no query for
it. A key revoked, expired early or edited through this process is forgotten at once; through another process, it
keeps working here for at most that long.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.auth import service as auth_service
from leadflow.auth.repository import ApiKeyRepository
from leadflow.kit.crypto import digest
from leadflow.kit.db import Database
from leadflow.kit.errors import Forbidden, Unauthenticated
from leadflow.kit.scope import Scope, set_scope
from leadflow.kit.time import utcnow
from leadflow.kit.tokens import TokenSigner, looks_like_jwt
from leadflow.models import ApiKey, ApiKeyKind
from leadflow.tenant.service import TenantRef

MAX_KEY_LENGTH = 256
KEY_CACHE_SECONDS = 10.0
KEY_CACHE_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class WriteKey:
    """What ingestion needs to know of an API key (no secret, no ORM state): safe to keep between requests."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    kind: ApiKeyKind
    allowed_origins: tuple[str, ...]
    revoked_at: datetime | None
    expires_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> WriteKey:
        origins = tuple(key.allowed_origins or ())
        return cls(key.id, key.tenant_id, key.kind, origins, key.revoked_at, key.expires_at)

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class WriteKeyCache:
    """Key hash → :class:`WriteKey` for ``ttl`` seconds. Unknown keys are not remembered (no growth from guesses)."""

    def __init__(
        self,
        *,
        ttl: float = KEY_CACHE_SECONDS,
        max_entries: int = KEY_CACHE_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, WriteKey]] = {}

    def get(self, key_hash: str) -> WriteKey | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key_hash]
            return None
        return entry[1]

    def put(self, key_hash: str, key: WriteKey) -> None:
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # the oldest entry
        self._entries[key_hash] = (self._clock() + self.ttl, key)

    def forget(self, key_hash: str) -> None:
        self._entries.pop(key_hash, None)


_key_caches: weakref.WeakKeyDictionary[Database, WriteKeyCache] = weakref.WeakKeyDictionary()


def key_cache(db: Database) -> WriteKeyCache:
    """The write-key cache of this database (one per database object, made on first use)."""
    cache = _key_caches.get(db)
    if cache is None:
        cache = _key_caches[db] = WriteKeyCache()
    return cache


@event.listens_for(ApiKey, "after_update")
@event.listens_for(ApiKey, "after_delete")
def _forget_changed_key(_mapper: Any, _connection: Any, key: ApiKey) -> None:
    # Revocation, expiry or origins changed in this process: the next request reads the key again.
    for cache in list(_key_caches.values()):
        cache.forget(key.key_hash)


def _basic_user(encoded: str) -> str | None:
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.split(":", 1)[0]


def presented_key(request: Request, body: Any) -> str | None:
    """The write key as HTTP Basic user (Segment SDKs), as a Bearer token, or as ``writeKey`` in the body."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        return _basic_user(value)
    if scheme.lower() == "bearer":
        return value.strip() or None
    key = body.get("writeKey") if isinstance(body, dict) else None
    return key if isinstance(key, str) else None


async def _key_by_secret(session: AsyncSession, cache: WriteKeyCache, secret: str) -> WriteKey | None:
    if len(secret) > MAX_KEY_LENGTH or not secret.isprintable():
        return None
    try:
        key_hash = digest(secret)
    except UnicodeEncodeError:
        return None
    cached = cache.get(key_hash)
    if cached is not None:
        return cached
    stored = await ApiKeyRepository(session).by_hash_any_tenant(key_hash)
    if stored is None:
        return None
    key = WriteKey.of(stored)
    cache.put(key_hash, key)
    return key


def _refuse_foreign_origin(key: WriteKey, origin: str | None) -> None:
    if origin is not None and key.allowed_origins and origin.rstrip("/") not in key.allowed_origins:
        raise Forbidden(f"origin {origin!r} is not allowed for this write key")


async def authenticate_write_key(
    session: AsyncSession, request: Request, tenant: TenantRef, secret: str | None
) -> tuple[Scope, WriteKey]:
    """Scope the request to the key's tenant: unknown or revoked → 401, another tenant's key → 404."""
    if not secret:
        raise Unauthenticated("send the site's write key as the HTTP Basic user name")
    if looks_like_jwt(secret):
        signer: TokenSigner = request.app.state.signer
        await auth_service.scope_from_access_token(session, tenant, secret, signer=signer)
        raise Forbidden("events are posted with the site's public write key, not a user's token")
    key = await _key_by_secret(session, key_cache(request.app.state.db), secret)
    if key is None or not key.is_live(utcnow()):
        raise Unauthenticated("invalid or revoked write key")
    if key.tenant_id != tenant.id:  # tenant-check: a credential of another host is a 404
        raise auth_service.WrongTenant("no such resource")
    if key.kind is not ApiKeyKind.WRITE:
        raise Forbidden("events are posted with the site's public write key")
    _refuse_foreign_origin(key, request.headers.get("origin"))
    scope = Scope(tenant_id=tenant.id, actor_type="api_key", actor_id=key.id, tenant_settings=tenant.settings)
    set_scope(session, scope)
    return scope, key


async def origin_allowed(session: AsyncSession, origin: str) -> bool:
    """Whether any live write key of the host's tenant lists this origin (for CORS preflights)."""
    stmt = select(ApiKey.allowed_origins).where(ApiKey.kind == ApiKeyKind.WRITE, ApiKey.revoked_at.is_(None))
    lists = (await session.execute(stmt)).scalars().all()
    return any(origin.rstrip("/") in origins for origins in lists)
