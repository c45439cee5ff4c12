"""Owners and managers see what came in and why something was refused; nobody sees another tenant's log."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from leadflow.kit.db import Database
from leadflow.models import ApiKey, ApiKeyKind, Role, Tenant
from tests import factories
from tests.capture.factories import site, track


async def _send(client: httpx.AsyncClient) -> None:
    no_name = track()
    del no_name["event"]
    batch = [track(), track(type="page", anonymousId="trk_outro"), no_name]
    assert (await client.post("/v1/batch", json={"batch": batch})).status_code == 200


class TestListingEvents:
    async def test_a_manager_lists_events_newest_first_and_filters_them(
        self, segment: httpx.AsyncClient, as_manager: httpx.AsyncClient
    ) -> None:
        await _send(segment)
        items = (await as_manager.get("/v1/events")).json()["items"]
        assert sorted(e["type"] for e in items) == ["page", "track"]
        pages = (await as_manager.get("/v1/events", params={"type": "page"})).json()["items"]
        assert [e["tracking_id"] for e in pages] == ["trk_outro"]
        by_tracking = await as_manager.get("/v1/events", params={"tracking_id": "trk_outro", "source": "segment"})
        assert len(by_tracking.json()["items"]) == 1
        later = await as_manager.get("/v1/events", params={"received_from": "2099-01-01T00:00:00Z"})
        assert later.json()["items"] == []

    async def test_events_paginate_by_received_time(
        self, segment: httpx.AsyncClient, as_manager: httpx.AsyncClient
    ) -> None:
        for _ in range(3):
            await segment.post("/v1/track", json=track())
        first = (await as_manager.get("/v1/events", params={"limit": 2})).json()
        second = (await as_manager.get("/v1/events", params={"limit": 2, "cursor": first["next_cursor"]})).json()
        ids = [e["id"] for e in first["items"] + second["items"]]
        assert len(ids) == len(set(ids)) == 3
        assert second["next_cursor"] is None
        assert first["items"][0]["received_at"] >= second["items"][0]["received_at"]

    async def test_a_manager_sees_rejected_events_with_reason_and_raw(
        self, segment: httpx.AsyncClient, as_manager: httpx.AsyncClient
    ) -> None:
        await _send(segment)
        [rejected] = (await as_manager.get("/v1/rejected-events")).json()["items"]
        assert rejected["failure_type"] == "schema_violation"
        assert "event name" in rejected["failure"][0]["message"]
        assert '"type": "track"' in rejected["raw"]
        filtered = await as_manager.get("/v1/rejected-events", params={"failure_type": "malformed_json"})
        assert filtered.json()["items"] == []

    async def test_an_owner_reads_the_log_too(self, segment: httpx.AsyncClient, as_owner: httpx.AsyncClient) -> None:
        await _send(segment)
        assert len((await as_owner.get("/v1/events")).json()["items"]) == 2

    async def test_a_broker_cannot_read_the_log(self, as_broker: httpx.AsyncClient) -> None:
        assert (await as_broker.get("/v1/events")).status_code == 403
        assert (await as_broker.get("/v1/rejected-events")).status_code == 403

    async def test_a_write_key_cannot_read_the_log(self, segment: httpx.AsyncClient) -> None:
        assert (await segment.get("/v1/events")).status_code in {401, 403}


class TestTenancy:
    async def test_another_tenant_never_sees_these_rows(
        self, app: FastAPI, db: Database, segment: httpx.AsyncClient, other_tenant: Tenant
    ) -> None:
        await _send(segment)
        rival = await factories.make_user(db, other_tenant, role=Role.OWNER, email="dona@rival.example.com")
        async with factories.logged_in(app, other_tenant, rival) as as_rival:
            assert (await as_rival.get("/v1/events")).json()["items"] == []
            assert (await as_rival.get("/v1/rejected-events")).json()["items"] == []

    async def test_the_same_message_id_in_two_tenants_is_two_events(
        self, app: FastAPI, db: Database, segment: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        event = track()
        _, rival_key = await factories.make_key(db, other_tenant, kind=ApiKeyKind.WRITE)
        assert (await segment.post("/v1/track", json=event)).json()["accepted"] == 1
        async with site(app, other_tenant, rival_key) as rival_site:
            assert (await rival_site.post("/v1/track", json=event)).json()["accepted"] == 1

    async def test_the_managers_token_of_another_tenant_is_404_here(
        self, app: FastAPI, db: Database, tenant: Tenant, other_tenant: Tenant, write_key: tuple[ApiKey, str]
    ) -> None:
        rival = await factories.make_user(db, other_tenant, role=Role.OWNER, email="dona@rival.example.com")
        token = (await factories.login(app, other_tenant, rival.email))["access_token"]
        async with factories.client(app, tenant, token=token) as client:
            assert (await client.get("/v1/events")).status_code == 404
            assert (await client.post("/v1/batch", json={"batch": [track()]})).status_code == 404
