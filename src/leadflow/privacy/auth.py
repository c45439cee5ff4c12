"""Who may do what with LGPD features: everyone reads the purposes and a person's consents; owners, managers and
brokers record consents (``ConsentsWrite``, key scope "write"); defining purposes, the data-subject inbox, the
subject export and anonymisation are for owners and managers (``PrivacyAdmin``, key scope "admin")."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from leadflow.auth.dependencies import allow
from leadflow.kit.scope import Scope
from leadflow.models import Role

ConsentsWrite = Annotated[Scope, Depends(allow(Role.OWNER, Role.MANAGER, Role.BROKER, key_scope="write"))]
PrivacyAdmin = Annotated[Scope, Depends(allow(Role.OWNER, Role.MANAGER, key_scope="admin"))]
