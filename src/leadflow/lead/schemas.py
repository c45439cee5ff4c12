from __future__ import annotations

import math
import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from leadflow.kit.schemas import InputSchema, OutputSchema
from leadflow.lead.rules import is_requirable
from leadflow.models import LeadStatus, PropertyType, Purpose, StageKind, Temperature
from leadflow.person.schemas import PersonCreate


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it here rather than fail at the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def _check_extra(key: str, value: Any) -> None:
    # Stored in JSON (JSONB on PostgreSQL, which refuses NUL and NaN): plain, bounded values only.
    if len(key) > 60 or "\x00" in key:
        raise ValueError(f"key {key[:60]!r} must be at most 60 characters of text")
    if not (value is None or isinstance(value, bool | int | float | str)):
        raise ValueError(f"{key} must be a plain value (text, number, true/false or null)")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{key} must be a finite number")
    if isinstance(value, str) and (len(value) > 2000 or "\x00" in value):
        raise ValueError(f"{key} must be text of at most 2000 characters without NUL")


def _requirable(names: list[str]) -> list[str]:
    unknown = [name for name in names if not is_requirable(name)]
    if unknown:
        raise ValueError(f"not a lead field a stage can require: {', '.join(unknown)}")
    return names


Text = Annotated[str, AfterValidator(_no_nul)]
Short = Annotated[str, StringConstraints(max_length=60), AfterValidator(_no_nul)]
Line = Annotated[str, StringConstraints(max_length=200), AfterValidator(_no_nul)]
ClickId = Annotated[str, StringConstraints(max_length=300), AfterValidator(_no_nul)]
Long = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_no_nul)]
Name = Annotated[Text, StringConstraints(min_length=1, max_length=120)]
Color = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$"), Field(examples=["#f59e0b"])]
Probability = Annotated[int, Field(ge=0, le=100, description="Chance of closing, in percent", examples=[40])]
Tag = Annotated[Text, StringConstraints(min_length=1, max_length=60)]
Tags = Annotated[list[Tag], Field(max_length=50, examples=[["investidor", "zona-sul"]]), AfterValidator(_unique)]
Places = Annotated[list[Annotated[Text, StringConstraints(min_length=1, max_length=120)]], Field(max_length=30)]
Cents = Annotated[int, Field(ge=0, le=10**13)]
RequiredFields = Annotated[
    list[str],
    Field(
        max_length=20,
        examples=[["property_id", "value_cents"]],
        description="Lead fields that must be set to enter the stage (custom fields as custom_fields.<key>)",
    ),
    AfterValidator(_unique),
    AfterValidator(_requirable),
]


# Funnels


class StageCreate(InputSchema):
    name: Name = Field(examples=["Visita agendada"])
    position: int | None = Field(default=None, ge=0, description="0-based; omitted: after the last stage")
    kind: StageKind = Field(default=StageKind.OPEN, examples=["open"])
    probability: Probability = 0
    color: Color = "#64748b"
    required_fields: RequiredFields = Field(default_factory=list)


class StageUpdate(InputSchema):
    name: Name | None = Field(default=None, examples=["Proposta enviada"])
    position: int | None = Field(default=None, ge=0, description="0-based; the other stages shift around it")
    kind: StageKind | None = None
    probability: Probability | None = None
    color: Color | None = None
    required_fields: RequiredFields | None = None


class StageRead(OutputSchema):
    id: uuid.UUID
    pipeline_id: uuid.UUID
    name: str = Field(examples=["Proposta"])
    position: int = Field(examples=[3])
    kind: StageKind
    probability: int = Field(examples=[70])
    color: str = Field(examples=["#f59e0b"])
    required_fields: list[str] = Field(examples=[["property_id", "value_cents"]])
    is_active: bool


class Transition(InputSchema):
    from_stage_id: uuid.UUID
    to_stage_id: uuid.UUID


class TransitionsPut(InputSchema):
    """The complete set of allowed moves of a pipeline (replaces the stored one)."""

    transitions: list[Transition] = Field(max_length=400)
    restrict_transitions: bool | None = Field(
        default=None, description="Also switch enforcement on or off; omitted: unchanged"
    )


class TransitionRead(OutputSchema):
    from_stage_id: uuid.UUID
    to_stage_id: uuid.UUID


