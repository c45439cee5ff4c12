"""Tenants: provisioning and finding the tenant a request's host names."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.kit.errors import Conflict, NotFound, ValidationFailed
from leadflow.models import Tenant, TenantHost
from leadflow.tenant.repository import TenantRepository

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


class TenantNotFound(NotFound):
    code = "tenant-not-found"
    title = "Unknown tenant"


@dataclass(frozen=True, slots=True)
class TenantRef:
    id: uuid.UUID
    slug: str
    name: str
    time_zone: str
    locale: str
    settings: dict[str, Any]


def _ref(tenant: Tenant) -> TenantRef:
    return TenantRef(tenant.id, tenant.slug, tenant.name, tenant.time_zone, tenant.locale, dict(tenant.settings))


def host_without_port(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("["):  # IPv6 literal, maybe with a port
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class TenantDirectory:
    """Maps a Host header to its tenant, with a short cache so the lookup costs no query per request."""

    def __init__(self, *, base_domain: str, default_tenant: str | None, ttl_seconds: float) -> None:
        self.base_domain = base_domain.lower().strip(".")
        self.default_tenant = default_tenant
        self.ttl = ttl_seconds
        self._cache: dict[str, tuple[float, TenantRef | None]] = {}

    def slug_for_host(self, host: str) -> str | None:
        if host in LOCAL_HOSTS or host == self.base_domain:
            return self.default_tenant
        suffix = "." + self.base_domain
        if host.endswith(suffix):
            label = host[: -len(suffix)]
            return label if "." not in label else None
        return None

    async def resolve(self, session: AsyncSession, raw_host: str) -> TenantRef:
        host = host_without_port(raw_host)
        cached = self._cache.get(host)
        if cached and cached[0] > time.monotonic():
            ref = cached[1]
        else:
            ref = await self._lookup(session, host)
            self._cache[host] = (time.monotonic() + self.ttl, ref)
        if ref is None:
            raise TenantNotFound(f"no tenant answers for host {host!r}")
        return ref

    async def _lookup(self, session: AsyncSession, host: str) -> TenantRef | None:
        repo = TenantRepository(session)
        slug = self.slug_for_host(host)
        tenant = await repo.by_slug(slug) if slug else await repo.by_custom_host(host)
        return _ref(tenant) if tenant else None

    def forget(self) -> None:
        self._cache.clear()


async def create_tenant(
    session: AsyncSession,
    *,
    slug: str,
    name: str,
    time_zone: str = "America/Sao_Paulo",
    locale: str = "pt-BR",
    hosts: list[str] | None = None,
) -> Tenant:
    """Provision a tenant (system scope: the CLI and the demo seed)."""
    if not SLUG.match(slug):
        raise ValidationFailed("slug must be lowercase letters, digits and hyphens", errors=[{"field": "slug"}])
    repo = TenantRepository(session)
    if await repo.by_slug(slug):
        raise Conflict(f"tenant {slug!r} already exists")
    tenant = repo.add(Tenant(slug=slug, name=name, time_zone=time_zone, locale=locale, settings={}))
    await session.flush()
    for host in hosts or []:
        session.add(TenantHost(tenant_id=tenant.id, host=host_without_port(host)))
    return tenant


async def get_tenant_by_slug(session: AsyncSession, slug: str) -> Tenant:
    tenant = await TenantRepository(session).by_slug(slug)
    if tenant is None:
        raise TenantNotFound(f"tenant {slug!r} does not exist")
    return tenant
