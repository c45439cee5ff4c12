"""The scoring rules and the parsers of outside input, without a database (hypothesis for the parsers)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from leadflow.models import DevelopmentPhase, ListingPurpose, Property, PropertyType
from leadflow.property.matching import SearchProfile, format_area, format_brl, passes_hard_criteria, score
from leadflow.property.schemas import DevelopmentCreate, PropertyCreate
from leadflow.property.service import slugify

BASE = {"reference": "AP-1", "type": "apartamento", "purpose": "venda"}


def _listing(**fields: object) -> Property:
    defaults: dict[str, object] = {
        "id": uuid.uuid4(),
        "reference": "AP-1",
        "type": PropertyType.APARTMENT,
        "purpose": ListingPurpose.SALE,
        "price_cents": 650_000_00,
        "bedrooms": 2,
        "city": "São Paulo",
        "neighbourhood": "Pinheiros",
    }
    return Property(**{**defaults, **fields})


class TestScoring:
    def test_a_profile_that_fits_everything_scores_100(self) -> None:
        profile = SearchProfile(
            purpose=ListingPurpose.SALE,
            types=frozenset({"apartamento"}),
            price_max_cents=700_000_00,
            bedrooms_min=2,
            neighbourhoods=("pinheiros",),
            cities=("sao paulo",),
        )
        result = score(profile, _listing())
        assert result.score == 100
        assert all(r.matched for r in result.reasons)

    def test_a_price_within_the_tolerance_earns_half_the_price_points(self) -> None:
        profile = SearchProfile(price_max_cents=600_000_00)
        result = score(profile, _listing(price_cents=650_000_00))
        assert (result.score, result.reasons[0].points, result.reasons[0].max_points) == (50, 3, 6)

    def test_a_price_below_the_minimum_within_the_tolerance_is_near_too(self) -> None:
        result = score(SearchProfile(price_min_cents=700_000_00), _listing(price_cents=650_000_00))
        assert result.reasons[0].points == 3

    def test_an_unknown_value_does_not_count_as_a_match(self) -> None:
        result = score(SearchProfile(suites_min=1), _listing(suites=None))
        assert (result.score, result.reasons[0].detail) == (0, "suítes não informados")

    def test_an_area_falls_back_to_the_total_area(self) -> None:
        result = score(SearchProfile(area_min=Decimal(90)), _listing(private_area=None, total_area=Decimal(95)))
        assert result.reasons[0].detail == "95 m² dentro de a partir de 90 m²"

    def test_another_purpose_or_city_fails_the_hard_criteria_unless_it_was_asked_about(self) -> None:
        listing = _listing(purpose=ListingPurpose.RENT, city="Campinas")
        assert not passes_hard_criteria(SearchProfile(purpose=ListingPurpose.SALE), listing)
        assert not passes_hard_criteria(SearchProfile(cities=("São Paulo",)), listing)
        assert passes_hard_criteria(SearchProfile(cities=("São Paulo",), property_id=listing.id), listing)

    def test_an_empty_profile_scores_nothing(self) -> None:
        assert SearchProfile().is_empty
        assert score(SearchProfile(), _listing()).score == 0

    @given(
        price=st.one_of(st.none(), st.integers(0, 10**12)),
        low=st.one_of(st.none(), st.integers(0, 10**12)),
        high=st.one_of(st.none(), st.integers(0, 10**12)),
        bedrooms=st.one_of(st.none(), st.integers(0, 20)),
        wanted=st.one_of(st.none(), st.integers(0, 20)),
        area=st.one_of(st.none(), st.decimals(0, 10**6, places=2)),
        neighbourhood=st.one_of(st.none(), st.text(max_size=30)),
        wanted_places=st.lists(st.text(max_size=30), max_size=3),
    )
    def test_any_profile_and_listing_score_between_0_and_100(
        self,
        price: int | None,
        low: int | None,
        high: int | None,
        bedrooms: int | None,
        wanted: int | None,
        area: Decimal | None,
        neighbourhood: str | None,
        wanted_places: list[str],
    ) -> None:
        profile = SearchProfile(
            price_min_cents=low,
            price_max_cents=high,
            bedrooms_min=wanted,
            area_min=Decimal(10),
            neighbourhoods=tuple(wanted_places),
            cities=tuple(wanted_places),
        )
        listing = _listing(price_cents=price, bedrooms=bedrooms, private_area=area, neighbourhood=neighbourhood)
        result = score(profile, listing)
        assert 0 <= result.score <= 100
        assert all(0 <= r.points <= r.max_points and r.detail for r in result.reasons)
        passes_hard_criteria(profile, listing)


class TestFormatting:
    @pytest.mark.parametrize(
        ("cents", "text"),
        [(650_000_00, "R$ 650.000"), (3_500_50, "R$ 3.500,50"), (5, "R$ 0,05"), (1_250_000_00, "R$ 1.250.000")],
    )
    def test_money_is_written_the_brazilian_way(self, cents: int, text: str) -> None:
        assert format_brl(cents) == text

    def test_areas_drop_useless_decimals(self) -> None:
        assert (format_area(Decimal("72.50")), format_area(Decimal("100.00"))) == ("72,5 m²", "100 m²")


class TestParsingOutsideInput:
    @given(st.text(max_size=40))
    def test_any_cep_is_either_eight_digits_or_refused_on_the_cep_field(self, raw: str) -> None:
        cep, failing = _parse("cep", raw)
        assert failing == [("cep",)] if cep is None else (len(cep) == 8 and cep.isdigit())

    @given(st.text(max_size=6))
    def test_any_uf_is_either_a_brazilian_state_or_refused_on_the_uf_field(self, raw: str) -> None:
        uf, failing = _parse("uf", raw)
        assert failing == [("uf",)] if uf is None else uf == raw.strip().upper()

    @given(st.text(max_size=300))
    def test_any_name_makes_a_valid_slug(self, name: str) -> None:
        slug = slugify(name)
        DevelopmentCreate(name="x", phase=DevelopmentPhase.READY, slug=slug)
        assert 0 < len(slug) <= 110

    def test_a_slug_keeps_the_words_of_the_name(self) -> None:
        assert slugify("  Edifício São João — Torre Única! ") == "edificio-sao-joao-torre-unica"


def _parse(field: str, raw: str) -> tuple[str | None, list[tuple[int | str, ...]]]:
    """The parsed value, or None with the locations of the errors."""
    try:
        return getattr(PropertyCreate.model_validate({**BASE, field: raw}), field), []
    except ValidationError as exc:
        return None, [tuple(e["loc"]) for e in exc.errors()]