class PipelineCreate(InputSchema):
    name: Name = Field(examples=["Lançamento Residencial Aurora"])
    is_default: bool = Field(default=False, description="Where leads go when no pipeline is named")
    restrict_transitions: bool = Field(
        default=False, description="Only the configured transitions are allowed (otherwise any move is)"
    )
    position: int | None = Field(default=None, ge=0)
    stages: list[StageCreate] = Field(default_factory=list, max_length=30, description="In order")


class PipelineUpdate(InputSchema):
    name: Name | None = None
    is_default: Literal[True] | None = Field(default=None, description="Make this the default (the old one stops)")
    restrict_transitions: bool | None = None
    position: int | None = Field(default=None, ge=0)


class PipelineRead(OutputSchema):
    id: uuid.UUID
    name: str = Field(examples=["Venda"])
    position: int
    is_default: bool
    restrict_transitions: bool
    stages: list[StageRead] = Field(description="Active stages in order")
    transitions: list[TransitionRead]
    created_at: datetime
    updated_at: datetime


class LossReasonCreate(InputSchema):
    name: Name = Field(examples=["Financiamento negado"])


class LossReasonRead(OutputSchema):
    id: uuid.UUID
    name: str = Field(examples=["Comprou com outro"])
    created_at: datetime


# Leads


MAX_TOUCH_EXTRAS = 30


class Touch(InputSchema):
    """A touch point for attribution: the capture pipeline fills these; a form or an import may too.

    Keys beyond the named ones (``utm_id``, ``gad_source``, …) are kept as sent: short names, plain values.
    """

    model_config = ConfigDict(extra="allow")

    utm_source: Line | None = Field(default=None, examples=["google"])
    utm_medium: Line | None = Field(default=None, examples=["cpc"])
    utm_campaign: Line | None = Field(default=None, examples=["lancamento-aurora-2026"])
    utm_term: Line | None = Field(default=None, examples=["apartamento 2 quartos campinas"])
    utm_content: Line | None = Field(default=None, examples=["anuncio-varanda-gourmet"])
    gclid: ClickId | None = None
    gbraid: ClickId | None = None
    wbraid: ClickId | None = None
    fbclid: ClickId | None = None
    msclkid: ClickId | None = None
    ttclid: ClickId | None = None
    referrer: Long | None = Field(default=None, examples=["https://www.google.com/"])
    landing_page: Long | None = Field(default=None, examples=["https://aurora.imobiliaria.com.br/?utm_source=google"])
    at: AwareDatetime | None = Field(default=None, examples=["2026-11-20T09:12:00-03:00"])

    @model_validator(mode="after")
    def _plain_extras(self) -> Touch:
        extras = self.model_extra or {}
        if len(extras) > MAX_TOUCH_EXTRAS:
            raise ValueError(f"at most {MAX_TOUCH_EXTRAS} other keys")
        for key, value in extras.items():
            _check_extra(key, value)
        return self


class InterestIn(InputSchema):
    """What the lead looks for. On a PATCH only the fields sent change."""

    purpose: Purpose | None = Field(default=None, examples=["compra"])
    property_types: Annotated[list[PropertyType], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=10, examples=[["apartamento", "cobertura"]]
    )
    price_min_cents: Cents | None = Field(default=None, examples=[50_000_000])
    price_max_cents: Cents | None = Field(default=None, examples=[75_000_000])
    bedrooms_min: int | None = Field(default=None, ge=0, le=20, examples=[2])
    suites_min: int | None = Field(default=None, ge=0, le=20, examples=[1])
    parking_min: int | None = Field(default=None, ge=0, le=20, examples=[1])
    area_min: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2, examples=["60"])
    area_max: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2, examples=["90"])
    neighbourhoods: Places = Field(default_factory=list, examples=[["Pinheiros", "Vila Madalena"]])
    cities: Places = Field(default_factory=list, examples=[["São Paulo"]])
    accepts_financing: bool | None = Field(default=None, examples=[True])
    accepts_fgts: bool | None = Field(default=None, examples=[True])

    @model_validator(mode="after")
    def _ranges_in_order(self) -> InterestIn:
        for low, high in (("price_min_cents", "price_max_cents"), ("area_min", "area_max")):
            low_value, high_value = getattr(self, low), getattr(self, high)
            if low_value is not None and high_value is not None and low_value > high_value:
                raise ValueError(f"{low} must not exceed {high}")
        return self


