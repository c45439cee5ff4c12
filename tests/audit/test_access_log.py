"""The minimal access log (Marco Civil art. 15): one row per authenticated API request with date and time, IP,
user or key, and route, written with the request's own commit. Public ingestion with write keys is not logged
here (each stored event keeps its own IP)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import AccessLogEntry, ApiKeyKind, Tenant, User
from tests import factories
from tests.capture.factories import site


async def access_log(db: Database, tenant: Tenant) -> list[AccessLogEntry]:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        return list((await session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.at))).all())


async def test_an_authenticated_request_records_when_who_and_from_where(
    db: Database, tenant: Tenant, manager: User, as_manager: httpx.AsyncClient
) -> None:
    before = len(await access_log(db, tenant))  # signing in was itself a request

    assert (await as_manager.get("/v1/audit")).status_code == 200

    entries = (await access_log(db, tenant))[before:]
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.actor_type, entry.actor_id) == ("user", manager.id)
    assert (entry.method, entry.route) == ("GET", "/v1/audit")
    assert entry.ip == "127.0.0.1"
    assert utcnow() - entry.at < timedelta(minutes=1)
    assert entry.request_id


async def test_each_request_is_one_entry_however_many_queries_it_makes(
    db: Database, tenant: Tenant, as_manager: httpx.AsyncClient
) -> None:
    before = len(await access_log(db, tenant))

    for _ in range(3):
        assert (await as_manager.get("/v1/leads")).status_code == 200

    assert len(await access_log(db, tenant)) - before == 3


async def test_a_secret_key_request_is_logged_with_its_key(app: FastAPI, db: Database, tenant: Tenant) -> None:
    key, secret = await factories.make_key(db, tenant, scopes=["read"])

    async with factories.client(app, tenant, token=secret) as client:
        assert (await client.get("/v1/leads")).status_code == 200

    [entry] = await access_log(db, tenant)
    assert (entry.actor_type, entry.actor_id) == ("api_key", key.id)


async def test_ingestion_with_a_write_key_writes_no_access_entry(app: FastAPI, db: Database, tenant: Tenant) -> None:
    _, write_key = await factories.make_key(db, tenant, kind=ApiKeyKind.WRITE)
    track = {"type": "track", "event": "Viewed", "anonymousId": "a-1", "messageId": "m-1"}

    async with site(app, tenant, write_key) as client:
        assert (await client.post("/v1/track", json=track)).status_code == 200

    assert await access_log(db, tenant) == []


async def test_another_tenants_requests_are_not_in_this_tenants_log(
    db: Database, tenant: Tenant, other_tenant: Tenant, as_manager: httpx.AsyncClient
) -> None:
    await as_manager.get("/v1/leads")

    assert await access_log(db, other_tenant) == []
