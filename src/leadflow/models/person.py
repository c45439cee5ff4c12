from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, validates

from leadflow.kit.orm import Base, SoftDeletable, TenantScoped, enum_column


def name_search_key(text: str) -> str:
    """The form names are searched in: case- and accent-free ("João" and "joao" meet).

    Stored beside ``name`` because SQLite's lower() ignores non-ASCII letters and neither database strips accents
    portably.
    """
    decomposed = unicodedata.normalize("NFKD", " ".join(text.split()).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


PHONE_TAIL_DIGITS = 8
_NUMBER = re.compile(r"^\+?[0-9]{8,}$")


def phone_tail(value: str) -> str | None:
    """The last eight digits of a phone-like value: the part that survives DDD, country code and ninth digit.

    An equality on it is how a number typed in any format is found among millions without a text scan.
    """
    return value[-PHONE_TAIL_DIGITS:] if _NUMBER.match(value) else None


class IdentityKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    WHATSAPP = "whatsapp"  # wa_id or Meta's business-scoped user id
    INSTAGRAM = "instagram"  # Instagram-scoped id
    CPF = "cpf"
    CNPJ = "cnpj"
    TRACKING_ID = "tracking_id"  # t.js first-party visitor id
    EXTERNAL = "external"  # an id in another system (portal, CRM)


class Person(Base, TenantScoped, SoftDeletable):
    """A contact or client (cliente/contato): who a lead is about."""

    __tablename__ = "people"
    __table_args__ = (
        Index("ix_people_tenant_name", "tenant_id", "name"),
        Index("ix_people_tenant_created", "tenant_id", "created_at"),
    )
    __audited__ = True
    __audit_exclude__ = frozenset({"name_key"})
    # Personal data stays out of the append-only audit log (LGPD erasure): the diff names the field, masks the value.
    __secret_fields__ = frozenset({"name", "cpf_cnpj", "birth_date", "notes", "custom_fields"})

    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), default="")  # name_search_key(name), kept by _keep_name_key
    cpf_cnpj: Mapped[str | None] = mapped_column(String(14))  # digits only, check digits validated
    birth_date: Mapped[date | None]
    notes: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))

    @validates("name")
    def _keep_name_key(self, _: str, value: str) -> str:
        self.name_key = name_search_key(value)[:200]
        return value


class PersonIdentity(Base, TenantScoped):
    """One way to reach or recognise a person: an e-mail, a phone (E.164), a WhatsApp id, a CPF, a visitor id.

    ``match_key`` is what duplicates are found by: for Brazilian mobiles the number without the ninth digit, so
    +55 11 98765-4321 and +55 11 8765-4321 meet; for everything else the normalised value.
    """

    __tablename__ = "person_identities"
    __table_args__ = (
        Index("ix_person_identities_match", "tenant_id", "kind", "match_key"),
        Index("ix_person_identities_value", "tenant_id", "value"),
        Index("ix_person_identities_person", "tenant_id", "person_id"),
        Index("ix_person_identities_tail", "tenant_id", "phone_tail"),
    )
    __audited__ = True
    __audit_exclude__ = frozenset({"phone_tail"})
    __secret_fields__ = frozenset({"value", "match_key"})  # personal data: see Person

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    kind: Mapped[IdentityKind] = mapped_column(enum_column(IdentityKind, "identity_kind"))
    value: Mapped[str] = mapped_column(String(320))
    match_key: Mapped[str] = mapped_column(String(320))
    phone_tail: Mapped[str | None] = mapped_column(String(8), default=None)  # phone_tail(value), kept by _keep_tail
    label: Mapped[str | None] = mapped_column(String(40))  # "celular", "trabalho", …
    is_primary: Mapped[bool] = mapped_column(default=False)

    @validates("value")
    def _keep_tail(self, _: str, value: str) -> str:
        self.phone_tail = phone_tail(value)
        return value


class ConsentStatus(StrEnum):
    GIVEN = "given"
    WITHDRAWN = "withdrawn"


class Consent(Base, TenantScoped):
    """A consent record (LGPD): append a new row to change it; rows are not edited."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_person", "tenant_id", "person_id", "channel"),)
    __audited__ = True

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))  # email, whatsapp, sms, phone, any
    purpose: Mapped[str] = mapped_column(String(64), default="marketing")
    legal_basis: Mapped[str] = mapped_column(String(64))  # consentimento, legítimo interesse, contrato, …
    source: Mapped[str | None] = mapped_column(String(120))
    text_version: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[ConsentStatus] = mapped_column(enum_column(ConsentStatus, "consent_status"))
    given_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class PersonMerge(Base, TenantScoped):
    """A merge of ``merged_id`` into ``survivor_id``, with what moved, so it can be undone."""

    __tablename__ = "person_merges"
    __audited__ = True

    survivor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    merged_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    moved: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"leads": [ids], "interactions": [...], ...}
    survivor_before: Mapped[dict[str, Any]] = mapped_column(default=dict)  # fields the merge filled in
    merged_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    undone_at: Mapped[datetime | None]