class InterestRead(OutputSchema):
    purpose: Purpose | None
    property_types: list[str]
    price_min_cents: int | None
    price_max_cents: int | None
    bedrooms_min: int | None
    suites_min: int | None
    parking_min: int | None
    area_min: Decimal | None
    area_max: Decimal | None
    neighbourhoods: list[str]
    cities: list[str]
    accepts_financing: bool | None
    accepts_fgts: bool | None


class _LeadFields(InputSchema):
    title: Line | None = Field(default=None, examples=["Apto 2 dorms em Pinheiros"])
    value_cents: Cents | None = Field(
        default=None, description="Expected deal value in BRL cents", examples=[65_000_000]
    )
    temperature: Temperature | None = Field(default=None, examples=["quente"])
    score: int | None = Field(default=None, ge=0, le=100, examples=[72])
    tags: Tags | None = None
    custom_fields: dict[str, Any] | None = Field(default=None, examples=[{"renda_familiar": 1_800_000}])
    source: Short | None = Field(default=None, examples=["portal_zap"])
    channel: Short | None = Field(default=None, examples=["Paid Search"])
    utm_campaign: Line | None = Field(
        default=None, description="Defaults to first_touch.utm_campaign", examples=["aurora-2026"]
    )
    first_touch: Touch | None = None
    last_touch: Touch | None = None
    property_id: uuid.UUID | None = Field(default=None, description="The property the lead asked about")
    development_id: uuid.UUID | None = Field(default=None, description="The development the lead asked about")
    next_follow_up_at: AwareDatetime | None = Field(default=None, examples=["2026-11-24T10:00:00-03:00"])
    first_response_due_at: AwareDatetime | None = Field(default=None, examples=["2026-11-23T14:15:00-03:00"])
    interest: InterestIn | None = None


class LeadCreate(_LeadFields):
    """A new lead of an existing person (``person_id``) or of one created with it (``person``): exactly one."""

    person_id: uuid.UUID | None = None
    person: PersonCreate | None = Field(
        default=None, examples=[{"name": "Maria Silva", "phones": ["(11) 98765-4321"], "emails": ["maria@gmail.com"]}]
    )
    pipeline_id: uuid.UUID | None = Field(default=None, description="Omitted: the default pipeline")
    stage_id: uuid.UUID | None = Field(default=None, description="Omitted: the pipeline's first open stage")
    owner_id: uuid.UUID | None = Field(default=None, description="Omitted by a broker: the broker")
    team_id: uuid.UUID | None = None
    loss_reason_id: uuid.UUID | None = Field(default=None, description="Required when stage_id is a lost stage")
    loss_note: Long | None = Field(default=None)

    @model_validator(mode="after")
    def _one_person(self) -> LeadCreate:
        if (self.person_id is None) == (self.person is None):
            raise ValueError("give either person_id or person, not both and not neither")
        return self


class LeadUpdate(_LeadFields):
    """Only the fields sent change. ``custom_fields`` merge (a key sent as null is removed); ``interest`` merges
    too, and ``interest: null`` removes it. Stage, owner and status change through move and assign."""


class LeadRead(OutputSchema):
    id: uuid.UUID
    person_id: uuid.UUID
    person_name: str | None = Field(examples=["Maria Silva"])
    person_phone: str | None = Field(description="Primary phone, E.164", examples=["+5511987654321"])
    person_email: str | None = Field(description="Primary e-mail", examples=["maria.silva@gmail.com"])
    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    owner_id: uuid.UUID | None
    team_id: uuid.UUID | None
    title: str | None
    status: LeadStatus
    loss_reason_id: uuid.UUID | None
    loss_note: str | None
    value_cents: int | None = Field(examples=[65_000_000])
    temperature: Temperature | None
    score: int
    tags: list[str]
    custom_fields: dict[str, Any]
    source: str | None
    channel: str | None
    utm_campaign: str | None
    first_touch: dict[str, Any]
    last_touch: dict[str, Any]
    property_id: uuid.UUID | None
    development_id: uuid.UUID | None
    interest: InterestRead | None
    stage_entered_at: datetime | None
    first_response_due_at: datetime | None
    first_responded_at: datetime | None
    next_follow_up_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class LeadSort(StrEnum):
    CREATED_DESC = "-created_at"
    CREATED_ASC = "created_at"
    UPDATED_DESC = "-updated_at"
    UPDATED_ASC = "updated_at"
    VALUE_DESC = "-value_cents"
    VALUE_ASC = "value_cents"


