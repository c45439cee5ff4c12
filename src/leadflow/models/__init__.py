"""Every table, one metadata (``Base.metadata``) for Alembic."""

from leadflow.kit.orm import Base
from leadflow.models.activity import Attachment, Direction, Interaction, InteractionChannel, Task, Visit, VisitStatus
from leadflow.models.audit import AuditEntry
from leadflow.models.auth import ApiKey, ApiKeyKind, RefreshToken
from leadflow.models.bus import HandlerRun, OutboxMessage, OutboxStatus
from leadflow.models.capture import Event, EventType, FailureType, RejectedEvent
from leadflow.models.dataimport import ImportedRow, ImportJob, ImportStatus
from leadflow.models.lead import (
    CustomFieldDefinition,
    CustomFieldType,
    Lead,
    LeadAssignment,
    LeadInterest,
    LeadStageHistory,
    LeadStatus,
    LossReason,
    Pipeline,
    Purpose,
    Stage,
    StageKind,
    StageTransition,
    Tag,
    Temperature,
)
from leadflow.models.person import Consent, ConsentStatus, IdentityKind, Person, PersonIdentity, PersonMerge
from leadflow.models.pipeline import (
    ConversionKind,
    DecisionKind,
    LeadConversion,
    LeadForm,
    RoutingDecisionRecord,
    RuleSetVersion,
)
from leadflow.models.property import (
    Development,
    DevelopmentPhase,
    ListingPurpose,
    Property,
    PropertyStatus,
    PropertyType,
)
from leadflow.models.tenant import Tenant, TenantHost
from leadflow.models.user import Role, Team, TeamMember, User

__all__ = [
    "ApiKey",
    "ApiKeyKind",
    "Attachment",
    "AuditEntry",
    "Base",
    "Consent",
    "ConsentStatus",
    "ConversionKind",
    "CustomFieldDefinition",
    "CustomFieldType",
    "DecisionKind",
    "Development",
    "DevelopmentPhase",
    "Direction",
    "Event",
    "EventType",
    "FailureType",
    "HandlerRun",
    "IdentityKind",
    "ImportJob",
    "ImportStatus",
    "ImportedRow",
    "Interaction",
    "InteractionChannel",
    "Lead",
    "LeadAssignment",
    "LeadConversion",
    "LeadForm",
    "LeadInterest",
    "LeadStageHistory",
    "LeadStatus",
    "ListingPurpose",
    "LossReason",
    "OutboxMessage",
    "OutboxStatus",
    "Person",
    "PersonIdentity",
    "PersonMerge",
    "Pipeline",
    "Property",
    "PropertyStatus",
    "PropertyType",
    "Purpose",
    "RefreshToken",
    "RejectedEvent",
    "Role",
    "RoutingDecisionRecord",
    "RuleSetVersion",
    "Stage",
    "StageKind",
    "StageTransition",
    "Tag",
    "Task",
    "Team",
    "TeamMember",
    "Temperature",
    "Tenant",
    "TenantHost",
    "User",
    "Visit",
    "VisitStatus",
]
