"""Duplicates are other people sharing a phone (with or without the ninth digit), an e-mail, a CPF/CNPJ or a
WhatsApp id, each with the reasons it matched, strongest first; lookups by identity find the same people."""

from __future__ import annotations

from typing import Any

import httpx

from leadflow.kit.db import Database
from leadflow.models import IdentityKind, PersonIdentity, Tenant
from leadflow.person import service
from tests import factories


async def _create(client: httpx.AsyncClient, name: str, **fields: Any) -> str:
    response = await client.post("/v1/people", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    person_id: str = response.json()["id"]
    return person_id


async def _duplicates(client: httpx.AsyncClient, person_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/people/{person_id}/duplicates")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


class TestFindingDuplicates:
    async def test_a_phone_with_and_without_the_ninth_digit_is_a_duplicate(
        self, db: Database, tenant: Tenant, as_broker: httpx.AsyncClient
    ) -> None:
        maria = await _create(as_broker, "Maria", phones=["(11) 98765-4321"])
        # Rows written by other paths (imports, integrations) may hold the old eight-digit form.
        old = await factories.make_person(db, tenant, name="Maria S.")
        async with db.session(factories.owner_scope(tenant)) as session:
            session.add(
                PersonIdentity(
                    person_id=old.id,
                    kind=IdentityKind.PHONE,
                    value="+551187654321",
                    match_key="+551187654321",
                )
            )
        found = await _duplicates(as_broker, maria)
        assert [(d["person"]["id"], d["reasons"]) for d in found] == [
            (str(old.id), [{"kind": "phone", "value": "+551187654321"}])
        ]

    async def test_a_number_typed_without_the_ninth_digit_is_a_duplicate(self, as_broker: httpx.AsyncClient) -> None:
        maria = await _create(as_broker, "Maria", phones=["(11) 98765-4321"])
        other = await _create(as_broker, "Maria S.", phones=["11 8765-4321"])
        assert [d["person"]["id"] for d in await _duplicates(as_broker, maria)] == [other]

    async def test_an_email_in_another_case_is_a_duplicate(self, as_broker: httpx.AsyncClient) -> None:
        maria = await _create(as_broker, "Maria", emails=["maria.silva@gmail.com"])
        other = await _create(as_broker, "M. Silva", emails=["MARIA.SILVA@gmail.com"])
        found = await _duplicates(as_broker, maria)
        assert [(d["person"]["id"], d["reasons"][0]["kind"]) for d in found] == [(other, "email")]

    async def test_a_cpf_typed_with_or_without_punctuation_is_a_duplicate(self, as_broker: httpx.AsyncClient) -> None:
        maria = await _create(as_broker, "Maria", cpf_cnpj="529.982.247-25")
        other = await _create(as_broker, "Maria A. Silva", cpf_cnpj="52998224725")
        found = await _duplicates(as_broker, maria)
        assert [(d["person"]["id"], d["reasons"]) for d in found] == [
            (other, [{"kind": "cpf_cnpj", "value": "***.982.247-**"}])  # masked: privacy/masking.py
        ]

    async def test_a_whatsapp_number_meets_a_phone(self, as_broker: httpx.AsyncClient) -> None:
        maria = await _create(as_broker, "Maria", phones=["(11) 98765-4321"])
        other = await _create(as_broker, "Maria WhatsApp", whatsapp_ids=["5511987654321"])
        found = await _duplicates(as_broker, maria)
        assert [(d["person"]["id"], d["reasons"][0]["kind"]) for d in found] == [(other, "whatsapp")]

    async def test_the_strongest_come_first_with_every_reason(self, as_broker: httpx.AsyncClient) -> None:
        maria = await _create(
            as_broker, "Maria", phones=["11987654321"], emails=["maria@gmail.com"], cpf_cnpj="529.982.247-25"
        )
        by_phone = await _create(as_broker, "Só telefone", phones=["11987654321"])
        by_all = await _create(as_broker, "Tudo", phones=["11987654321"], cpf_cnpj="52998224725")
        by_email = await _create(as_broker, "Só e-mail", emails=["maria@gmail.com"])
        found = await _duplicates(as_broker, maria)
        assert [d["person"]["id"] for d in found] == [by_all, by_email, by_phone]
        assert [r["kind"] for r in found[0]["reasons"]] == ["cpf_cnpj", "phone"]
        assert found[0]["score"] > found[1]["score"] > found[2]["score"]

    async def test_unrelated_and_deleted_people_are_not_duplicates(self, as_manager: httpx.AsyncClient) -> None:
        maria = await _create(as_manager, "Maria", phones=["11987654321"])
        await _create(as_manager, "João", phones=["21998765432"])
        deleted = await _create(as_manager, "Apagada", phones=["11987654321"])
        assert (await as_manager.delete(f"/v1/people/{deleted}")).status_code == 204
        assert await _duplicates(as_manager, maria) == []


class TestFindingPeopleByIdentity:
    async def test_any_given_identity_finds_the_person_oldest_first(self, db: Database, tenant: Tenant) -> None:
        first = await factories.make_person(db, tenant, name="Maria", phone="(11) 98765-4321")
        second = await factories.make_person(db, tenant, name="Maria S.", email="maria@gmail.com")
        scope = factories.owner_scope(tenant)
        async with db.session(scope) as session:
            by_old_number = await service.find_people_by_identity(session, scope, phone="11 8765-4321")
            by_wa = await service.find_people_by_identity(session, scope, whatsapp_id="5511987654321")
            by_both = await service.find_people_by_identity(
                session, scope, phone="+5511987654321", email="MARIA@gmail.com"
            )
            by_invalid = await service.find_people_by_identity(session, scope, phone="abc", cpf_cnpj="123")
        assert [p.id for p in by_old_number] == [first.id]
        assert [p.id for p in by_wa] == [first.id]
        assert [p.id for p in by_both] == [first.id, second.id]
        assert by_invalid == []
