"""People are created with normalised identities, refused with 422 naming the field, listed and searched by name,
e-mail or phone in any format, edited, soft-deleted and restored; viewers only read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from leadflow.kit.db import Database
from leadflow.models import Role, Tenant, User
from leadflow.person import service
from leadflow.person.schemas import PersonCreate
from tests import factories

MARIA: dict[str, Any] = {
    "name": "Maria Aparecida da Silva",
    "emails": ["Maria.Silva@Gmail.com"],
    "phones": ["(11) 98765-4321", "11 3456-7890"],
    "whatsapp_ids": ["5511987654321"],
    "cpf_cnpj": "529.982.247-25",
    "birth_date": "1985-03-14",
    "tags": ["investidor", "zona-sul", "investidor"],
}


async def _create(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v1/people", json={"name": "Cliente", **fields})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _fields(response: httpx.Response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


class TestCreatingAPerson:
    async def test_phones_emails_whatsapp_and_cpf_are_normalised(self, as_broker: httpx.AsyncClient) -> None:
        person = await _create(as_broker, **MARIA)
        assert person["phones"] == ["+5511987654321", "+551134567890"]
        assert person["emails"] == ["maria.silva@gmail.com"]
        assert person["whatsapp_ids"] == ["+5511987654321"]
        assert person["cpf_cnpj"] == "***.982.247-**"  # masked unless revealed (tests/privacy/test_cpf_masking.py)
        assert person["tags"] == ["investidor", "zona-sul"]
        again = (await as_broker.get(f"/v1/people/{person['id']}")).json()
        assert again == person

    async def test_a_cnpj_is_accepted_for_a_company(self, as_broker: httpx.AsyncClient) -> None:
        person = await _create(as_broker, name="Construtora Horizonte", cpf_cnpj="11.222.333/0001-81")
        assert person["cpf_cnpj"] == "11222333000181"

    async def test_a_number_typed_twice_in_two_formats_is_kept_once(self, as_broker: httpx.AsyncClient) -> None:
        person = await _create(as_broker, phones=["(11) 98765-4321", "+55 11 8765-4321"])
        assert person["phones"] == ["+5511987654321"]

    async def test_creation_is_audited(self, as_manager: httpx.AsyncClient) -> None:
        person = await _create(as_manager, **MARIA)
        audit = (await as_manager.get("/v1/audit", params={"entity_id": person["id"]})).json()["items"]
        assert [e["action"] for e in audit] == ["create"]


class TestInvalidInputIsNamed:
    @pytest.mark.parametrize(
        ("fields", "field", "why"),
        [
            ({"phones": ["(11) 98765-4321", "123"]}, "phones.1", "not a valid phone number"),
            ({"phones": ["sem número"]}, "phones.0", "no digits"),
            ({"emails": ["maria.silva@gmail.com", "maria@"]}, "emails.1", ""),
            ({"whatsapp_ids": ["fale comigo"]}, "whatsapp_ids.0", "WhatsApp"),
            ({"cpf_cnpj": "529.982.247-26"}, "cpf_cnpj", "check digits"),
            ({"cpf_cnpj": "1234"}, "cpf_cnpj", "14 digits"),
            ({"birth_date": (date.today() + timedelta(days=2)).isoformat()}, "birth_date", "past"),
            ({"name": ""}, "name", ""),
            ({"name": "Maria\x00"}, "name", "NUL"),
        ],
    )
    async def test_the_invalid_field_is_named_with_why(
        self, as_broker: httpx.AsyncClient, fields: dict[str, Any], field: str, why: str
    ) -> None:
        response = await as_broker.post("/v1/people", json={"name": "Cliente", **fields})
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        errors = response.json()["errors"]
        assert [e["field"] for e in errors] == [field]
        assert why in errors[0]["message"]

    async def test_every_invalid_field_is_named_in_one_answer(self, as_broker: httpx.AsyncClient) -> None:
        body = {"name": "Cliente", "phones": ["abc"], "emails": ["x"], "cpf_cnpj": "111.111.111-11"}
        response = await as_broker.post("/v1/people", json=body)
        assert sorted(_fields(response)) == ["cpf_cnpj", "emails.0", "phones.0"]
        assert (await as_broker.get("/v1/people")).json()["items"] == []

    async def test_an_unknown_custom_field_is_named(self, as_broker: httpx.AsyncClient) -> None:
        response = await as_broker.post("/v1/people", json={"name": "Cliente", "custom_fields": {"renda": 1}})
        assert response.status_code == 422
        assert _fields(response) == ["custom_fields.renda"]

    async def test_a_defined_custom_field_is_kept(self, as_manager: httpx.AsyncClient) -> None:
        definition = {"entity": "person", "key": "como_conheceu", "label": "Como conheceu", "type": "text"}
        assert (await as_manager.post("/v1/custom-fields", json=definition)).status_code == 201
        person = await _create(as_manager, custom_fields={"como_conheceu": "Indicação"})
        assert person["custom_fields"] == {"como_conheceu": "Indicação"}

    async def test_unknown_body_fields_are_refused(self, as_broker: httpx.AsyncClient) -> None:
        response = await as_broker.post("/v1/people", json={"name": "Cliente", "telefone": "11987654321"})
        assert response.status_code == 422
        assert _fields(response) == ["telefone"]


class TestUpdatingAPerson:
    async def test_a_list_sent_replaces_that_set_and_the_others_stay(self, as_broker: httpx.AsyncClient) -> None:
        person = await _create(as_broker, **MARIA)
        response = await as_broker.patch(f"/v1/people/{person['id']}", json={"phones": ["(21) 99876-5432"]})
        assert response.status_code == 200, response.text
        updated = response.json()
        assert updated["phones"] == ["+5521998765432"]
        assert updated["emails"] == person["emails"]
        assert updated["whatsapp_ids"] == person["whatsapp_ids"]
        assert updated["updated_at"] > person["updated_at"]

    async def test_an_identity_kept_in_the_new_list_keeps_its_row(self, as_broker: httpx.AsyncClient) -> None:
        person = await _create(as_broker, emails=["a@exemplo.com.br", "b@exemplo.com.br"])
        body = {"emails": ["B@exemplo.com.br", "c@exemplo.com.br"]}
        updated = (await as_broker.patch(f"/v1/people/{person['id']}", json=body)).json()
        assert updated["emails"] == ["b@exemplo.com.br", "c@exemplo.com.br"]

    async def test_the_cpf_can_be_changed_and_cleared(self, as_broker: httpx.AsyncClient) -> None:
        person = await _create(as_broker, cpf_cnpj="529.982.247-25")
        path = f"/v1/people/{person['id']}"
        assert (await as_broker.patch(path, json={"cpf_cnpj": "111.444.777-35"})).json()["cpf_cnpj"] == "***.444.777-**"
        assert (await as_broker.patch(path, json={"cpf_cnpj": None})).json()["cpf_cnpj"] is None

    async def test_an_invalid_phone_changes_nothing(self, as_broker: httpx.AsyncClient) -> None:
        person = await _create(as_broker, **MARIA)
        response = await as_broker.patch(f"/v1/people/{person['id']}", json={"name": "Outra", "phones": ["1", "2"]})
        assert response.status_code == 422
        assert _fields(response) == ["phones.0", "phones.1"]
        assert (await as_broker.get(f"/v1/people/{person['id']}")).json() == person

    async def test_the_name_cannot_be_null(self, as_broker: httpx.AsyncClient) -> None:
        person = await _create(as_broker)
        response = await as_broker.patch(f"/v1/people/{person['id']}", json={"name": None})
        assert response.status_code == 422
        assert _fields(response) == ["name"]


class TestSearchingPeople:
    @pytest.mark.parametrize("typed", ["(11) 98765-4321", "11987654321", "987654321", "+55 11 8765-4321"])
    async def test_a_phone_typed_in_any_format_finds_the_person(self, as_broker: httpx.AsyncClient, typed: str) -> None:
        maria = await _create(as_broker, name="Maria", phones=["+5511987654321"])
        await _create(as_broker, name="João", phones=["(21) 99876-5432"])
        found = (await as_broker.get("/v1/people", params={"q": typed})).json()["items"]
        assert [p["id"] for p in found] == [maria["id"]]

    @pytest.mark.parametrize("typed", ["(11) 98765-4321", "987654321", "87654321", "+55 11 8765-4321"])
    async def test_a_number_kept_without_the_ninth_digit_is_found_with_or_without_it(
        self, as_broker: httpx.AsyncClient, typed: str
    ) -> None:
        maria = await _create(as_broker, name="Maria", phones=["+551187654321"])
        found = (await as_broker.get("/v1/people", params={"q": typed})).json()["items"]
        assert [p["id"] for p in found] == [maria["id"]]

    async def test_the_same_ending_in_another_area_code_is_not_a_match(self, as_broker: httpx.AsyncClient) -> None:
        await _create(as_broker, name="Maria", phones=["+5511987654321"])
        rio = await _create(as_broker, name="João", phones=["+5521987654321"])
        found = (await as_broker.get("/v1/people", params={"q": "(21) 98765-4321"})).json()["items"]
        assert [p["id"] for p in found] == [rio["id"]]

    async def test_a_few_digits_find_the_numbers_containing_them(self, as_broker: httpx.AsyncClient) -> None:
        maria = await _create(as_broker, name="Maria", phones=["+5511987654321"])
        await _create(as_broker, name="João", phones=["+5521912340000"])
        found = (await as_broker.get("/v1/people", params={"q": "8765"})).json()["items"]
        assert [p["id"] for p in found] == [maria["id"]]

    async def test_a_whatsapp_number_is_found_like_a_phone(self, as_broker: httpx.AsyncClient) -> None:
        maria = await _create(as_broker, whatsapp_ids=["5511987654321"])
        found = (await as_broker.get("/v1/people", params={"q": "(11) 98765-4321"})).json()["items"]
        assert [p["id"] for p in found] == [maria["id"]]

    async def test_a_name_is_found_in_any_case_and_without_accents(self, as_broker: httpx.AsyncClient) -> None:
        joao = await _create(as_broker, name="João da Conceição")
        await _create(as_broker, name="Maria Silva")
        for typed in ("conceição", "JOAO DA", "conceicao"):
            found = (await as_broker.get("/v1/people", params={"q": typed})).json()["items"]
            assert [p["id"] for p in found] == [joao["id"]], typed

    async def test_an_email_is_found_by_a_part_of_it(self, as_broker: httpx.AsyncClient) -> None:
        maria = await _create(as_broker, name="Maria", emails=["maria.silva@gmail.com"])
        await _create(as_broker, name="João", emails=["joao@hotmail.com"])
        found = (await as_broker.get("/v1/people", params={"q": "Silva@GMAIL"})).json()["items"]
        assert [p["id"] for p in found] == [maria["id"]]

    async def test_like_wildcards_are_searched_literally(self, as_broker: httpx.AsyncClient) -> None:
        await _create(as_broker, name="Maria")
        assert (await as_broker.get("/v1/people", params={"q": "%"})).json()["items"] == []

    async def test_people_are_filtered_by_tag(self, as_broker: httpx.AsyncClient) -> None:
        investor = await _create(as_broker, name="Maria", tags=["investidor", "vip"])
        await _create(as_broker, name="João", tags=["primeiro-imovel"])
        found = (await as_broker.get("/v1/people", params={"tag": "investidor"})).json()["items"]
        assert [p["id"] for p in found] == [investor["id"]]

    async def test_people_are_filtered_by_creation_time(self, as_broker: httpx.AsyncClient) -> None:
        person = await _create(as_broker)
        created = person["created_at"]
        inside = {"created_from": created, "created_to": "2999-01-01T00:00:00Z"}
        assert len((await as_broker.get("/v1/people", params=inside)).json()["items"]) == 1
        before = {"created_to": created}
        assert (await as_broker.get("/v1/people", params=before)).json()["items"] == []

    async def test_a_time_without_zone_is_refused(self, as_broker: httpx.AsyncClient) -> None:
        response = await as_broker.get("/v1/people", params={"created_from": "2026-01-01T00:00:00"})
        assert response.status_code == 422

    async def test_the_list_is_paginated_newest_first(self, as_broker: httpx.AsyncClient) -> None:
        first = await _create(as_broker, name="Primeira")
        second = await _create(as_broker, name="Segunda")
        page = (await as_broker.get("/v1/people", params={"limit": 1})).json()
        assert [p["id"] for p in page["items"]] == [second["id"]]
        rest = (await as_broker.get("/v1/people", params={"limit": 1, "cursor": page["next_cursor"]})).json()
        assert [p["id"] for p in rest["items"]] == [first["id"]]
        assert rest["next_cursor"] is None


@contextmanager
def _counting_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


class TestReadingPeopleInBulk:
    async def test_a_page_of_people_loads_its_identities_in_one_query(
        self, db: Database, engine: AsyncEngine, tenant: Tenant
    ) -> None:
        scope = factories.owner_scope(tenant)
        async with db.session(scope) as session:
            people = [
                await service.create_person(
                    session, scope, data=PersonCreate(name=f"Cliente {n}", phones=[f"11 98765-432{n}"])
                )
                for n in range(5)
            ]
            with _counting_statements(engine) as statements:
                reads = await service.read_people(session, people)
        assert len(statements) == 1
        assert [r.phones for r in reads] == [[f"+551198765432{n}"] for n in range(5)]


class TestDeletingPeople:
    async def test_deleting_is_soft_audited_and_restorable(self, as_manager: httpx.AsyncClient) -> None:
        person = await _create(as_manager, **MARIA)
        assert (await as_manager.delete(f"/v1/people/{person['id']}")).status_code == 204
        assert (await as_manager.get(f"/v1/people/{person['id']}")).status_code == 404
        assert (await as_manager.get("/v1/people")).json()["items"] == []
        restored = await as_manager.post(f"/v1/people/{person['id']}/restore")
        assert restored.status_code == 200
        assert restored.json()["phones"] == person["phones"]
        audit = (await as_manager.get("/v1/audit", params={"entity_id": person["id"]})).json()["items"]
        assert [e["action"] for e in audit][:2] == ["restore", "delete"]

    async def test_restoring_an_unknown_person_is_404(self, as_manager: httpx.AsyncClient) -> None:
        response = await as_manager.post("/v1/people/0190a0b0-0000-7000-8000-000000000000/restore")
        assert response.status_code == 404


class TestWhoMayWrite:
    async def test_a_viewer_reads_but_never_writes(
        self, as_manager: httpx.AsyncClient, as_viewer: httpx.AsyncClient
    ) -> None:
        person = await _create(as_manager, **MARIA)
        path = f"/v1/people/{person['id']}"
        assert (await as_viewer.get("/v1/people")).status_code == 200
        assert (await as_viewer.get(path)).status_code == 200
        assert (await as_viewer.get(f"{path}/duplicates")).status_code == 200
        assert (await as_viewer.get(f"{path}/consents")).status_code == 200
        refused = [
            await as_viewer.post("/v1/people", json={"name": "Cliente"}),
            await as_viewer.patch(path, json={"name": "Outro"}),
            await as_viewer.delete(path),
            await as_viewer.post(
                f"{path}/consents", json={"channel": "email", "legal_basis": "consentimento", "status": "given"}
            ),
        ]
        assert [r.status_code for r in refused] == [403, 403, 403, 403]
        assert (await as_viewer.get(path)).json()["name"] == MARIA["name"]

    async def test_a_broker_edits_but_cannot_delete(self, as_broker: httpx.AsyncClient) -> None:
        person = await _create(as_broker)
        assert (await as_broker.patch(f"/v1/people/{person['id']}", json={"name": "Outro"})).status_code == 200
        assert (await as_broker.delete(f"/v1/people/{person['id']}")).status_code == 403

    async def test_a_secret_key_needs_the_write_scope_to_create(
        self, app: Any, db: Database, tenant: Tenant, owner: User
    ) -> None:
        _, reader = await factories.make_key(db, tenant, scopes=["read"])
        _, writer = await factories.make_key(db, tenant, scopes=["read", "write"])
        async with factories.client(app, tenant, token=reader) as c:
            assert (await c.post("/v1/people", json={"name": "Cliente"})).status_code == 403
            assert (await c.get("/v1/people")).status_code == 200
        async with factories.client(app, tenant, token=writer) as c:
            assert (await c.post("/v1/people", json={"name": "Cliente"})).status_code == 201

    async def test_every_role_reads(self, app: Any, db: Database, tenant: Tenant) -> None:
        for role in Role:
            user = await factories.make_user(db, tenant, role=role)
            async with factories.logged_in(app, tenant, user) as c:
                assert (await c.get("/v1/people")).status_code == 200, role
