"""Locale negotiation and gettext catalogs: pt-BR first, English as the message ids."""

import pytest

from leadflow.kit.i18n import negotiate, translate, translate_plural


@pytest.mark.parametrize(
    ("header", "preferred", "expected"),
    [
        (None, None, "pt-BR"),
        ("", None, "pt-BR"),
        ("en-US,en;q=0.9", None, "en"),
        ("pt-PT;q=0.8, en;q=0.9", None, "en"),
        ("fr-FR, pt;q=0.5", None, "pt-BR"),
        ("de, fr", None, "pt-BR"),
        ("en;q=0, pt-BR;q=0.1", None, "pt-BR"),
        ("en;q=bogus, pt-br", None, "pt-BR"),
        ("en", "pt-BR", "pt-BR"),
        ("pt-BR", "en", "en"),
        ("en", "klingon", "en"),
    ],
)
def test_the_locale_follows_the_preference_then_the_browser_then_pt_br(
    header: str | None, preferred: str | None, expected: str
) -> None:
    assert negotiate(header, preferred) == expected


def test_a_message_is_translated_to_brazilian_portuguese_and_stays_english_in_english() -> None:
    message = "Something went wrong on our side. Please try again in a moment."
    assert translate("pt-BR", "kit", message) == "Algo deu errado do nosso lado. Tente novamente em instantes."
    assert translate("en", "kit", message) == message


def test_an_unknown_message_or_domain_falls_back_to_the_english_id() -> None:
    assert translate("pt-BR", "kit", "Not in any catalog") == "Not in any catalog"
    assert translate("pt-BR", "no-such-domain", "Hello %(name)s", name="Ana") == "Hello Ana"


def test_plurals_follow_portuguese_rules() -> None:
    assert translate_plural("pt-BR", "kit", "%(count)s new message", "%(count)s new messages", 1) == ("1 mensagem nova")
    assert translate_plural("pt-BR", "kit", "%(count)s new message", "%(count)s new messages", 0) == ("0 mensagem nova")
    assert translate_plural("pt-BR", "kit", "%(count)s new message", "%(count)s new messages", 3) == (
        "3 mensagens novas"
    )
    assert translate_plural("en", "kit", "%(count)s new message", "%(count)s new messages", 3) == "3 new messages"
