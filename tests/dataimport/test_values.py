"""Spreadsheet cells read as BRL amounts, numbers, dates, lists and choices; ambiguity is an error, not a guess."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.dataimport.exports import money
from leadflow.dataimport.mapping import FieldSpec, default_mapping, header_key, resolve_mapping, synonym_table
from leadflow.dataimport.values import (
    BadValue,
    choice_key,
    parse_area,
    parse_brl_cents,
    parse_count,
    parse_date,
    parse_list,
)
from leadflow.kit.errors import ValidationFailed


class TestMoney:
    @pytest.mark.parametrize(
        ("text", "cents"),
        [
            ("R$ 1.234,56", 123456),
            ("R$ 1.234.567,89", 123456789),
            ("r$1.234,5", 123450),
            ("1234,56", 123456),
            ("650.000", 65000000),
            ("650.000,00", 65000000),
            ("1234567.89", 123456789),
            ("1,234,567.89", 123456789),
            ("12", 1200),
            (",5", 50),
            ("R$\u00a01.000", 100000),
        ],
    )
    def test_brazilian_and_plain_amounts_become_cents(self, text: str, cents: int) -> None:
        assert parse_brl_cents(text) == cents

    @pytest.mark.parametrize("text", ["1,234", "1.2.3", "12,345", "1234.567", "-5", "R$ -5", "abc", "", "1,2,3", "٣"])
    def test_ambiguous_or_invalid_amounts_are_refused(self, text: str) -> None:
        with pytest.raises(BadValue):
            parse_brl_cents(text)

    def test_more_than_two_decimal_places_are_refused(self) -> None:
        with pytest.raises(BadValue, match="decimal places"):
            parse_brl_cents("1.234,567")

    @settings(max_examples=300)
    @given(st.integers(min_value=0, max_value=10**13))
    def test_what_the_export_writes_the_import_reads_back(self, cents: int) -> None:
        assert parse_brl_cents(money(cents)) == cents

    @settings(max_examples=300)
    @given(st.text(max_size=30))
    def test_any_text_is_cents_or_a_bad_value(self, text: str) -> None:
        try:
            cents = parse_brl_cents(text)
        except BadValue as exc:
            reason = str(exc)
            assert reason
        else:
            assert cents >= 0


class TestOtherCells:
    def test_areas_accept_units_and_decimal_commas(self) -> None:
        assert parse_area("72,5 m²") == Decimal("72.5")
        assert parse_area("1.200,00m2") == Decimal("1200.00")

    def test_counts_are_whole_numbers(self) -> None:
        assert parse_count(" 3 ") == 3
        with pytest.raises(BadValue):
            parse_count("3,5")

    @pytest.mark.parametrize(("text", "day"), [("14/03/1985", date(1985, 3, 14)), ("1985-03-14", date(1985, 3, 14))])
    def test_dates_are_day_first_or_iso(self, text: str, day: date) -> None:
        assert parse_date(text) == day

    def test_impossible_dates_are_refused(self) -> None:
        with pytest.raises(BadValue):
            parse_date("31/02/2020")

    def test_lists_split_on_commas_pipes_and_semicolons(self) -> None:
        assert parse_list("investidor, zona sul | vip;;investidor") == ["investidor", "zona sul", "vip"]

    def test_choices_compare_without_case_accents_or_spacing(self) -> None:
        assert choice_key("Sala  Comercial") == "sala_comercial"
        assert choice_key("Locação") == "locacao"


FIELDS = {"name": FieldSpec("Nome"), "phone": FieldSpec("Telefone", many=True), "email": FieldSpec("E-mail")}
SYNONYMS = synonym_table({"name": ["nome"], "phone": ["telefone", "celular"], "email": ["e-mail"]})


class TestMapping:
    def test_header_names_are_compared_loosely(self) -> None:
        assert header_key("E-mail") == header_key("email") == "email"

    def test_the_default_maps_known_headers_and_numbered_variants(self) -> None:
        columns = ["Nome", "Celular", "Telefone 2", "E-mail", "Data de cadastro"]
        assert default_mapping(columns, SYNONYMS, FIELDS) == {
            "Nome": "name",
            "Celular": "phone",
            "Telefone 2": "phone",
            "E-mail": "email",
        }

    def test_the_request_overrides_and_removes_columns(self) -> None:
        applied = resolve_mapping(
            ["Cliente", "Nome", "E-mail"], {"Cliente": "name", "Nome": None}, synonyms=SYNONYMS, fields=FIELDS
        )
        assert applied == {"Cliente": "name", "E-mail": "email"}

    def test_unknown_target_fields_are_a_422_naming_them(self) -> None:
        with pytest.raises(ValidationFailed) as caught:
            resolve_mapping(["Nome"], {"Nome": "apelido"}, synonyms=SYNONYMS, fields=FIELDS)
        assert caught.value.errors is not None
        assert caught.value.errors[0]["field"] == "mapping.Nome"
        assert "apelido" in caught.value.errors[0]["message"]

    def test_a_column_the_file_lacks_is_a_422(self) -> None:
        with pytest.raises(ValidationFailed, match="no column"):
            resolve_mapping(["Nome"], {"Apelido": "name"}, synonyms=SYNONYMS, fields=FIELDS)

    def test_a_single_field_fed_by_two_columns_is_a_422(self) -> None:
        with pytest.raises(ValidationFailed, match="already fed"):
            resolve_mapping(["Nome", "Cliente"], {"Cliente": "name"}, synonyms=SYNONYMS, fields=FIELDS)

    def test_a_header_naming_nothing_known_says_a_header_is_required(self) -> None:
        with pytest.raises(ValidationFailed, match="header"):
            resolve_mapping(["Maria Silva", "11999999999"], None, synonyms=SYNONYMS, fields=FIELDS)
