"""Logging in, rotating refresh tokens, API keys, and turning credentials into a scope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.auth.repository import ApiKeyRepository, RefreshTokenRepository, UserCredentials
from leadflow.auth.schemas import ApiKeyCreate, TokenPair
from leadflow.auth.scopes import KEY_SCOPES
from leadflow.kit import audit
from leadflow.kit.crypto import digest, hash_password, new_secret, password_needs_rehash, verify_password
from leadflow.kit.errors import Forbidden, NotFound, TooManyRequests, Unauthenticated, ValidationFailed
from leadflow.kit.ratelimit import Counter
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.kit.tokens import InvalidToken, TokenSigner
from leadflow.models import ApiKey, ApiKeyKind, RefreshToken, User
from leadflow.tenant.service import TenantRef


class InvalidCredentials(Unauthenticated):
    code = "invalid-credentials"
    title = "Invalid e-mail or password"
    commit_on_error = True  # keep the audit entry of the failed attempt


class RefreshTokenReused(Unauthenticated):
    code = "refresh-token-reused"
    title = "Refresh token already used"
    commit_on_error = True  # the family revocation must persist


class WrongTenant(NotFound):
    """A credential of another tenant: answered exactly like an unknown resource."""


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    failures_per_account: int
    failures_per_ip: int
    window_seconds: int
    refresh_ttl_seconds: int


async def login(
    session: AsyncSession,
    scope: Scope,
    *,
    email: str,
    password: str,
    ip: str,
    signer: TokenSigner,
    counter: Counter,
    policy: LoginPolicy,
) -> TokenPair:
    email = email.lower()
    account_key, ip_key = f"login:acct:{scope.tenant_id}:{email}", f"login:ip:{ip}"
    await _refuse_if_throttled(counter, policy, account_key, ip_key)
    user = await UserCredentials(session).by_email(email)
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        await counter.hit(account_key, policy.window_seconds)
        await counter.hit(ip_key, policy.window_seconds)
        if user is not None:
            audit.record(session, action="login_failed", entity_type="users", entity_id=user.id)
        raise InvalidCredentials()
    await counter.reset(account_key)
    if user.password_hash and password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    audit.record(session, action="login", entity_type="users", entity_id=user.id)
    return await _issue_pair(session, user, signer=signer, ttl=policy.refresh_ttl_seconds, family=uuid.uuid4())


async def _refuse_if_throttled(counter: Counter, policy: LoginPolicy, account_key: str, ip_key: str) -> None:
    for key, limit in ((account_key, policy.failures_per_account), (ip_key, policy.failures_per_ip)):
        if await counter.count(key) >= limit:
            raise TooManyRequests("too many failed logins; try again later", retry_after=await counter.retry_after(key))


async def _issue_pair(
    session: AsyncSession, user: User, *, signer: TokenSigner, ttl: int, family: uuid.UUID
) -> TokenPair:
    refresh = new_secret("lf_rt_")
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family,
            token_hash=digest(refresh),
            expires_at=utcnow() + timedelta(seconds=ttl),
        )
    )
    access = signer.issue(user_id=user.id, tenant_id=user.tenant_id, role=user.role.value)
    return TokenPair(access_token=access, expires_in=signer.ttl_seconds, refresh_token=refresh)


async def refresh(
    session: AsyncSession, scope: Scope, *, refresh_token: str, signer: TokenSigner, ttl: int
) -> TokenPair:
    """Rotate: the presented token is spent and a new one of the same family issued.

    Presenting a spent token means it was stolen or replayed: the whole family is revoked.
    """
    tokens = RefreshTokenRepository(session)
    link = await tokens.by_hash(digest(refresh_token))
    now = utcnow()
    if link is None or link.revoked_at is not None or link.expires_at <= now:
        raise Unauthenticated("invalid or expired refresh token")
    if link.used_at is not None:
        await tokens.revoke_family(link.family_id, now)
        audit.record(session, action="refresh_token_reused", entity_type="users", entity_id=link.user_id)
        raise RefreshTokenReused("this refresh token was already used; all sessions of its family are revoked")
    user = await UserCredentials(session).get(link.user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("the user of this token is no longer active")
    link.used_at = now
    return await _issue_pair(session, user, signer=signer, ttl=ttl, family=link.family_id)


async def logout(session: AsyncSession, scope: Scope, *, refresh_token: str) -> None:
    tokens = RefreshTokenRepository(session)
    link = await tokens.by_hash(digest(refresh_token))
    if link is None:
        return  # logging out twice is not an error
    await tokens.revoke_family(link.family_id, utcnow())
    audit.record(session, action="logout", entity_type="users", entity_id=link.user_id)


async def change_password(session: AsyncSession, scope: Scope, *, current_password: str, new_password: str) -> None:
    user = await _acting_user(session, scope)
    if not verify_password(user.password_hash, current_password):
        raise ValidationFailed("the current password is wrong", errors=[{"field": "current_password"}])
    user.password_hash = hash_password(new_password)
    await RefreshTokenRepository(session).revoke_user(user.id, utcnow())


async def _acting_user(session: AsyncSession, scope: Scope) -> User:
    if scope.actor_type != "user" or scope.actor_id is None:
        raise Forbidden("only a user can do this")
    return await UserCredentials(session).get_or_raise(scope.actor_id)


async def scope_from_access_token(
    session: AsyncSession, tenant: TenantRef, token: str, *, signer: TokenSigner
) -> Scope:
    try:
        claims = signer.verify(token)
    except InvalidToken as exc:
        raise Unauthenticated("invalid or expired access token") from exc
    if claims.tenant_id != tenant.id:  # tenant-check: a credential of another host is a 404
        raise WrongTenant("no such resource")
    users = UserCredentials(session)
    user = await users.get(claims.user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("the user of this token is no longer active")
    team_ids = frozenset(await users.team_ids(user.id))
    return Scope(
        tenant_id=tenant.id,
        actor_type="user",
        actor_id=user.id,
        role=user.role.value,
        team_ids=team_ids,
        tenant_settings=tenant.settings,
    )


async def scope_from_api_key(session: AsyncSession, tenant: TenantRef, secret: str) -> tuple[Scope, ApiKey]:
    key = await ApiKeyRepository(session).by_hash_any_tenant(digest(secret))
    now = utcnow()
    if key is None or key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        raise Unauthenticated("invalid or revoked API key")
    if key.tenant_id != tenant.id:  # tenant-check: a credential of another host is a 404
        raise WrongTenant("no such resource")
    key.last_used_at = now
    scope = Scope(
        tenant_id=tenant.id,
        actor_type="api_key",
        actor_id=key.id,
        key_scopes=frozenset(key.scopes),
        tenant_settings=tenant.settings,
    )
    return scope, key


async def create_api_key(
    session: AsyncSession, scope: Scope, *, data: ApiKeyCreate, secret: str | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never retrievable again."""
    unknown = sorted(set(data.scopes) - KEY_SCOPES.keys())
    if unknown:
        raise ValidationFailed(f"unknown scopes: {', '.join(unknown)}", errors=[{"field": "scopes"}])
    if data.kind is ApiKeyKind.WRITE and data.scopes:
        raise ValidationFailed("a write key has no scopes: it may only post events", errors=[{"field": "scopes"}])
    secret = secret or new_secret("lf_sk_" if data.kind is ApiKeyKind.SECRET else "lf_wk_")
    key = ApiKey(
        name=data.name,
        kind=data.kind,
        key_hash=digest(secret),
        prefix=secret[:10],
        scopes=sorted(set(data.scopes)),
        allowed_origins=[o.rstrip("/") for o in data.allowed_origins],
        expires_at=data.expires_at,
        created_by_id=scope.actor_id if scope.actor_type == "user" else None,
    )
    session.add(key)
    await session.flush()
    return key, secret


async def list_api_keys(
    session: AsyncSession, scope: Scope, *, cursor: str | None, limit: int
) -> tuple[list[ApiKey], str | None]:
    repo = ApiKeyRepository(session)
    return await repo.page(repo.select(), cursor=cursor, limit=limit)


async def revoke_api_key(session: AsyncSession, scope: Scope, *, key_id: uuid.UUID) -> ApiKey:
    key = await ApiKeyRepository(session).get_or_raise(key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key
