from __future__ import annotations

from sqlalchemy import select

from leadflow.kit.repository import Repository
from leadflow.models import Tenant, TenantHost


class TenantRepository(Repository[Tenant]):
    model = Tenant

    async def by_slug(self, slug: str) -> Tenant | None:
        # The tenant is not known yet: on PostgreSQL the lookup passes the row-level wall (kit/rls.py).
        stmt = select(Tenant).where(Tenant.slug == slug).execution_options(cross_tenant_lookup=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_custom_host(self, host: str) -> Tenant | None:
        host_of_tenant = TenantHost.tenant_id == Tenant.id  # tenant-check: a join condition, not a filter
        stmt = (
            select(Tenant)
            .join(TenantHost, host_of_tenant)
            .where(TenantHost.host == host)
            .execution_options(cross_tenant_lookup=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()
