from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadflow.kit.br import (
    InvalidValue,
    normalize_cep,
    normalize_cnpj,
    normalize_cpf,
    normalize_email,
    normalize_phone,
    phone_match_key,
)


class TestPhones:
    @pytest.mark.parametrize(
        "typed",
        ["(11) 98765-4321", "11987654321", "+55 11 98765 4321", "5511987654321", "011 98765-4321", "+5511987654321"],
    )
    def test_any_format_becomes_e164(self, typed: str) -> None:
        assert normalize_phone(typed) == "+5511987654321"

    def test_an_old_eight_digit_mobile_gains_its_ninth_digit(self) -> None:
        assert normalize_phone("+55 11 8765-4321") == "+5511987654321"

    def test_a_landline_keeps_eight_digits(self) -> None:
        assert normalize_phone("(11) 3456-7890") == "+551134567890"

    def test_with_and_without_the_ninth_digit_meet_on_the_match_key(self) -> None:
        assert phone_match_key("+5511987654321") == phone_match_key(normalize_phone("1187654321"))

    def test_foreign_numbers_are_kept(self) -> None:
        assert normalize_phone("+1 212 555 0100", "BR").startswith("+1212")

    @pytest.mark.parametrize("typed", ["", "abc", "123", "(00) 9999-9999"])
    def test_garbage_is_refused(self, typed: str) -> None:
        with pytest.raises(InvalidValue):
            normalize_phone(typed)

    @given(st.text(max_size=30))
    def test_never_crashes_on_any_text(self, text: str) -> None:
        with contextlib.suppress(InvalidValue):
            normalize_phone(text)


class TestDocuments:
    def test_a_valid_cpf_is_kept_as_digits(self) -> None:
        assert normalize_cpf("529.982.247-25") == "52998224725"

    def test_a_cpf_with_wrong_check_digits_is_refused(self) -> None:
        with pytest.raises(InvalidValue, match="check digits"):
            normalize_cpf("529.982.247-26")

    def test_repeated_digits_are_not_a_cpf(self) -> None:
        with pytest.raises(InvalidValue):
            normalize_cpf("111.111.111-11")

    def test_a_valid_cnpj(self) -> None:
        assert normalize_cnpj("11.222.333/0001-81") == "11222333000181"

    def test_an_invalid_cnpj(self) -> None:
        with pytest.raises(InvalidValue):
            normalize_cnpj("11.222.333/0001-82")

    def test_cep(self) -> None:
        assert normalize_cep("01310-100") == "01310100"

    def test_email_is_lowercased(self) -> None:
        assert normalize_email(" Maria.Silva@Example.COM ") == "maria.silva@example.com"
