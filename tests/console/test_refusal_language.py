"""The services refuse in English sentences (the API's problem+json); the console shows each refusal in the
reader's language. Every sentence a service can say through `wording()`, and every error title, has its pt-BR
translation, with no placeholder the English sentence does not fill."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import leadflow
from leadflow.console.web import explain, said
from leadflow.kit.errors import Conflict, NotFound, ValidationFailed, Wording, wording
from leadflow.kit.i18n import translations

SOURCE = Path(leadflow.__file__).parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _templates() -> set[str]:
    """The first argument of every ``wording("…")`` call in the source."""
    found = set()
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "wording":
                first = node.args[0] if node.args else None
                assert isinstance(first, ast.Constant), f"{path}:{node.lineno}: wording() takes a literal template"
                found.add(first.value)
    return found


def _titles() -> set[str]:
    """The title of every error class (what the console falls back to when a sentence names an id)."""
    found = set()
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                for statement in node.body:
                    if (
                        isinstance(statement, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id == "title" for t in statement.targets)
                        and isinstance(statement.value, ast.Constant)
                    ):
                        found.add(statement.value.value)
    return found


def _filled(sentence: str) -> Wording:
    return Wording(sentence, dict.fromkeys(PLACEHOLDER.findall(sentence), "x"))


class TestCatalog:
    def test_finds_the_services_sentences(self) -> None:
        assert "pipeline %(pipeline)s does not allow moving from %(source)s to %(target)s" in _templates()
        assert "Lead not found" in _titles()

    @pytest.mark.parametrize("sentence", sorted(_templates() | _titles()))
    def test_every_sentence_and_title_has_a_pt_br_translation(self, sentence: str) -> None:
        filled = _filled(sentence)
        assert said("pt-BR", filled) != str(filled)

    def test_translations_only_use_the_values_the_english_sentence_names(self) -> None:
        catalog = translations("pt-BR", "errors")
        for sentence in _templates():
            translated = catalog.gettext(sentence)
            assert set(PLACEHOLDER.findall(translated)) <= set(PLACEHOLDER.findall(sentence)), sentence


class TestExplain:
    def test_a_refusal_is_said_in_pt_br_with_its_values(self) -> None:
        refusal = ValidationFailed(
            wording(
                "pipeline %(pipeline)s does not allow moving from %(source)s to %(target)s",
                pipeline="Venda",
                source="Novo",
                target="Ganho",
            )
        )
        assert refusal.detail == "pipeline Venda does not allow moving from Novo to Ganho"  # the API's sentence
        assert explain("pt-BR", refusal) == "O funil Venda não permite mover de Novo para Ganho."
        assert explain("en", refusal) == refusal.detail

    def test_a_sentence_naming_an_id_falls_back_to_the_translated_title(self) -> None:
        class LeadNotFound(NotFound):
            title = "Lead not found"

        assert explain("pt-BR", LeadNotFound("lead 0190 not found")) == "Lead não encontrado"

    def test_an_untranslated_sentence_without_a_translated_title_stays_in_english(self) -> None:
        class Odd(Conflict):
            title = "An odd conflict nobody translated"

        assert explain("pt-BR", Odd("something odd")) == "something odd"

    def test_the_settings_forms_earlier_translations_still_apply(self) -> None:
        refusal = ValidationFailed("only an owner can grant or change the owner role")
        assert explain("pt-BR", refusal) == "Só um(a) dono(a) pode conceder ou mudar o papel de dono(a)."
