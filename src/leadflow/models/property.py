from __future__ import annotations

import unicodedata
import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, validates

from leadflow.kit.orm import Base, SoftDeletable, TenantScoped, enum_column


def place_key(name: str | None) -> str | None:
    """The form place names are compared in: case- and accent-free ("São Paulo" and "sao paulo" meet).

    Stored beside ``city``/``neighbourhood`` because SQLite's lower() ignores non-ASCII letters and neither database
    strips accents portably; the key columns are what filters and matching compare, through an index.
    """
    if name is None:
        return None
    decomposed = unicodedata.normalize("NFKD", " ".join(name.split()).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)) or None


class PropertyType(StrEnum):
    APARTMENT = "apartamento"
    HOUSE = "casa"
    CONDO_HOUSE = "casa_condominio"
    PENTHOUSE = "cobertura"
    STUDIO = "studio"
    LAND = "terreno"
    OFFICE = "sala_comercial"
    SHOP = "loja"
    WAREHOUSE = "galpao"
    FARM = "chacara"


class ListingPurpose(StrEnum):
    SALE = "venda"
    RENT = "locacao"


class PropertyStatus(StrEnum):
    AVAILABLE = "disponivel"
    RESERVED = "reservado"
    SOLD = "vendido"
    RENTED = "alugado"
    INACTIVE = "inativo"


class DevelopmentPhase(StrEnum):
    LAUNCH = "lancamento"
    UNDER_CONSTRUCTION = "em_obras"
    READY = "pronto"


class Development(Base, TenantScoped, SoftDeletable):
    """An empreendimento: a building or condominium with towers and units."""

    __tablename__ = "developments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "slug"),
        Index("ix_developments_city", "tenant_id", "city_key"),
        Index("ix_developments_created", "tenant_id", "created_at"),
    )
    __audited__ = True
    __audit_exclude__ = frozenset({"city_key"})

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(120))
    builder: Mapped[str | None] = mapped_column(String(200))  # construtora / incorporadora
    phase: Mapped[DevelopmentPhase] = mapped_column(enum_column(DevelopmentPhase, "development_phase"))
    delivery_date: Mapped[date | None]
    description: Mapped[str | None] = mapped_column(Text)
    towers: Mapped[list[str]] = mapped_column(default=list)
    cep: Mapped[str | None] = mapped_column(String(8))
    street: Mapped[str | None] = mapped_column(String(200))
    number: Mapped[str | None] = mapped_column(String(20))
    neighbourhood: Mapped[str | None] = mapped_column(String(120))
    city: Mapped[str | None] = mapped_column(String(120))
    uf: Mapped[str | None] = mapped_column(String(2))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    photos: Mapped[list[str]] = mapped_column(default=list)
    features: Mapped[list[str]] = mapped_column(default=list)
    city_key: Mapped[str | None] = mapped_column(String(120))  # place_key(city), kept by the validator below

    @validates("city")
    def _keep_city_key(self, _: str, value: str | None) -> str | None:
        self.city_key = place_key(value)
        return value


class Property(Base, TenantScoped, SoftDeletable):
    """An imóvel: a listing on its own, or a unit of a development."""

    __tablename__ = "properties"
    __table_args__ = (
        UniqueConstraint("tenant_id", "reference"),
        Index("ix_properties_search", "tenant_id", "status", "purpose", "type", "price_cents"),
        Index("ix_properties_place", "tenant_id", "city_key", "neighbourhood_key"),
        Index("ix_properties_development", "tenant_id", "development_id"),
        Index("ix_properties_created", "tenant_id", "created_at"),
    )
    __audited__ = True
    __audit_exclude__ = frozenset({"city_key", "neighbourhood_key"})

    reference: Mapped[str] = mapped_column(String(40))  # código de referência, e.g. AP-0001
    title: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    type: Mapped[PropertyType] = mapped_column(enum_column(PropertyType, "property_type"))
    purpose: Mapped[ListingPurpose] = mapped_column(enum_column(ListingPurpose, "listing_purpose"))
    status: Mapped[PropertyStatus] = mapped_column(
        enum_column(PropertyStatus, "property_status"), default=PropertyStatus.AVAILABLE
    )
    price_cents: Mapped[int | None] = mapped_column(BigInteger)
    condo_fee_cents: Mapped[int | None] = mapped_column(BigInteger)
    iptu_cents: Mapped[int | None] = mapped_column(BigInteger)
    private_area: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    total_area: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    bedrooms: Mapped[int | None]
    suites: Mapped[int | None]
    bathrooms: Mapped[int | None]
    parking: Mapped[int | None]
    cep: Mapped[str | None] = mapped_column(String(8))
    street: Mapped[str | None] = mapped_column(String(200))
    number: Mapped[str | None] = mapped_column(String(20))
    complement: Mapped[str | None] = mapped_column(String(120))
    neighbourhood: Mapped[str | None] = mapped_column(String(120))
    city: Mapped[str | None] = mapped_column(String(120))
    uf: Mapped[str | None] = mapped_column(String(2))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    features: Mapped[list[str]] = mapped_column(default=list)
    photos: Mapped[list[str]] = mapped_column(default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    listing_broker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    owner_person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    development_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("developments.id", ondelete="SET NULL"))
    tower: Mapped[str | None] = mapped_column(String(60))
    unit_number: Mapped[str | None] = mapped_column(String(20))
    floor: Mapped[int | None]
    city_key: Mapped[str | None] = mapped_column(String(120))  # place_key(city), kept by the validators below
    neighbourhood_key: Mapped[str | None] = mapped_column(String(120))

    @validates("city")
    def _keep_city_key(self, _: str, value: str | None) -> str | None:
        self.city_key = place_key(value)
        return value

    @validates("neighbourhood")
    def _keep_neighbourhood_key(self, _: str, value: str | None) -> str | None:
        self.neighbourhood_key = place_key(value)
        return value
