"""Who may do what with activities: every member reads (within lead visibility); owners, managers and brokers
write (secret keys need the ``write`` scope); viewers are refused every write by authentication itself.
Deleting is for a manager or the author, checked by the service (it needs the row)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from leadflow.auth.dependencies import allow
from leadflow.kit.scope import Scope
from leadflow.models import Role

ActivitiesWrite = Annotated[Scope, Depends(allow(Role.OWNER, Role.MANAGER, Role.BROKER, key_scope="write"))]
