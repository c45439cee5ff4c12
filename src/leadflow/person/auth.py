"""Who may do what with people: everyone reads; owners, managers and brokers create, edit and record consents
(``PeopleWrite``, key scope "write"); deleting, restoring, merging and undoing a merge is for owners and managers
(``Manager``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from leadflow.auth.dependencies import allow
from leadflow.kit.scope import Scope
from leadflow.models import Role

PeopleWrite = Annotated[Scope, Depends(allow(Role.OWNER, Role.MANAGER, Role.BROKER, key_scope="write"))]
