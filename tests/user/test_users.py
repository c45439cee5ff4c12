"""Owners and managers manage users and teams; brokers and viewers cannot; deletes are soft and audited."""

from __future__ import annotations

import httpx

from leadflow.models import Role, Tenant, User


class TestManagingUsers:
    async def test_a_manager_creates_a_broker_who_can_log_in(
        self, as_manager: httpx.AsyncClient, anonymous: httpx.AsyncClient
    ) -> None:
        response = await as_manager.post(
            "/v1/users",
            json={
                "email": "Nova@Acme.Example.com",
                "name": "Nova Corretora",
                "role": "broker",
                "password": "senha-forte-123",
            },
        )
        assert response.status_code == 201, response.text
        assert response.json()["email"] == "nova@acme.example.com"
        assert "password" not in response.text
        login = await anonymous.post(
            "/v1/auth/login", json={"email": "nova@acme.example.com", "password": "senha-forte-123"}
        )
        assert login.status_code == 200

    async def test_a_manager_cannot_make_an_owner(self, as_manager: httpx.AsyncClient) -> None:
        response = await as_manager.post(
            "/v1/users", json={"email": "x@acme.example.com", "name": "X", "role": "owner"}
        )
        assert response.status_code == 403

    async def test_a_broker_cannot_create_users(self, as_broker: httpx.AsyncClient) -> None:
        response = await as_broker.post(
            "/v1/users", json={"email": "x@acme.example.com", "name": "X", "role": "broker"}
        )
        assert response.status_code == 403

    async def test_a_viewer_reads_but_never_writes(self, as_viewer: httpx.AsyncClient) -> None:
        assert (await as_viewer.get("/v1/users")).status_code == 200
        response = await as_viewer.post("/v1/teams", json={"name": "Nova"})
        assert response.status_code == 403

    async def test_a_duplicate_email_is_a_conflict(self, as_manager: httpx.AsyncClient, broker: User) -> None:
        response = await as_manager.post("/v1/users", json={"email": broker.email, "name": "Dup", "role": "broker"})
        assert response.status_code == 409

    async def test_deleting_is_soft_audited_and_restorable(self, as_manager: httpx.AsyncClient, broker: User) -> None:
        assert (await as_manager.delete(f"/v1/users/{broker.id}")).status_code == 204
        assert (await as_manager.get(f"/v1/users/{broker.id}")).status_code == 404
        listed = (await as_manager.get("/v1/users")).json()["items"]
        assert str(broker.id) not in {u["id"] for u in listed}
        restored = await as_manager.post(f"/v1/users/{broker.id}/restore")
        assert restored.status_code == 200
        assert restored.json()["deleted_at"] is None
        audit = (await as_manager.get("/v1/audit", params={"entity_id": str(broker.id)})).json()["items"]
        assert [e["action"] for e in audit][:2] == ["restore", "delete"]

    async def test_the_last_owner_cannot_be_demoted(self, as_owner: httpx.AsyncClient, owner: User) -> None:
        response = await as_owner.patch(f"/v1/users/{owner.id}", json={"role": "manager"})
        assert response.status_code == 422

    async def test_a_manager_cannot_deactivate_themselves(self, as_manager: httpx.AsyncClient, manager: User) -> None:
        response = await as_manager.patch(f"/v1/users/{manager.id}", json={"is_active": False})
        assert response.status_code == 422, response.text
        assert (await as_manager.get("/v1/me")).status_code == 200

    async def test_lists_filter_by_role_and_paginate(
        self, as_manager: httpx.AsyncClient, manager: User, broker: User
    ) -> None:
        brokers = (await as_manager.get("/v1/users", params={"role": "broker"})).json()["items"]
        assert [u["id"] for u in brokers] == [str(broker.id)]
        first = (await as_manager.get("/v1/users", params={"limit": 1})).json()
        assert len(first["items"]) == 1
        second = (await as_manager.get("/v1/users", params={"limit": 1, "cursor": first["next_cursor"]})).json()
        assert second["items"][0]["id"] != first["items"][0]["id"]


class TestTeams:
    async def test_a_team_is_created_with_members_and_edited(
        self, as_manager: httpx.AsyncClient, broker: User, manager: User
    ) -> None:
        team = (await as_manager.post("/v1/teams", json={"name": "Vendas", "member_ids": [str(broker.id)]})).json()
        assert team["member_ids"] == [str(broker.id)]
        assert (await as_manager.put(f"/v1/teams/{team['id']}/members/{manager.id}")).status_code == 204
        members = (await as_manager.get(f"/v1/teams/{team['id']}")).json()["member_ids"]
        assert set(members) == {str(broker.id), str(manager.id)}
        assert (await as_manager.delete(f"/v1/teams/{team['id']}/members/{broker.id}")).status_code == 204
        renamed = await as_manager.patch(f"/v1/teams/{team['id']}", json={"name": "Locação"})
        assert renamed.json()["name"] == "Locação"

    async def test_me_lists_the_users_teams(self, as_manager: httpx.AsyncClient, manager: User) -> None:
        team = (await as_manager.post("/v1/teams", json={"name": "Gestão", "member_ids": [str(manager.id)]})).json()
        assert (await as_manager.get("/v1/me")).json()["team_ids"] == [team["id"]]


class TestApiKeys:
    async def test_a_secret_key_is_shown_once_and_authenticates_with_its_scopes(
        self, as_manager: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = (await as_manager.post("/v1/api-keys", json={"name": "ERP", "scopes": ["read"]})).json()
        secret = created["key"]
        listed = (await as_manager.get("/v1/api-keys")).text
        assert secret not in listed
        headers = {"Authorization": f"Bearer {secret}"}
        assert (await as_manager.get("/v1/users", headers=headers)).status_code == 200
        assert (await as_manager.post("/v1/teams", json={"name": "X"}, headers=headers)).status_code == 403
        me = (await as_manager.get("/v1/me", headers=headers)).json()
        assert me["api_key"]["name"] == "ERP"

    async def test_a_revoked_key_stops_working(self, as_manager: httpx.AsyncClient) -> None:
        created = (await as_manager.post("/v1/api-keys", json={"name": "Temp", "scopes": ["read"]})).json()
        assert (await as_manager.delete(f"/v1/api-keys/{created['id']}")).json()["revoked_at"] is not None
        response = await as_manager.get("/v1/users", headers={"Authorization": f"Bearer {created['key']}"})
        assert response.status_code == 401

    async def test_unknown_scopes_are_refused(self, as_manager: httpx.AsyncClient) -> None:
        response = await as_manager.post("/v1/api-keys", json={"name": "X", "scopes": ["root"]})
        assert response.status_code == 422


class TestRoles:
    async def test_every_role_value_is_known(self) -> None:
        assert {r.value for r in Role} == {"owner", "manager", "broker", "viewer"}
