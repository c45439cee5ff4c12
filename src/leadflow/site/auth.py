"""Who reads the public site: an anonymous visitor of the tenant the host names."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from leadflow.kit.scope import Scope, get_scope
from leadflow.kit.web import DbSession
from leadflow.tenant.dependencies import CurrentTenant


async def visitor_scope(tenant: CurrentTenant, session: DbSession) -> Scope:
    """The request's scope as CurrentTenant bound it: the host's tenant, anonymous. Credentials are not read:
    a signed-in broker sees exactly what a visitor sees."""
    scope = get_scope(session.sync_session)
    if scope is None or scope.tenant_id != tenant.id:  # tenant-check: the binding CurrentTenant just made
        raise RuntimeError("the site's session is not scoped to the host's tenant")
    return scope


Visitor = Annotated[Scope, Depends(visitor_scope)]
