"""Property: creating a person with any phone, e-mail, WhatsApp id or CPF/CNPJ strings never answers 500."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
phone_like = st.text(st.sampled_from("0123456789 ()+-.9"), max_size=25)
any_text = st.text(max_size=80)
identities = st.lists(st.one_of(phone_like, any_text, st.emails()), max_size=4)


class TestCreatingPeopleNeverFails:
    @FUZZ
    @given(
        phones=identities,
        emails=identities,
        whatsapp_ids=identities,
        cpf_cnpj=st.one_of(st.none(), any_text, phone_like),
    )
    async def test_any_identity_strings_get_created_or_a_named_422(
        self,
        as_broker: httpx.AsyncClient,
        phones: list[str],
        emails: list[str],
        whatsapp_ids: list[str],
        cpf_cnpj: str | None,
    ) -> None:
        body = {"name": "Cliente", "phones": phones, "emails": emails, "whatsapp_ids": whatsapp_ids}
        response = await as_broker.post("/v1/people", json={**body, "cpf_cnpj": cpf_cnpj})
        assert response.status_code in {201, 422}, response.text
        if response.status_code == 422:
            fields = [e["field"] for e in response.json()["errors"]]
            assert fields
            assert all(f.split(".")[0] in {*body, "cpf_cnpj"} for f in fields), fields
        else:
            person = response.json()
            assert all(p.startswith("+") for p in person["phones"])
            assert person["emails"] == [e.lower() for e in person["emails"]]
