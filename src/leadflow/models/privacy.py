"""LGPD: purposes and their legal bases, data-subject requests, the suppression list and the per-subject data keys.

The consent log itself is ``consents`` (models/person.py): append-only, the latest row per person, purpose and
channel is the current state.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.kit.orm import Base, JsonType, TenantScoped, enum_column


class LegalBasis(StrEnum):
    """The bases of LGPD art. 7 a real-estate CRM processes personal data under (the values the consent log uses)."""

    CONSENT = "consentimento"  # art. 7 I
    LEGAL_OBLIGATION = "obrigacao_legal"  # art. 7 II (tax and contract records)
    CONTRACT = "execucao_de_contrato"  # art. 7 V (pre-contract steps: answering an enquiry)
    EXERCISE_OF_RIGHTS = "exercicio_regular_de_direitos"  # art. 7 VI (defence in disputes)
    LEGITIMATE_INTEREST = "legitimo_interesse"  # art. 7 IX, with a stored assessment
    CREDIT_PROTECTION = "protecao_do_credito"  # art. 7 X


class ProcessingPurpose(Base, TenantScoped):
    """Why the tenant processes personal data (``atendimento``, ``marketing``, …) and under which legal basis."""

    __tablename__ = "privacy_purposes"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)
    __audited__ = True

    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    legal_basis: Mapped[LegalBasis] = mapped_column(enum_column(LegalBasis, "legal_basis"))
    description: Mapped[str | None] = mapped_column(Text)
    # Required by the service when the basis is legitimate interest (LIA, art. 10).
    legitimate_interest_assessment: Mapped[str | None] = mapped_column(Text)
    is_marketing: Mapped[bool] = mapped_column(default=False)


class RequestKind(StrEnum):
    """The data subject's rights of LGPD art. 18 an inbox request can be about."""

    ACCESS = "access"
    PORTABILITY = "portability"
    CORRECTION = "correction"
    ANONYMISATION = "anonymisation"
    DELETION = "deletion"
    CONSENT_WITHDRAWAL = "consent_withdrawal"


class RequestStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class RequestOutcome(StrEnum):
    FULFILLED = "fulfilled"
    PARTIALLY_FULFILLED = "partially_fulfilled"
    REFUSED = "refused"  # e.g. identity not confirmed, or data under legal retention


class PrivacyRequest(Base, TenantScoped):
    """A data-subject request (art. 18) with its legal clock: the full answer is due 15 days after receipt."""

    __tablename__ = "privacy_requests"
    __table_args__ = (
        Index("ix_privacy_requests_status_due", "tenant_id", "status", "due_at"),
        Index("ix_privacy_requests_person", "tenant_id", "person_id"),
    )
    __audited__ = True

    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    kind: Mapped[RequestKind] = mapped_column(enum_column(RequestKind, "privacy_request_kind"))
    status: Mapped[RequestStatus] = mapped_column(
        enum_column(RequestStatus, "privacy_request_status"), default=RequestStatus.OPEN
    )
    channel: Mapped[str | None] = mapped_column(String(32))  # email, whatsapp, phone, in person, …
    received_at: Mapped[datetime]
    due_at: Mapped[datetime]
    details: Mapped[str | None] = mapped_column(Text)  # cleared when the person is anonymised
    opened_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    outcome: Mapped[RequestOutcome | None] = mapped_column(enum_column(RequestOutcome, "privacy_request_outcome"))
    outcome_note: Mapped[str | None] = mapped_column(Text)


class Suppression(Base, TenantScoped):
    """A contact that must not be silently re-created (anonymised or erased person): only an HMAC of the
    normalised value is kept, so the list itself holds no personal data."""

    __tablename__ = "privacy_suppressions"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "digest"),)

    kind: Mapped[str] = mapped_column(String(16))  # email, phone
    digest: Mapped[str] = mapped_column(String(64))  # hex HMAC-SHA256 under a key derived from the settings
    reason: Mapped[str] = mapped_column(String(32))  # anonymised, erased, opted_out


class DataKey(Base, TenantScoped):
    """The data key that seals one subject's personal data in the event log, wrapped by the instance key ring.

    Destroying it (``wrapped`` cleared, ``destroyed_at`` set) makes everything it sealed unreadable for good.
    """

    __tablename__ = "privacy_data_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "subject_kind", "subject_ref"),)

    subject_kind: Mapped[str] = mapped_column(String(16))  # person, visitor
    subject_ref: Mapped[str] = mapped_column(String(255))  # the person id or the visitor's tracking id
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    destroyed_at: Mapped[datetime | None]


class Anonymisation(Base, TenantScoped):
    """The record that a person was anonymised (LGPD art. 18 IV): when, by whom, why; one per person, which makes
    anonymising idempotent. Holds no personal data."""

    __tablename__ = "privacy_anonymisations"
    __table_args__ = (UniqueConstraint("tenant_id", "person_id"),)
    __audited__ = True

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(64))  # subject_request, retention, …
    anonymised_at: Mapped[datetime]
    anonymised_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    summary: Mapped[dict[str, int]] = mapped_column(JsonType, default=dict)  # rows touched per table
