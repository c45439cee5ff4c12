"""Cross-tenant twins: another tenant's people and merges are 404 on every route, their ids in a body are 404,
and they are never listed, searched, found by identity nor offered as duplicates."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from leadflow.kit.db import Database
from leadflow.models import Person, PersonMerge, Tenant
from leadflow.person import service
from tests import factories

RIVAL_PHONE = "(11) 98765-4321"


class Rival:
    def __init__(self, person: Person, twin: Person, merge: PersonMerge) -> None:
        self.person, self.twin, self.merge = person, twin, merge


@pytest.fixture
async def rival(db: Database, other_tenant: Tenant) -> Rival:
    person = await factories.make_person(db, other_tenant, name="Cliente Rival", phone=RIVAL_PHONE)
    twin = await factories.make_person(db, other_tenant, name="Cliente Rival 2", phone=RIVAL_PHONE)
    scope = factories.owner_scope(other_tenant)
    extra = await factories.make_person(db, other_tenant, name="Cliente Rival 3", email="rival@rival.com.br")
    async with db.session(scope) as session:
        merge = await service.merge_people(session, scope, survivor_id=twin.id, other_id=extra.id)
    return Rival(person, twin, merge)


@pytest.fixture
async def mine(as_manager: httpx.AsyncClient) -> dict[str, Any]:
    response = await as_manager.post("/v1/people", json={"name": "Cliente Acme", "phones": [RIVAL_PHONE]})
    assert response.status_code == 201
    created: dict[str, Any] = response.json()
    return created


def _routes(r: Rival) -> list[tuple[str, str, dict[str, Any] | None]]:
    p = r.person.id
    consent = {"channel": "email", "legal_basis": "consentimento", "status": "given"}
    return [
        ("GET", f"/v1/people/{p}", None),
        ("PATCH", f"/v1/people/{p}", {"name": "Invadido"}),
        ("DELETE", f"/v1/people/{p}", None),
        ("POST", f"/v1/people/{p}/restore", None),
        ("GET", f"/v1/people/{p}/duplicates", None),
        ("GET", f"/v1/people/{p}/consents", None),
        ("POST", f"/v1/people/{p}/consents", consent),
        ("POST", f"/v1/people/{p}/merge", {"other_id": str(r.twin.id)}),
        ("GET", f"/v1/people/merges/{r.merge.id}", None),
        ("POST", f"/v1/people/merges/{r.merge.id}/undo", None),
    ]


class TestAnotherTenantsPeople:
    async def test_every_route_answers_404_for_another_tenants_ids(
        self, as_owner: httpx.AsyncClient, rival: Rival
    ) -> None:
        for method, path, body in _routes(rival):
            response = await as_owner.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
            assert "Rival" not in response.text

    async def test_merging_another_tenants_person_into_mine_is_404_and_changes_nothing(
        self, as_owner: httpx.AsyncClient, rival: Rival, mine: dict[str, Any]
    ) -> None:
        path = f"/v1/people/{mine['id']}"
        response = await as_owner.post(f"{path}/merge", json={"other_id": str(rival.person.id)})
        assert response.status_code == 404
        assert (await as_owner.get(path)).json() == mine

    async def test_another_tenants_rows_are_untouched(
        self, as_owner: httpx.AsyncClient, rival: Rival, mine: dict[str, Any], db: Database, other_tenant: Tenant
    ) -> None:
        for method, path, body in _routes(rival):
            await as_owner.request(method, path, json=body)
        await as_owner.post(f"/v1/people/{mine['id']}/merge", json={"other_id": str(rival.person.id)})
        async with db.session(factories.owner_scope(other_tenant)) as session:
            person = await session.get_one(Person, rival.person.id)
            merge = await session.get_one(PersonMerge, rival.merge.id)
        assert (person.name, person.deleted_at, person.merged_into_id) == ("Cliente Rival", None, None)
        assert merge.undone_at is None

    async def test_lists_searches_and_duplicates_show_nothing_of_another_tenant(
        self, as_owner: httpx.AsyncClient, rival: Rival, mine: dict[str, Any]
    ) -> None:
        assert [p["id"] for p in (await as_owner.get("/v1/people")).json()["items"]] == [mine["id"]]
        found = (await as_owner.get("/v1/people", params={"q": "98765-4321"})).json()["items"]
        assert [p["id"] for p in found] == [mine["id"]]
        assert (await as_owner.get("/v1/people", params={"q": "Rival"})).json()["items"] == []
        assert (await as_owner.get(f"/v1/people/{mine['id']}/duplicates")).json()["items"] == []

    async def test_lookups_by_identity_stay_in_the_tenant(
        self, db: Database, tenant: Tenant, rival: Rival, mine: dict[str, Any]
    ) -> None:
        scope = factories.owner_scope(tenant)
        async with db.session(scope) as session:
            found = await service.find_people_by_identity(session, scope, phone=RIVAL_PHONE)
            with pytest.raises(service.PersonNotFound):
                await service.get_person(session, scope, person_id=rival.person.id)
        assert [p.id for p in found] == [uuid.UUID(mine["id"])]
