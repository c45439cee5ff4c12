"""Every table, one metadata (``Base.metadata``) for Alembic."""

from leadflow.kit.orm import Base
from leadflow.models.audit import AuditEntry
from leadflow.models.auth import ApiKey, ApiKeyKind, RefreshToken
from leadflow.models.tenant import Tenant, TenantHost
from leadflow.models.user import Role, Team, TeamMember, User

__all__ = [
    "ApiKey",
    "ApiKeyKind",
    "AuditEntry",
    "Base",
    "RefreshToken",
    "Role",
    "Team",
    "TeamMember",
    "Tenant",
    "TenantHost",
    "User",
]
