"""Parsing what people type into identities, without a database; hypothesis for the parsers of outside input."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadflow.kit.br import InvalidValue
from leadflow.models import IdentityKind
from leadflow.person.identities import (
    IdentityValue,
    MatchKeys,
    document_identity,
    email_identity,
    parse_identities,
    phone_identity,
    phone_query,
    whatsapp_identity,
)

PHONE_ALPHABET = st.sampled_from("0123456789 ()+-.")
PARSERS = [email_identity, phone_identity, whatsapp_identity, document_identity]


def _outcome(parser: Callable[[str], IdentityValue], raw: str) -> IdentityValue | str:
    try:
        return parser(raw)
    except InvalidValue as exc:
        return str(exc)


class TestWhatsappIds:
    def test_a_brazilian_wa_id_becomes_e164_and_meets_the_phone(self) -> None:
        wa = whatsapp_identity("5511987654321")
        assert (wa.value, wa.match_key) == ("+5511987654321", phone_identity("(11) 8765-4321").match_key)

    def test_a_foreign_wa_id_without_plus_is_read_as_international(self) -> None:
        assert whatsapp_identity("14155552671").value == "+14155552671"

    def test_an_opaque_meta_user_id_is_kept_as_it_is(self) -> None:
        wa = whatsapp_identity(" BR.1a2b3c4d ")
        assert (wa.kind, wa.value, wa.match_key) == (IdentityKind.WHATSAPP, "BR.1a2b3c4d", "BR.1a2b3c4d")

    @pytest.mark.parametrize("raw", ["", "12", "fale comigo", "9999"])
    def test_neither_a_number_nor_an_id_is_invalid(self, raw: str) -> None:
        with pytest.raises(InvalidValue):
            whatsapp_identity(raw)


class TestDocuments:
    def test_a_cpf_and_a_cnpj_are_told_apart(self) -> None:
        assert document_identity("529.982.247-25").kind is IdentityKind.CPF
        assert document_identity("11.222.333/0001-81").kind is IdentityKind.CNPJ


class TestParsingLists:
    def test_errors_name_the_list_and_the_index(self) -> None:
        parsed = parse_identities(emails=["ok@exemplo.com.br", "nope"], phones=["1"], whatsapp_ids=None)
        assert [e["field"] for e in parsed.errors] == ["emails.1", "phones.0"]
        assert parsed.whatsapp_ids is None
        assert [e.value for e in parsed.emails or []] == ["ok@exemplo.com.br"]

    def test_the_same_identity_twice_is_kept_once(self) -> None:
        parsed = parse_identities(emails=["A@x.com.br", "a@X.com.br"], phones=[], whatsapp_ids=[])
        assert [e.value for e in parsed.emails or []] == ["a@x.com.br"]


class TestPhoneQueries:
    def test_a_partial_number_is_searched_by_its_digits(self) -> None:
        assert phone_query("98765-4321") == phone_query("987654321")
        query = phone_query("987654321")
        assert query is not None
        assert query.digits == "987654321"

    def test_a_whole_number_also_gives_its_match_key(self) -> None:
        query = phone_query("(11) 98765-4321")
        assert query is not None
        assert query.match_key == "+551187654321"

    @pytest.mark.parametrize("text", ["Maria", "Apto 12", "123", "maria@gmail.com"])
    def test_text_that_is_not_a_phone_is_not_searched_as_one(self, text: str) -> None:
        assert phone_query(text) is None


class TestMatchKeys:
    def test_phones_and_whatsapp_numbers_share_a_group(self) -> None:
        keys = MatchKeys().add([phone_identity("11987654321"), whatsapp_identity("5511987654321")])
        assert keys.phones == {"+551187654321"}
        assert not MatchKeys()


class TestParsersNeverCrash:
    @given(raw=st.text(max_size=200))
    def test_any_text_is_an_identity_or_an_invalid_value(self, raw: str) -> None:
        for parser in PARSERS:
            outcome = _outcome(parser, raw)
            if isinstance(outcome, str):
                assert outcome, "an invalid value says why"
            else:
                assert outcome.match_key
                assert "\x00" not in outcome.value

    @given(raw=st.text(PHONE_ALPHABET, max_size=30))
    def test_phone_like_text_is_a_phone_or_an_invalid_value(self, raw: str) -> None:
        for parser in (phone_identity, whatsapp_identity):
            try:
                identity = parser(raw)
            except InvalidValue:
                continue
            assert identity.value.startswith("+")
            assert identity.value[1:].isdigit()

    @given(text=st.text(max_size=60))
    def test_any_search_text_reads_as_a_phone_or_not(self, text: str) -> None:
        query = phone_query(text)
        assert query is None or query.digits.isdigit()
