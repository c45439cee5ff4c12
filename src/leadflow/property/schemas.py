from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, HttpUrl, PlainSerializer, StringConstraints

from leadflow.kit.br import normalize_cep
from leadflow.kit.schemas import InputSchema, OutputSchema
from leadflow.models import DevelopmentPhase, LeadStatus, ListingPurpose, PropertyStatus, PropertyType
from leadflow.property.matching import Criterion

BRAZILIAN_UFS = frozenset(
    {"AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA"}
    | {"PB", "PR", "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO"}
)
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


def _uf(value: str) -> str:
    uf = value.strip().upper()
    if uf not in BRAZILIAN_UFS:
        raise ValueError("UF must be one of the 27 Brazilian states (e.g. SP, RJ, DF)")
    return uf


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def normalize_reference(value: str) -> str:
    """References are codes: stored and compared upper-case ("ap-0001" is "AP-0001")."""
    return value.strip().upper()


Cep = Annotated[str, AfterValidator(normalize_cep), Field(examples=["05422-010"], description="Stored as 8 digits")]
Uf = Annotated[str, AfterValidator(_uf), Field(examples=["SP"])]
Latitude = Annotated[float, Field(ge=-90, le=90, examples=[-23.5614])]
Longitude = Annotated[float, Field(ge=-180, le=180, examples=[-46.6912])]
Cents = Annotated[int, Field(ge=0, le=10**13, examples=[650_000_00], description="BRL cents")]
Rooms = Annotated[int, Field(ge=0, le=99, examples=[2])]
Area = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2, examples=[72.5], description="m²")]
AreaOut = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
Reference = Annotated[
    str,
    StringConstraints(min_length=1, max_length=40),
    AfterValidator(normalize_reference),
    Field(examples=["AP-0001"]),
]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Features = Annotated[
    list[Short],
    Field(max_length=60, examples=[["piscina", "churrasqueira", "varanda gourmet"]]),
    AfterValidator(_unique),
]
Photos = Annotated[
    list[HttpUrl], Field(max_length=100, examples=[["https://fotos.imobiliaria.com.br/ap-0001/sala.jpg"]])
]
Towers = Annotated[list[Short], Field(max_length=50, examples=[["Torre A", "Torre B"]]), AfterValidator(_unique)]


class AddressFields(InputSchema):
    cep: Cep | None = None
    street: str | None = Field(default=None, max_length=200, examples=["Rua dos Pinheiros"])
    number: str | None = Field(default=None, max_length=20, examples=["1200"])
    neighbourhood: str | None = Field(default=None, max_length=120, examples=["Pinheiros"])
    city: str | None = Field(default=None, max_length=120, examples=["São Paulo"])
    uf: Uf | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None


class PropertyFields(AddressFields):
    reference: Reference
    title: str | None = Field(default=None, max_length=200, examples=["Apartamento 2 dormitórios com varanda"])
    description: str | None = Field(default=None, max_length=20_000, examples=["Andar alto, sol da manhã."])
    type: PropertyType = Field(examples=["apartamento"])
    purpose: ListingPurpose = Field(examples=["venda"])
    status: PropertyStatus = Field(default=PropertyStatus.AVAILABLE, examples=["disponivel"])
    price_cents: Cents | None = None
    condo_fee_cents: Cents | None = Field(default=None, examples=[850_00])
    iptu_cents: Cents | None = Field(default=None, examples=[210_00])
    private_area: Area | None = None
    total_area: Area | None = Field(default=None, examples=[98.0])
    bedrooms: Rooms | None = None
    suites: Rooms | None = Field(default=None, examples=[1])
    bathrooms: Rooms | None = None
    parking: Rooms | None = Field(default=None, examples=[1])
    complement: str | None = Field(default=None, max_length=120, examples=["apto 82"])
    features: Features = Field(default_factory=list)
    photos: Photos = Field(default_factory=list)
    custom_fields: dict[str, Any] = Field(default_factory=dict, examples=[{"aceita_permuta": True}])
    listing_broker_id: uuid.UUID | None = Field(default=None, description="The captador: an active user")
    owner_person_id: uuid.UUID | None = Field(default=None, description="The owner (proprietário): a person")
    tower: str | None = Field(default=None, max_length=60, examples=["Torre A"])
    unit_number: str | None = Field(default=None, max_length=20, examples=["82"])
    floor: int | None = Field(default=None, ge=-10, le=300, examples=[8])