class LeadFilters(BaseModel):
    """Filters of the lead list; all combine with AND."""

    pipeline_id: uuid.UUID | None = None
    stage_id: uuid.UUID | None = None
    owner_id: uuid.UUID | Literal["none"] | None = Field(default=None, description='"none": unassigned leads')
    team_id: uuid.UUID | None = None
    status: LeadStatus | None = None
    person_id: uuid.UUID | None = Field(default=None, description="The leads of one person")
    property_id: uuid.UUID | None = Field(default=None, description="Leads that asked about this property")
    development_id: uuid.UUID | None = Field(default=None, description="Leads that asked about this development")
    source: Short | None = Field(default=None, examples=["portal_zap"])
    channel: Short | None = Field(default=None, examples=["Paid Search"])
    campaign: Line | None = Field(default=None, description="utm_campaign", examples=["aurora-2026"])
    tag: Short | None = Field(default=None, examples=["investidor"])
    temperature: Temperature | None = None
    created_from: AwareDatetime | None = Field(default=None, description="Created at or after")
    created_to: AwareDatetime | None = Field(default=None, description="Created before")
    updated_from: AwareDatetime | None = Field(default=None, description="Updated at or after")
    updated_to: AwareDatetime | None = Field(default=None, description="Updated before")
    overdue_follow_up: bool | None = Field(default=None, description="true: next_follow_up_at has passed")
    sla_breached: bool | None = Field(
        default=None, description="true: not answered yet and first_response_due_at has passed"
    )
    q: Line | None = Field(
        default=None,
        description="The person's name (any case, accents optional), e-mail, or phone typed in any format",
        examples=["(11) 98765-4321"],
    )


class LeadMove(InputSchema):
    stage_id: uuid.UUID
    loss_reason_id: uuid.UUID | None = Field(default=None, description="Required when entering a lost stage")
    loss_note: Long | None = Field(default=None, examples=["Achou um imóvel mais barato na Mooca"])


class LeadAssign(InputSchema):
    owner_id: uuid.UUID | None = Field(description="null returns the lead to the pool (managers only)")
    team_id: uuid.UUID | None = Field(default=None, description="Omitted: the lead keeps its team")
    reason: Line | None = Field(default=None, examples=["Cliente pediu atendimento em Campinas"])


class BulkAction(StrEnum):
    REASSIGN = "reassign"
    MOVE = "move"
    TAG = "tag"
    UNTAG = "untag"


NEEDS: dict[BulkAction, str] = {
    BulkAction.REASSIGN: "owner_id",
    BulkAction.MOVE: "stage_id",
    BulkAction.TAG: "tags",
    BulkAction.UNTAG: "tags",
}


class LeadBulk(InputSchema):
    """One action on up to 500 leads: all of them change, or none and the answer lists each refusal."""

    lead_ids: Annotated[list[uuid.UUID], AfterValidator(_unique)] = Field(min_length=1, max_length=500)
    action: BulkAction = Field(examples=["move"])
    owner_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = Field(default=None, description="reassign: also set the team")
    stage_id: uuid.UUID | None = None
    loss_reason_id: uuid.UUID | None = Field(default=None, description="move to a lost stage: the reason")
    tags: Tags | None = None

    @model_validator(mode="after")
    def _has_what_the_action_needs(self) -> LeadBulk:
        needed = NEEDS[self.action]
        if not getattr(self, needed):
            raise ValueError(f"{self.action.value} needs {needed}")
        return self


class BulkResult(BaseModel):
    action: BulkAction
    count: int = Field(examples=[42])
    lead_ids: list[uuid.UUID]


class StageMoveRead(BaseModel):
    kind: Literal["stage_move"] = "stage_move"
    at: datetime
    by_id: uuid.UUID | None = Field(description="The user who moved it; null for a key or an automation")
    from_stage_id: uuid.UUID | None
    from_stage_name: str | None = Field(examples=["Visita agendada"])
    to_stage_id: uuid.UUID
    to_stage_name: str | None = Field(examples=["Proposta"])
    seconds_in_previous: int | None = Field(examples=[259_200])


class AssignmentRead(BaseModel):
    kind: Literal["assignment"] = "assignment"
    at: datetime
    by_id: uuid.UUID | None
    from_user_id: uuid.UUID | None
    to_user_id: uuid.UUID | None
    team_id: uuid.UUID | None
    reason: str = Field(examples=["manual"])
    note: str | None = Field(examples=["Cliente pediu atendimento em Campinas"])


HistoryItem = Annotated[StageMoveRead | AssignmentRead, Field(discriminator="kind")]
