from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, PastDate, StringConstraints

from leadflow.kit.schemas import InputSchema, OutputSchema
from leadflow.models import ConsentStatus, PersonMerge


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it here rather than fail at the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


Name = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_no_nul), Field(examples=["Maria Silva"])
]
Notes = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(_no_nul)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=60), AfterValidator(_no_nul)]
Tags = Annotated[list[Tag], Field(max_length=50, examples=[["investidor", "zona-sul"]]), AfterValidator(_unique)]
# Raw identities are normalised by the service, which answers 422 naming "phones.1" when one is not valid.
RawIdentity = Annotated[str, StringConstraints(max_length=200)]
Emails = Annotated[
    list[RawIdentity],
    Field(max_length=20, examples=[["Maria.Silva@Gmail.com"]], description="Lower-cased; the first is primary"),
]
Phones = Annotated[
    list[RawIdentity],
    Field(
        max_length=20,
        examples=[["(11) 98765-4321", "11 3456-7890"]],
        description="Any format; stored in E.164 (default region BR, ninth digit added); the first is primary",
    ),
]
WhatsappIds = Annotated[
    list[RawIdentity],
    Field(
        max_length=20,
        examples=[["5511987654321"]],
        description="WhatsApp numbers (a wa_id or typed) or Meta user ids",
    ),
]
CpfCnpj = Annotated[
    str,
    StringConstraints(max_length=30),
    Field(examples=["529.982.247-25"], description="CPF or CNPJ, punctuation allowed; stored as digits"),
]
CustomFields = Annotated[dict[str, Any], Field(examples=[{"renda_mensal": 1_500_000, "como_conheceu": "Indicação"}])]
BirthDate = Annotated[PastDate, Field(examples=["1985-03-14"])]


class PersonCreate(InputSchema):
    name: Name
    emails: Emails = Field(default_factory=list)
    phones: Phones = Field(default_factory=list)
    whatsapp_ids: WhatsappIds = Field(default_factory=list)
    cpf_cnpj: CpfCnpj | None = None
    birth_date: BirthDate | None = None
    notes: Notes | None = Field(default=None, examples=["Procura apartamento de 2 dormitórios perto do metrô."])
    tags: Tags = Field(default_factory=list)
    custom_fields: CustomFields = Field(default_factory=dict)


class PersonUpdate(InputSchema):
    """Only the fields sent change; a list sent (``emails``, ``phones``, ``whatsapp_ids``) replaces that set."""

    name: Name | None = None
    emails: Emails | None = None
    phones: Phones | None = None
    whatsapp_ids: WhatsappIds | None = None
    cpf_cnpj: CpfCnpj | None = None
    birth_date: BirthDate | None = None
    notes: Notes | None = None
    tags: Tags | None = None
    custom_fields: CustomFields | None = Field(
        default=None, description="Merged into the stored values; a key sent as null is removed"
    )


class PersonRead(OutputSchema):
    id: uuid.UUID
    name: str = Field(examples=["Maria Silva"])
    emails: list[str] = Field(examples=[["maria.silva@gmail.com"]])
    phones: list[str] = Field(examples=[["+5511987654321"]])
    whatsapp_ids: list[str] = Field(examples=[["+5511987654321"]])
    cpf_cnpj: str | None = Field(
        examples=["***.982.247-**"], description="A CPF is masked unless revealed with ?reveal=cpf; a CNPJ is not"
    )
    birth_date: date | None
    notes: str | None
    tags: list[str]
    custom_fields: dict[str, Any]
    merged_into_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class PersonFilters(BaseModel):
    """Filters of the people list; all combine with AND."""

    q: str | None = Field(
        default=None,
        max_length=200,
        description="Name (any case, accents optional), e-mail, or phone typed in any format",
        examples=["(11) 98765-4321"],
    )
    tag: str | None = Field(default=None, max_length=60, examples=["investidor"])
    created_from: AwareDatetime | None = Field(default=None, description="Created at or after")
    created_to: AwareDatetime | None = Field(default=None, description="Created before")


# Duplicates


MatchKind = Literal["cpf_cnpj", "email", "whatsapp", "phone"]


class MatchReason(BaseModel):
    kind: MatchKind = Field(examples=["phone"])
    value: str = Field(examples=["+5511987654321"], description="The other person's identity that matched")


class DuplicateRead(BaseModel):
    person: PersonRead
    reasons: list[MatchReason] = Field(description="Strongest first")
    score: int = Field(examples=[150], description="Sum of the reasons' weights: CPF/CNPJ 100, e-mail 70, …")


# Consents


class ConsentChannel(StrEnum):
    EMAIL = "email"
    WHATSAPP = "whatsapp"
    SMS = "sms"
    PHONE = "phone"
    ANY = "any"


class LegalBasis(StrEnum):
    """Legal bases of LGPD art. 7 a CRM relies on."""

    CONSENT = "consentimento"
    LEGITIMATE_INTEREST = "legitimo_interesse"
    CONTRACT = "execucao_de_contrato"
    LEGAL_OBLIGATION = "obrigacao_legal"
    EXERCISE_OF_RIGHTS = "exercicio_regular_de_direitos"
    CREDIT_PROTECTION = "protecao_do_credito"


class ConsentCreate(InputSchema):
    channel: ConsentChannel = Field(examples=["whatsapp"])
    purpose: str = Field(default="marketing", min_length=1, max_length=64, examples=["marketing"])
    legal_basis: LegalBasis = Field(examples=["consentimento"])
    source: str | None = Field(default=None, max_length=120, examples=["formulário do site Residencial Aurora"])
    text_version: str | None = Field(default=None, max_length=64, examples=["politica-privacidade-2026-01"])
    status: ConsentStatus = Field(examples=["given"])


class ConsentRead(OutputSchema):
    id: uuid.UUID
    person_id: uuid.UUID
    channel: ConsentChannel
    purpose: str
    legal_basis: LegalBasis
    source: str | None
    text_version: str | None
    status: ConsentStatus
    given_at: datetime | None
    withdrawn_at: datetime | None
    recorded_by_id: uuid.UUID | None
    created_at: datetime


# Merges

DEMOTED = "demoted_identities"  # merge record key: moved identities that stopped being primary (not a count)


class MergeCreate(InputSchema):
    other_id: uuid.UUID = Field(description="The person merged into this one (soft-deleted afterwards)")


class MergeRead(BaseModel):
    id: uuid.UUID
    survivor_id: uuid.UUID
    merged_id: uuid.UUID
    moved: dict[str, int] = Field(
        examples=[{"leads": 2, "interactions": 5, "tasks": 1, "attachments": 0, "identities": 3, "consents": 1}],
        description="How many rows of each kind moved to the survivor",
    )
    filled_fields: list[str] = Field(examples=[["cpf_cnpj", "tags"]], description="Survivor fields the merge filled")
    merged_by_id: uuid.UUID | None
    created_at: datetime
    undone_at: datetime | None

    @classmethod
    def of(cls, merge: PersonMerge) -> MergeRead:
        return cls(
            id=merge.id,
            survivor_id=merge.survivor_id,
            merged_id=merge.merged_id,
            moved={kind: len(ids) for kind, ids in merge.moved.items() if kind != DEMOTED},
            filled_fields=sorted(merge.survivor_before),
            merged_by_id=merge.merged_by_id,
            created_at=merge.created_at,
            undone_at=merge.undone_at,
        )