class PropertyCreate(PropertyFields):
    development_id: uuid.UUID | None = Field(
        default=None, description="Makes it a unit; address fields left empty are taken from the development"
    )


class UnitCreate(PropertyFields):
    """A unit of the development in the path; address fields left empty are taken from the development."""


class PropertyUpdate(InputSchema):
    """Only the fields sent change; ``custom_fields`` are merged into the current ones (send null to remove one)."""

    reference: Reference | None = None
    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)
    type: PropertyType | None = None
    purpose: ListingPurpose | None = None
    status: PropertyStatus | None = Field(default=None, examples=["reservado"])
    price_cents: Cents | None = None
    condo_fee_cents: Cents | None = None
    iptu_cents: Cents | None = None
    private_area: Area | None = None
    total_area: Area | None = None
    bedrooms: Rooms | None = None
    suites: Rooms | None = None
    bathrooms: Rooms | None = None
    parking: Rooms | None = None
    cep: Cep | None = None
    street: str | None = Field(default=None, max_length=200)
    number: str | None = Field(default=None, max_length=20)
    complement: str | None = Field(default=None, max_length=120)
    neighbourhood: str | None = Field(default=None, max_length=120)
    city: str | None = Field(default=None, max_length=120)
    uf: Uf | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    features: Features | None = None
    photos: Photos | None = None
    custom_fields: dict[str, Any] | None = None
    listing_broker_id: uuid.UUID | None = None
    owner_person_id: uuid.UUID | None = None
    development_id: uuid.UUID | None = None
    tower: str | None = Field(default=None, max_length=60)
    unit_number: str | None = Field(default=None, max_length=20)
    floor: int | None = Field(default=None, ge=-10, le=300)


class PropertyRead(OutputSchema):
    id: uuid.UUID
    reference: str = Field(examples=["AP-0001"])
    title: str | None
    description: str | None
    type: PropertyType
    purpose: ListingPurpose
    status: PropertyStatus
    price_cents: int | None
    condo_fee_cents: int | None
    iptu_cents: int | None
    private_area: AreaOut | None
    total_area: AreaOut | None
    bedrooms: int | None
    suites: int | None
    bathrooms: int | None
    parking: int | None
    cep: str | None = Field(examples=["05422010"])
    street: str | None
    number: str | None
    complement: str | None
    neighbourhood: str | None
    city: str | None
    uf: str | None
    latitude: float | None
    longitude: float | None
    features: list[str]
    photos: list[str]
    custom_fields: dict[str, Any]
    listing_broker_id: uuid.UUID | None
    owner_person_id: uuid.UUID | None
    development_id: uuid.UUID | None
    tower: str | None
    unit_number: str | None
    floor: int | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class PropertySummary(OutputSchema):
    """What a match list shows of a property."""

    id: uuid.UUID
    reference: str = Field(examples=["AP-0001"])
    title: str | None
    type: PropertyType
    purpose: ListingPurpose
    status: PropertyStatus
    price_cents: int | None
    condo_fee_cents: int | None
    private_area: AreaOut | None
    bedrooms: int | None
    suites: int | None
    parking: int | None
    neighbourhood: str | None
    city: str | None
    uf: str | None
    development_id: uuid.UUID | None
    tower: str | None
    unit_number: str | None


PropertySort = Literal["created_at", "-created_at", "price_cents", "-price_cents"]


class PropertyFilters(BaseModel):
    """Filters of the property list; all combine with AND."""

    type: PropertyType | None = None
    purpose: ListingPurpose | None = None
    status: PropertyStatus | None = None
    city: str | None = Field(default=None, max_length=120, description="Exact, case-insensitive")
    neighbourhood: str | None = Field(default=None, max_length=120, description="Exact, case-insensitive")
    uf: Uf | None = None
    price_min: int | None = Field(default=None, ge=0, description="BRL cents")
    price_max: int | None = Field(default=None, ge=0, description="BRL cents")
    bedrooms_min: int | None = Field(default=None, ge=0)
    suites_min: int | None = Field(default=None, ge=0)
    parking_min: int | None = Field(default=None, ge=0)
    area_min: Decimal | None = Field(default=None, ge=0, description="m², private area (total when unknown)")
    area_max: Decimal | None = Field(default=None, ge=0)
    development_id: uuid.UUID | None = None
    listing_broker_id: uuid.UUID | None = None
    q: str | None = Field(
        default=None, max_length=200, description="Reference, title, street or neighbourhood contains (any case)"
    )


