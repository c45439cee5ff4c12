"""A CPF is shown masked (``***.982.247-**``) in every answer; owners and managers may reveal it with
``?reveal=cpf``, and each reveal is audited; a CNPJ (a company) is shown in full."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from leadflow.kit.db import Database
from leadflow.models import Role, Tenant, User
from tests import factories


async def _maria(client: httpx.AsyncClient) -> str:
    response = await client.post("/v1/people", json={"name": "Maria", "cpf_cnpj": "529.982.247-25"})
    assert response.status_code == 201, response.text
    person_id: str = response.json()["id"]
    return person_id


class TestMasking:
    async def test_every_role_sees_the_cpf_masked_by_default(
        self, as_manager: httpx.AsyncClient, as_broker: httpx.AsyncClient
    ) -> None:
        person_id = await _maria(as_broker)
        for client in (as_manager, as_broker):
            assert (await client.get(f"/v1/people/{person_id}")).json()["cpf_cnpj"] == "***.982.247-**"
            listed = (await client.get("/v1/people")).json()["items"]
            assert [p["cpf_cnpj"] for p in listed] == ["***.982.247-**"]

    async def test_a_cnpj_is_not_personal_data_and_is_shown(self, as_broker: httpx.AsyncClient) -> None:
        response = await as_broker.post("/v1/people", json={"name": "Construtora", "cpf_cnpj": "11.222.333/0001-81"})
        assert response.json()["cpf_cnpj"] == "11222333000181"


class TestRevealing:
    @pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
    async def test_an_owner_or_manager_reveals_it_and_the_reveal_is_audited(
        self, app: FastAPI, db: Database, tenant: Tenant, as_broker: httpx.AsyncClient, role: Role
    ) -> None:
        person_id = await _maria(as_broker)
        user = await factories.make_user(db, tenant, role=role, email=f"{role.value}@acme.example.com")
        async with factories.logged_in(app, tenant, user) as client:
            revealed = await client.get(f"/v1/people/{person_id}", params={"reveal": "cpf"})
            assert revealed.json()["cpf_cnpj"] == "52998224725"
            audit = (await client.get("/v1/audit", params={"entity_id": person_id})).json()["items"]
        reveal = next(e for e in audit if e["action"] == "reveal")
        assert (reveal["actor_id"], reveal["changes"]) == (str(user.id), {"revealed": ["cpf_cnpj"]})

    async def test_a_broker_may_not_reveal(self, as_broker: httpx.AsyncClient) -> None:
        person_id = await _maria(as_broker)
        response = await as_broker.get(f"/v1/people/{person_id}", params={"reveal": "cpf"})
        assert response.status_code == 403
        assert "52998224725" not in response.text

    async def test_another_tenants_person_cannot_be_revealed(
        self, app: FastAPI, db: Database, other_tenant: Tenant, as_manager: httpx.AsyncClient, manager: User
    ) -> None:
        person_id = await _maria(as_manager)
        rival = await factories.make_user(db, other_tenant, role=Role.MANAGER, email="gestor@rival.example.com")
        async with factories.logged_in(app, other_tenant, rival) as as_rival:
            response = await as_rival.get(f"/v1/people/{person_id}", params={"reveal": "cpf"})
        assert response.status_code == 404
        assert "52998224725" not in response.text
