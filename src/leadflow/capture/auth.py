"""The public write key of a site: read from where Segment SDKs put it, checked against the host and the origin."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.auth import service as auth_service
from leadflow.auth.repository import ApiKeyRepository
from leadflow.kit.crypto import digest
from leadflow.kit.errors import Forbidden, Unauthenticated
from leadflow.kit.scope import Scope, set_scope
from leadflow.kit.time import utcnow
from leadflow.kit.tokens import TokenSigner, looks_like_jwt
from leadflow.models import ApiKey, ApiKeyKind
from leadflow.tenant.service import TenantRef

MAX_KEY_LENGTH = 256


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


async def _key_by_secret(session: AsyncSession, secret: str) -> ApiKey | None:
    if len(secret) > MAX_KEY_LENGTH or not secret.isprintable():
        return None
    try:
        key_hash = digest(secret)
    except UnicodeEncodeError:
        return None
    return await ApiKeyRepository(session).by_hash_any_tenant(key_hash)


def _refuse_foreign_origin(key: ApiKey, origin: str | None) -> None:
    if origin is not None and key.allowed_origins and origin.rstrip("/") not in key.allowed_origins:
        raise Forbidden(f"origin {origin!r} is not allowed for this write key")


async def authenticate_write_key(
    session: AsyncSession, request: Request, tenant: TenantRef, secret: str | None
) -> tuple[Scope, ApiKey]:
    """Scope the request to the key's tenant: unknown or revoked → 401, another tenant's key → 404."""
    if not secret:
        raise Unauthenticated("send the site's write key as the HTTP Basic user name")
    if looks_like_jwt(secret):
        signer: TokenSigner = request.app.state.signer
        await auth_service.scope_from_access_token(session, tenant, secret, signer=signer)
        raise Forbidden("events are posted with the site's public write key, not a user's token")
    key = await _key_by_secret(session, secret)
    if key is None or key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= utcnow()):
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
