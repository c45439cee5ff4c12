"""A merge moves the other person's leads, interactions, consents and identities to the survivor, fills the
survivor's empty fields and soft-deletes the other; undoing it puts everything back exactly, once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from leadflow.kit.db import Database
from leadflow.models import Interaction, Lead, Person, Tenant
from tests import factories
from tests.person.factories import first_stage, make_interaction, person_id_of

CONSENT = {"channel": "whatsapp", "legal_basis": "consentimento", "status": "given"}


@dataclass
class Pair:
    survivor: dict[str, Any]
    other: dict[str, Any]
    lead: Lead
    interaction: Interaction


async def _create(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v1/people", json=fields)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture
async def pair(db: Database, tenant: Tenant, as_manager: httpx.AsyncClient) -> Pair:
    survivor = await _create(
        as_manager, name="Maria Silva", emails=["maria@gmail.com"], phones=["(11) 98765-4321"], tags=["vip"]
    )
    other = await _create(
        as_manager,
        name="Maria S.",
        emails=["maria@gmail.com", "maria.trabalho@empresa.com.br"],
        phones=["(11) 3456-7890"],
        cpf_cnpj="529.982.247-25",
        notes="Prefere contato à tarde.",
        tags=["investidor", "vip"],
    )
    assert (await as_manager.post(f"/v1/people/{other['id']}/consents", json=CONSENT)).status_code == 201
    other_row = await _person(db, tenant, other["id"])
    lead = await factories.make_lead(db, tenant, person=other_row, stage=await first_stage(db, tenant))
    interaction = await make_interaction(db, tenant, person=other_row, lead=lead)
    return Pair(survivor, other, lead, interaction)


async def _person(db: Database, tenant: Tenant, person_id: str) -> Person:
    async with db.session(factories.owner_scope(tenant)) as session:
        return await session.get_one(Person, uuid.UUID(person_id))


async def _merge(client: httpx.AsyncClient, pair: Pair) -> dict[str, Any]:
    response = await client.post(f"/v1/people/{pair.survivor['id']}/merge", json={"other_id": pair.other["id"]})
    assert response.status_code == 201, response.text
    merge: dict[str, Any] = response.json()
    return merge


class TestMergingPeople:
    async def test_the_leads_and_interactions_follow_the_survivor(
        self, db: Database, tenant: Tenant, as_manager: httpx.AsyncClient, pair: Pair
    ) -> None:
        merge = await _merge(as_manager, pair)
        survivor_id = pair.survivor["id"]
        assert str(await person_id_of(db, tenant, Lead, pair.lead.id)) == survivor_id
        assert str(await person_id_of(db, tenant, Interaction, pair.interaction.id)) == survivor_id
        assert (merge["survivor_id"], merge["merged_id"], merge["undone_at"]) == (
            survivor_id,
            pair.other["id"],
            None,
        )
        assert merge["moved"] == {
            "leads": 1,
            "interactions": 1,
            "tasks": 0,
            "attachments": 0,
            "consents": 1,
            "identities": 3,  # work e-mail, landline, CPF (the shared e-mail stays)
        }

    async def test_identities_move_except_exact_duplicates_and_empty_fields_are_filled(
        self, as_manager: httpx.AsyncClient, pair: Pair
    ) -> None:
        merge = await _merge(as_manager, pair)
        survivor = (await as_manager.get(f"/v1/people/{pair.survivor['id']}")).json()
        assert survivor["emails"] == ["maria@gmail.com", "maria.trabalho@empresa.com.br"]
        assert survivor["phones"] == ["+5511987654321", "+551134567890"]
        assert (survivor["cpf_cnpj"], survivor["notes"]) == ("***.982.247-**", "Prefere contato à tarde.")
        assert survivor["tags"] == ["vip", "investidor"]
        assert survivor["name"] == "Maria Silva"
        assert merge["filled_fields"] == ["cpf_cnpj", "notes", "tags"]
        consents = (await as_manager.get(f"/v1/people/{pair.survivor['id']}/consents")).json()["items"]
        assert [c["channel"] for c in consents] == ["whatsapp"]

    async def test_the_merged_person_is_gone_and_points_to_the_survivor(
        self, as_manager: httpx.AsyncClient, pair: Pair
    ) -> None:
        await _merge(as_manager, pair)
        response = await as_manager.get(f"/v1/people/{pair.other['id']}")
        assert response.status_code == 404
        assert response.json()["merged_into_id"] == pair.survivor["id"]
        listed = (await as_manager.get("/v1/people")).json()["items"]
        assert [p["id"] for p in listed] == [pair.survivor["id"]]
        assert (await as_manager.get(f"/v1/people/{pair.survivor['id']}/duplicates")).json()["items"] == []
        assert (await as_manager.post(f"/v1/people/{pair.other['id']}/restore")).status_code == 409

    async def test_the_merge_is_audited(self, as_manager: httpx.AsyncClient, pair: Pair) -> None:
        merge = await _merge(as_manager, pair)
        latest = {}
        for entity_id in (str(pair.lead.id), str(pair.interaction.id), pair.other["id"], merge["id"]):
            audit = (await as_manager.get("/v1/audit", params={"entity_id": entity_id})).json()["items"]
            latest[entity_id] = audit[0]
        assert [e["action"] for e in latest.values()] == ["update", "update", "delete", "create"]
        assert latest[str(pair.lead.id)]["changes"]["person_id"] == [pair.other["id"], pair.survivor["id"]]

    async def test_a_merge_record_can_be_read(self, as_manager: httpx.AsyncClient, pair: Pair) -> None:
        merge = await _merge(as_manager, pair)
        assert (await as_manager.get(f"/v1/people/merges/{merge['id']}")).json() == merge

    async def test_a_person_cannot_be_merged_into_themselves(self, as_manager: httpx.AsyncClient, pair: Pair) -> None:
        person_id = pair.survivor["id"]
        response = await as_manager.post(f"/v1/people/{person_id}/merge", json={"other_id": person_id})
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["other_id"]

    async def test_a_broker_cannot_merge(self, as_broker: httpx.AsyncClient, pair: Pair) -> None:
        response = await as_broker.post(f"/v1/people/{pair.survivor['id']}/merge", json={"other_id": pair.other["id"]})
        assert response.status_code == 403


class TestUndoingAMerge:
    async def test_undo_restores_everything_exactly(
        self, db: Database, tenant: Tenant, as_manager: httpx.AsyncClient, pair: Pair
    ) -> None:
        before = {p: (await as_manager.get(f"/v1/people/{pair_id}")).json() for p, pair_id in _ids(pair)}
        merge = await _merge(as_manager, pair)
        response = await as_manager.post(f"/v1/people/merges/{merge['id']}/undo")
        assert response.status_code == 200, response.text
        assert response.json()["undone_at"] is not None
        after = {p: (await as_manager.get(f"/v1/people/{pair_id}")).json() for p, pair_id in _ids(pair)}
        for role in ("survivor", "other"):
            assert _without_timestamps(after[role]) == _without_timestamps(before[role]), role
        assert str(await person_id_of(db, tenant, Lead, pair.lead.id)) == pair.other["id"]
        assert str(await person_id_of(db, tenant, Interaction, pair.interaction.id)) == pair.other["id"]
        consents = (await as_manager.get(f"/v1/people/{pair.other['id']}/consents")).json()["items"]
        assert len(consents) == 1

    async def test_undoing_twice_is_a_conflict(self, as_manager: httpx.AsyncClient, pair: Pair) -> None:
        merge = await _merge(as_manager, pair)
        assert (await as_manager.post(f"/v1/people/merges/{merge['id']}/undo")).status_code == 200
        again = await as_manager.post(f"/v1/people/merges/{merge['id']}/undo")
        assert again.status_code == 409
        assert again.json()["type"].endswith("person-merge-already-undone")

    async def test_a_field_edited_after_the_merge_keeps_its_edit(
        self, as_manager: httpx.AsyncClient, pair: Pair
    ) -> None:
        merge = await _merge(as_manager, pair)
        path = f"/v1/people/{pair.survivor['id']}"
        assert (await as_manager.patch(path, json={"notes": "Ligar só de manhã."})).status_code == 200
        await as_manager.post(f"/v1/people/merges/{merge['id']}/undo")
        survivor = (await as_manager.get(path)).json()
        assert (survivor["notes"], survivor["cpf_cnpj"], survivor["tags"]) == ("Ligar só de manhã.", None, ["vip"])

    async def test_a_broker_cannot_undo(
        self, as_manager: httpx.AsyncClient, as_broker: httpx.AsyncClient, pair: Pair
    ) -> None:
        merge = await _merge(as_manager, pair)
        assert (await as_broker.post(f"/v1/people/merges/{merge['id']}/undo")).status_code == 403

    async def test_an_unknown_merge_is_404(self, as_manager: httpx.AsyncClient) -> None:
        response = await as_manager.post("/v1/people/merges/0190a0b0-0000-7000-8000-000000000000/undo")
        assert response.status_code == 404


def _ids(pair: Pair) -> list[tuple[str, str]]:
    return [("survivor", pair.survivor["id"]), ("other", pair.other["id"])]


def _without_timestamps(person: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in person.items() if k != "updated_at"}
