"""Scoring a property against what a lead is looking for, with the reasons a broker can read.

Pure functions over a :class:`SearchProfile` and a :class:`Property`: no session, no query. The service filters the
hard criteria in SQL (status, purpose, city) and calls :func:`score` for the rest.

Each criterion the lead expressed is worth a number of points; the score is the share of points earned, 0-100.
A price or area up to 10% outside the wanted range earns half the points.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from leadflow.models import Development, Lead, LeadInterest, ListingPurpose, Property, Purpose
from leadflow.models.property import place_key

TOLERANCE = Decimal("0.10")

PURPOSE_OF_INTEREST = {Purpose.BUY: ListingPurpose.SALE, Purpose.RENT: ListingPurpose.RENT}


class Criterion(StrEnum):
    PURPOSE = "purpose"
    TYPE = "type"
    PRICE = "price"
    BEDROOMS = "bedrooms"
    SUITES = "suites"
    PARKING = "parking"
    AREA = "area"
    NEIGHBOURHOOD = "neighbourhood"
    CITY = "city"
    DEVELOPMENT = "development"
    PROPERTY = "property"


WEIGHTS: dict[Criterion, int] = {
    Criterion.PURPOSE: 4,
    Criterion.TYPE: 4,
    Criterion.PRICE: 6,
    Criterion.BEDROOMS: 4,
    Criterion.SUITES: 2,
    Criterion.PARKING: 2,
    Criterion.AREA: 2,
    Criterion.NEIGHBOURHOOD: 4,
    Criterion.CITY: 2,
    Criterion.DEVELOPMENT: 6,
    Criterion.PROPERTY: 6,
}


@dataclass(frozen=True, slots=True)
class Reason:
    criterion: Criterion
    matched: bool
    detail: str
    points: int
    max_points: int


@dataclass(frozen=True, slots=True)
class Scored:
    score: int
    reasons: list[Reason]


@dataclass(frozen=True, slots=True)
class SearchProfile:
    """What a lead is looking for (perfil de busca): its interest row plus the property/development it asked about."""

    purpose: ListingPurpose | None = None
    types: frozenset[str] = frozenset()
    price_min_cents: int | None = None
    price_max_cents: int | None = None
    bedrooms_min: int | None = None
    suites_min: int | None = None
    parking_min: int | None = None
    area_min: Decimal | None = None
    area_max: Decimal | None = None
    neighbourhoods: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    development_id: uuid.UUID | None = None
    property_id: uuid.UUID | None = None
    property_reference: str | None = None

    @property
    def is_empty(self) -> bool:
        return self == SearchProfile()


def build_profile(
    lead: Lead,
    interest: LeadInterest | None,
    *,
    asked_property: Property | None = None,
    asked_development: Development | None = None,
) -> SearchProfile:
    """The lead's search profile. Purpose, type, city and neighbourhood the interest leaves empty are taken from
    the property (or development) the lead asked about, so a portal lead with only a listing still finds similar
    ones."""
    place = asked_property or asked_development
    development_id = lead.development_id or (asked_property.development_id if asked_property else None)
    purpose = PURPOSE_OF_INTEREST.get(interest.purpose) if interest and interest.purpose else None
    return SearchProfile(
        purpose=purpose or (asked_property.purpose if asked_property else None),
        types=frozenset(interest.property_types if interest else ()) or _types_of(asked_property),
        price_min_cents=interest.price_min_cents if interest else None,
        price_max_cents=interest.price_max_cents if interest else None,
        bedrooms_min=interest.bedrooms_min if interest else None,
        suites_min=interest.suites_min if interest else None,
        parking_min=interest.parking_min if interest else None,
        area_min=interest.area_min if interest else None,
        area_max=interest.area_max if interest else None,
        neighbourhoods=tuple(interest.neighbourhoods if interest else ()) or _present(place, "neighbourhood"),
        cities=tuple(interest.cities if interest else ()) or _present(place, "city"),
        development_id=development_id,
        property_id=lead.property_id,
        property_reference=asked_property.reference if asked_property else None,
    )


def _types_of(prop: Property | None) -> frozenset[str]:
    return frozenset({prop.type.value}) if prop else frozenset()


def _present(place: Property | Development | None, field: str) -> tuple[str, ...]:
    value: str | None = getattr(place, field) if place is not None else None
    return (value,) if value else ()


def _keys(places: tuple[str, ...]) -> set[str]:
    return {key for place in places if (key := place_key(place))}


def is_tied(profile: SearchProfile, prop: Property) -> bool:
    """The property is the one the lead asked about, or a unit of the development they asked about."""
    same_property = profile.property_id is not None and prop.id == profile.property_id
    same_development = profile.development_id is not None and prop.development_id == profile.development_id
    return same_property or same_development


def passes_hard_criteria(profile: SearchProfile, prop: Property) -> bool:
    """Purpose and city exclude; everything else only scores. A property the lead asked about is never excluded."""
    if is_tied(profile, prop):
        return True
    if profile.purpose is not None and prop.purpose != profile.purpose:
        return False
    return not profile.cities or place_key(prop.city) in _keys(profile.cities)


def score(profile: SearchProfile, prop: Property) -> Scored:
    """Score ``prop`` 0-100 against ``profile``, with one reason per criterion the lead expressed."""
    reasons = [reason for check in CHECKS if (reason := check(profile, prop)) is not None]
    possible = sum(r.max_points for r in reasons)
    earned = sum(r.points for r in reasons)
    return Scored(score=round(100 * earned / possible) if possible else 0, reasons=reasons)


def _reason(criterion: Criterion, matched: bool, detail: str, *, partial: bool = False) -> Reason:
    weight = WEIGHTS[criterion]
    points = weight if matched else (weight // 2 if partial else 0)
    return Reason(criterion=criterion, matched=matched, detail=detail, points=points, max_points=weight)


def _purpose(profile: SearchProfile, prop: Property) -> Reason | None:
    if profile.purpose is None:
        return None
    wanted = PURPOSE_LABELS[profile.purpose]
    if prop.purpose == profile.purpose:
        return _reason(Criterion.PURPOSE, True, f"{wanted}, como procurado")
    return _reason(Criterion.PURPOSE, False, f"{PURPOSE_LABELS[prop.purpose]}; procura {wanted}")


def _type(profile: SearchProfile, prop: Property) -> Reason | None:
    if not profile.types:
        return None
    label = prop.type.value.replace("_", " ")
    if prop.type.value in profile.types:
        return _reason(Criterion.TYPE, True, f"{label}, tipo procurado")
    wanted = ", ".join(sorted(t.replace("_", " ") for t in profile.types))
    return _reason(Criterion.TYPE, False, f"{label}; procura {wanted}")


def _price(profile: SearchProfile, prop: Property) -> Reason | None:
    low, high = profile.price_min_cents, profile.price_max_cents
    if low is None and high is None:
        return None
    if prop.price_cents is None:
        return _reason(Criterion.PRICE, False, "preço não informado")
    price = format_brl(prop.price_cents)
    verdict = _within(Decimal(prop.price_cents), _dec(low), _dec(high))
    if verdict == "inside":
        return _reason(Criterion.PRICE, True, f"{price} dentro da faixa {_brl_range(low, high)}")
    if verdict == "near":
        return _reason(Criterion.PRICE, False, f"{price} até 10% fora da faixa {_brl_range(low, high)}", partial=True)
    return _reason(Criterion.PRICE, False, f"{price} fora da faixa {_brl_range(low, high)}")


def _area(profile: SearchProfile, prop: Property) -> Reason | None:
    if profile.area_min is None and profile.area_max is None:
        return None
    area = prop.private_area if prop.private_area is not None else prop.total_area
    if area is None:
        return _reason(Criterion.AREA, False, "área não informada")
    wanted = _area_range(profile.area_min, profile.area_max)
    verdict = _within(Decimal(area), profile.area_min, profile.area_max)
    if verdict == "inside":
        return _reason(Criterion.AREA, True, f"{format_area(area)} dentro de {wanted}")
    if verdict == "near":
        return _reason(Criterion.AREA, False, f"{format_area(area)} até 10% fora de {wanted}", partial=True)
    return _reason(Criterion.AREA, False, f"{format_area(area)} fora de {wanted}")


def _within(value: Decimal, low: Decimal | None, high: Decimal | None) -> str:
    """'inside' the range, 'near' it (up to 10% outside) or 'outside'."""
    if (low is None or value >= low) and (high is None or value <= high):
        return "inside"
    near_low = low is None or value >= low * (1 - TOLERANCE)
    near_high = high is None or value <= high * (1 + TOLERANCE)
    return "near" if near_low and near_high else "outside"


def _dec(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents)


def _minimum(criterion: Criterion, singular: str, plural: str) -> Callable[[SearchProfile, Property], Reason | None]:
    def check(profile: SearchProfile, prop: Property) -> Reason | None:
        wanted: int | None = getattr(profile, f"{criterion.value}_min")
        if wanted is None:
            return None
        has: int | None = getattr(prop, criterion.value)
        if has is None:
            return _reason(criterion, False, f"{plural} não informados")
        count = f"{has} {singular if has == 1 else plural}"
        if has >= wanted:
            return _reason(criterion, True, f"{count} (mínimo {wanted})")
        return _reason(criterion, False, f"{count}; procura ao menos {wanted}")

    return check


def _neighbourhood(profile: SearchProfile, prop: Property) -> Reason | None:
    if not profile.neighbourhoods:
        return None
    if place_key(prop.neighbourhood) in _keys(profile.neighbourhoods):
        return _reason(Criterion.NEIGHBOURHOOD, True, f"{prop.neighbourhood}, bairro procurado")
    where = prop.neighbourhood or "bairro não informado"
    return _reason(Criterion.NEIGHBOURHOOD, False, f"{where}; procura {', '.join(profile.neighbourhoods)}")


def _city(profile: SearchProfile, prop: Property) -> Reason | None:
    if not profile.cities:
        return None
    if place_key(prop.city) in _keys(profile.cities):
        return _reason(Criterion.CITY, True, f"{prop.city}, cidade procurada")
    where = prop.city or "cidade não informada"
    return _reason(Criterion.CITY, False, f"{where}; procura {', '.join(profile.cities)}")


def _development(profile: SearchProfile, prop: Property) -> Reason | None:
    if profile.development_id is None:
        return None
    if prop.development_id == profile.development_id:
        return _reason(Criterion.DEVELOPMENT, True, "unidade do empreendimento de interesse")
    return _reason(Criterion.DEVELOPMENT, False, "fora do empreendimento de interesse")


def _asked_property(profile: SearchProfile, prop: Property) -> Reason | None:
    if profile.property_id is None:
        return None
    if prop.id == profile.property_id:
        return _reason(Criterion.PROPERTY, True, "é o imóvel de interesse do lead")
    asked = f" ({profile.property_reference})" if profile.property_reference else ""
    return _reason(Criterion.PROPERTY, False, f"outro imóvel que não o de interesse{asked}")


CHECKS: tuple[Callable[[SearchProfile, Property], Reason | None], ...] = (
    _asked_property,
    _development,
    _purpose,
    _type,
    _price,
    _minimum(Criterion.BEDROOMS, "quarto", "quartos"),
    _minimum(Criterion.SUITES, "suíte", "suítes"),
    _minimum(Criterion.PARKING, "vaga", "vagas"),
    _area,
    _neighbourhood,
    _city,
)

PURPOSE_LABELS = {ListingPurpose.SALE: "venda", ListingPurpose.RENT: "locação"}


def format_brl(cents: int) -> str:
    """R$ 650.000 or R$ 3.500,50: Brazilian thousands and decimal separators, cents only when there are some."""
    reais, rest = divmod(abs(cents), 100)
    text = f"{reais:,}".replace(",", ".")
    sign = "-" if cents < 0 else ""
    return f"{sign}R$ {text}" + (f",{rest:02d}" if rest else "")


def format_area(area: Decimal) -> str:
    text = f"{area.normalize():f}".replace(".", ",")
    return f"{text} m²"


def _brl_range(low: int | None, high: int | None) -> str:
    return _range(low, high, format_brl)


def _area_range(low: Decimal | None, high: Decimal | None) -> str:
    return _range(low, high, format_area)


def _range(low: object, high: object, fmt: Callable[..., str]) -> str:
    if low is not None and high is not None:
        return f"de {fmt(low)} a {fmt(high)}"
    if low is not None:
        return f"a partir de {fmt(low)}"
    return f"até {fmt(high)}"
