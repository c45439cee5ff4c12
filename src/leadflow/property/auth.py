"""Who may do what with properties and developments: everyone reads; owners, managers and brokers write;
deleting and restoring is for owners and managers (``Manager``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from leadflow.auth.dependencies import allow
from leadflow.kit.scope import Scope
from leadflow.models import Role

PropertiesWrite = Annotated[Scope, Depends(allow(Role.OWNER, Role.MANAGER, Role.BROKER, key_scope="write"))]
