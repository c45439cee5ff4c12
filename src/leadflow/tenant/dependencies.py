from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Request

from leadflow.kit.scope import Scope, set_scope
from leadflow.kit.web import request_session
from leadflow.tenant.limits import admit_public_route
from leadflow.tenant.service import TenantDirectory, TenantRef


async def current_tenant(request: Request) -> TenantRef:
    """The tenant named by the Host header; the request's session is scoped to it from here on."""
    directory: TenantDirectory = request.app.state.tenants
    session = request_session(request)
    tenant = await directory.resolve(session, request.headers.get("host", ""))
    if "scope" not in session.info:
        set_scope(session, Scope(tenant_id=tenant.id, actor_type="anonymous"))
    request.state.tenant = tenant
    structlog.contextvars.bind_contextvars(tenant=tenant.slug)
    await admit_public_route(request, tenant)  # the tenant's walls for ingestion and webhook deliveries
    return tenant


CurrentTenant = Annotated[TenantRef, Depends(current_tenant)]
