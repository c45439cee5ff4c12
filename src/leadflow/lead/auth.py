"""Who may do what with leads and funnels.

Every member reads (within lead visibility). Owners, managers and brokers create, change, move and assign leads
(``LeadsWrite``, key scope "write"); a broker may only assign to themselves, which the service checks. Funnel
configuration (pipelines, stages, transitions, loss reasons), deleting and restoring leads and bulk reassignment
are for owners and managers (``Manager``, key scope "admin").
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from leadflow.auth.dependencies import allow
from leadflow.kit.scope import Scope
from leadflow.models import Role

LeadsWrite = Annotated[Scope, Depends(allow(Role.OWNER, Role.MANAGER, Role.BROKER, key_scope="write"))]