# Developments


class DevelopmentCreate(AddressFields):
    name: str = Field(min_length=1, max_length=200, examples=["Residencial Jardim das Acácias"])
    slug: str | None = Field(
        default=None,
        max_length=120,
        pattern=SLUG_PATTERN,
        description="Generated from the name when omitted; unique in the tenant",
        examples=["residencial-jardim-das-acacias"],
    )
    builder: str | None = Field(default=None, max_length=200, examples=["Construtora Horizonte"])
    phase: DevelopmentPhase = Field(examples=["em_obras"])
    delivery_date: date | None = Field(default=None, examples=["2027-12-01"])
    description: str | None = Field(default=None, max_length=20_000, examples=["2 e 3 dormitórios, lazer completo."])
    towers: Towers = Field(default_factory=list)
    photos: Photos = Field(default_factory=list)
    features: Features = Field(default_factory=list)


class DevelopmentUpdate(InputSchema):
    """Only the fields sent change. Renaming keeps the slug (links keep working); send ``slug`` to change it."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    slug: str | None = Field(default=None, max_length=120, pattern=SLUG_PATTERN)
    builder: str | None = Field(default=None, max_length=200)
    phase: DevelopmentPhase | None = Field(default=None, examples=["pronto"])
    delivery_date: date | None = None
    description: str | None = Field(default=None, max_length=20_000)
    towers: Towers | None = None
    cep: Cep | None = None
    street: str | None = Field(default=None, max_length=200)
    number: str | None = Field(default=None, max_length=20)
    neighbourhood: str | None = Field(default=None, max_length=120)
    city: str | None = Field(default=None, max_length=120)
    uf: Uf | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    photos: Photos | None = None
    features: Features | None = None


class PriceRange(BaseModel):
    min_cents: int = Field(examples=[480_000_00])
    max_cents: int = Field(examples=[720_000_00])


class TowerAvailability(BaseModel):
    total: int = Field(examples=[40])
    available: int = Field(examples=[12])


def _zero_by_status() -> dict[PropertyStatus, int]:
    return dict.fromkeys(PropertyStatus, 0)


class Availability(BaseModel):
    """Units of the development by status and tower, and the price range of the available ones."""

    total: int = Field(default=0, examples=[80])
    by_status: dict[PropertyStatus, int] = Field(
        default_factory=_zero_by_status,
        examples=[{"disponivel": 22, "reservado": 6, "vendido": 52, "alugado": 0, "inativo": 0}],
    )
    by_tower: dict[str, TowerAvailability] = Field(
        default_factory=dict,
        description="Every declared tower, and any other a unit names; units without a tower count only in the totals",
    )
    available_price_range: PriceRange | None = None


class DevelopmentRead(OutputSchema):
    id: uuid.UUID
    name: str = Field(examples=["Residencial Jardim das Acácias"])
    slug: str = Field(examples=["residencial-jardim-das-acacias"])
    builder: str | None
    phase: DevelopmentPhase
    delivery_date: date | None
    description: str | None
    towers: list[str]
    cep: str | None
    street: str | None
    number: str | None
    neighbourhood: str | None
    city: str | None
    uf: str | None
    latitude: float | None
    longitude: float | None
    photos: list[str]
    features: list[str]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    availability: Availability = Field(default_factory=Availability)


# Matching


class MatchReason(BaseModel):
    criterion: Criterion = Field(examples=["price"])
    matched: bool = Field(examples=[True])
    detail: str = Field(examples=["R$ 650.000 dentro da faixa de R$ 500.000 a R$ 700.000"])
    points: int = Field(examples=[6], description="Points earned; half when a price or area is up to 10% outside")
    max_points: int = Field(examples=[6])


class PropertyMatch(BaseModel):
    property: PropertySummary
    score: int = Field(ge=0, le=100, examples=[92])
    reasons: list[MatchReason]


class LeadSummary(OutputSchema):
    id: uuid.UUID
    person_id: uuid.UUID
    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    owner_id: uuid.UUID | None
    status: LeadStatus
    title: str | None


class LeadMatch(BaseModel):
    lead: LeadSummary
    score: int = Field(ge=0, le=100, examples=[85])
    reasons: list[MatchReason]
