from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from leadflow.auth.dependencies import allow
from leadflow.kit.scope import Scope
from leadflow.models import Role

# Connections hold the tenant's credentials to outside services: owners and managers only.
IntegrationsAdmin = Annotated[Scope, Depends(allow(Role.OWNER, Role.MANAGER, key_scope="admin"))]
# Writing to a lead on a channel is a broker's everyday work.
ChannelWrite = Annotated[Scope, Depends(allow(Role.OWNER, Role.MANAGER, Role.BROKER, key_scope="write"))]
