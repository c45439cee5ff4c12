"""Segment-style events, write-key clients and row counts for the capture tests."""

from __future__ import annotations

import base64
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from leadflow.capture.sealing import OpenedEvent, open_events, open_rejected_raw
from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.models import ApiKey, Event, RejectedEvent, Tenant
from tests import factories

_seq = itertools.count(1)


def basic(write_key: str) -> dict[str, str]:
    """What Segment SDKs send: the write key as the HTTP Basic user, with an empty password."""
    return {"Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()}


def track(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    event: dict[str, Any] = {
        "type": "track",
        "messageId": f"ajs-next-{n:08d}",
        "anonymousId": "trk_01HZX5R8Q2W9K3M7N4P6T1V0Y2",
        "event": "Formulário enviado",
        "properties": {"imovel": "AP-1024", "nome": "Maria Silva"},
        "context": {
            "campaign": {"source": "facebook", "medium": "paid", "name": "aurora-lancamento"},
            "page": {"url": "https://aurora.exemplo.com.br/residencial-aurora", "referrer": "https://l.facebook.com/"},
            "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)",
        },
        "timestamp": "2026-05-04T13:21:07.412Z",
    }
    event.update(overrides)
    return event


@asynccontextmanager
async def site(app: FastAPI, tenant: Tenant, write_key: str, **headers: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    base_url = f"http://{factories.host_of(tenant)}"
    async with httpx.AsyncClient(transport=transport, base_url=base_url, headers={**basic(write_key), **headers}) as c:
        yield c


async def counts(db: Database, tenant: Tenant) -> tuple[int, int]:
    """(events, rejected events) stored for the tenant."""
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        events = (await session.execute(select(func.count(Event.id)))).scalar_one()
        rejected = (await session.execute(select(func.count(RejectedEvent.id)))).scalar_one()
    return events, rejected


async def events_of(db: Database, tenant: Tenant) -> list[Event]:
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        return list((await session.execute(select(Event).order_by(Event.message_id))).scalars())


async def opened_of(db: Database, tenant: Tenant) -> list[OpenedEvent]:
    """The tenant's events as every reader sees them: payloads opened (``capture.sealing``)."""
    scope = Scope.for_tenant(tenant.id)
    async with db.session(scope) as session:
        events = list((await session.execute(select(Event).order_by(Event.message_id))).scalars())
        return await open_events(session, scope, events)


async def rejected_of(db: Database, tenant: Tenant) -> list[RejectedEvent]:
    """The tenant's rejected input with each raw body opened, as the inspection endpoint shows it (detached rows:
    the stored body stays sealed)."""
    scope = Scope.for_tenant(tenant.id)
    async with db.session(scope) as session:
        rows = list((await session.execute(select(RejectedEvent).order_by(RejectedEvent.created_at))).scalars())
        raws = await open_rejected_raw(session, scope, rows)
        session.expunge_all()
    for row, raw in zip(rows, raws, strict=True):
        row.raw = raw
    return rows


async def allow_origins(db: Database, tenant: Tenant, key: ApiKey, origins: list[str]) -> None:
    async with db.session(factories.owner_scope(tenant)) as session:
        stored = await session.get_one(ApiKey, key.id)
        stored.allowed_origins = origins


async def revoke(db: Database, tenant: Tenant, key: ApiKey) -> None:
    async with db.session(factories.owner_scope(tenant)) as session:
        stored = await session.get_one(ApiKey, key.id)
        stored.revoked_at = stored.created_at
