"""Which form a page posts: the most specific active one, and never a form that names another listing."""

from __future__ import annotations

import uuid

from leadflow.models import LeadForm
from leadflow.site.service import choose_form

PROPERTY, DEVELOPMENT, ELSEWHERE = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def form(key: str, *, property_id: uuid.UUID | None = None, development_id: uuid.UUID | None = None) -> LeadForm:
    return LeadForm(key=key, name=key, property_id=property_id, development_id=development_id, is_active=True)


def chosen(forms: list[LeadForm], *, property_id: uuid.UUID | None = PROPERTY) -> str | None:
    found = choose_form(forms, property_id=property_id, development_id=DEVELOPMENT, general_key="contato")
    return found.key if found else None


class TestChooseForm:
    def test_the_propertys_own_form_comes_first(self) -> None:
        forms = [form("contato"), form("jardins", development_id=DEVELOPMENT), form("ap", property_id=PROPERTY)]
        assert chosen(forms) == "ap"

    def test_then_the_developments_form(self) -> None:
        assert chosen([form("contato"), form("jardins", development_id=DEVELOPMENT)]) == "jardins"

    def test_then_the_sites_general_form_by_its_key(self) -> None:
        assert chosen([form("newsletter"), form("contato")]) == "contato"

    def test_then_the_oldest_form_tied_to_no_listing(self) -> None:
        assert chosen([form("newsletter"), form("outro")]) == "newsletter"

    def test_a_form_tied_to_another_listing_is_never_used(self) -> None:
        forms = [form("outro-imovel", property_id=ELSEWHERE), form("outro-predio", development_id=ELSEWHERE)]
        assert chosen(forms) is None

    def test_a_development_page_does_not_take_a_units_form(self) -> None:
        unit_form = form("unidade", property_id=PROPERTY, development_id=DEVELOPMENT)
        assert chosen([unit_form, form("contato")], property_id=None) == "contato"

    def test_an_inactive_form_is_skipped(self) -> None:
        inactive = form("ap", property_id=PROPERTY)
        inactive.is_active = False
        assert chosen([inactive, form("contato")]) == "contato"
