"""The data-subject request inbox (LGPD art. 18 and 19): each request carries its 15-day clock from receipt, the
list shows what is due and overdue, a request closes once with its outcome; owners and managers only, and each
tenant sees its own requests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from leadflow.kit.db import Database
from leadflow.kit.time import utcnow
from leadflow.models import Role, Tenant
from tests import factories


async def _open(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v1/privacy/requests", json={"kind": "access", **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


class TestOpeningARequest:
    async def test_the_answer_is_due_fifteen_days_after_the_subject_asked(self, as_manager: httpx.AsyncClient) -> None:
        asked = utcnow() - timedelta(days=3)
        request = await _open(as_manager, kind="portability", received_at=asked.isoformat(), channel="email")
        assert request["status"] == "open"
        assert request["due_at"].startswith((asked + timedelta(days=15)).date().isoformat())
        assert (request["overdue"], request["days_left"]) == (False, 11)

    async def test_a_request_past_its_due_date_is_overdue(self, as_manager: httpx.AsyncClient) -> None:
        request = await _open(as_manager, received_at=(utcnow() - timedelta(days=16)).isoformat())
        assert request["overdue"] is True
        assert request["days_left"] == -1

    async def test_it_may_name_the_subject_of_the_tenant(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        mine = await factories.make_person(db, tenant)
        theirs = await factories.make_person(db, other_tenant)
        assert (await _open(as_manager, kind="deletion", person_id=str(mine.id)))["person_id"] == str(mine.id)
        response = await as_manager.post("/v1/privacy/requests", json={"kind": "access", "person_id": str(theirs.id)})
        assert response.status_code == 404

    async def test_every_right_of_article_18_is_a_kind(self, as_manager: httpx.AsyncClient) -> None:
        kinds = ["access", "portability", "correction", "anonymisation", "deletion", "consent_withdrawal"]
        assert [(await _open(as_manager, kind=k))["kind"] for k in kinds] == kinds
        response = await as_manager.post("/v1/privacy/requests", json={"kind": "everything"})
        assert response.status_code == 422


class TestTheInbox:
    async def test_lists_the_earliest_due_first_and_filters_by_status(self, as_manager: httpx.AsyncClient) -> None:
        recent = await _open(as_manager)
        older = await _open(as_manager, received_at=(utcnow() - timedelta(days=10)).isoformat())
        await as_manager.post(f"/v1/privacy/requests/{recent['id']}/close", json={"outcome": "fulfilled"})
        everything = (await as_manager.get("/v1/privacy/requests")).json()["items"]
        assert [r["id"] for r in everything] == [older["id"], recent["id"]]
        still_open = (await as_manager.get("/v1/privacy/requests", params={"status": "open"})).json()["items"]
        assert [r["id"] for r in still_open] == [older["id"]]


class TestClosingARequest:
    async def test_records_the_outcome_and_stops_the_clock(self, as_manager: httpx.AsyncClient) -> None:
        request = await _open(as_manager, received_at=(utcnow() - timedelta(days=20)).isoformat())
        body = {"outcome": "refused", "note": "Identidade não confirmada"}
        closed = (await as_manager.post(f"/v1/privacy/requests/{request['id']}/close", json=body)).json()
        assert (closed["status"], closed["outcome"], closed["outcome_note"]) == ("closed", "refused", body["note"])
        assert closed["closed_at"] is not None
        assert closed["overdue"] is False

    async def test_a_closed_request_cannot_be_closed_again(self, as_manager: httpx.AsyncClient) -> None:
        request = await _open(as_manager)
        url = f"/v1/privacy/requests/{request['id']}/close"
        assert (await as_manager.post(url, json={"outcome": "fulfilled"})).status_code == 200
        assert (await as_manager.post(url, json={"outcome": "refused"})).status_code == 409


class TestWhoSeesTheInbox:
    async def test_an_owner_may(self, as_owner: httpx.AsyncClient) -> None:
        await _open(as_owner)
        assert len((await as_owner.get("/v1/privacy/requests")).json()["items"]) == 1

    async def test_brokers_and_viewers_may_not(
        self, as_broker: httpx.AsyncClient, as_viewer: httpx.AsyncClient
    ) -> None:
        for client in (as_broker, as_viewer):
            assert (await client.get("/v1/privacy/requests")).status_code == 403
            assert (await client.post("/v1/privacy/requests", json={"kind": "access"})).status_code == 403

    async def test_another_tenant_neither_lists_nor_closes_them(
        self, app: FastAPI, as_manager: httpx.AsyncClient, db: Database, other_tenant: Tenant
    ) -> None:
        request = await _open(as_manager)
        rival = await factories.make_user(db, other_tenant, role=Role.MANAGER, email="gestor@rival.example.com")
        async with factories.logged_in(app, other_tenant, rival) as as_rival:
            assert (await as_rival.get("/v1/privacy/requests")).json()["items"] == []
            url = f"/v1/privacy/requests/{request['id']}/close"
            assert (await as_rival.post(url, json={"outcome": "fulfilled"})).status_code == 404
        assert (await as_manager.get("/v1/privacy/requests")).json()["items"][0]["status"] == "open"
