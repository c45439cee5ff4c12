"""Connections of the test tenant (through the settings API), signed WhatsApp deliveries, portal posts, and a
fake Graph API on loopback."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from leadflow.config import Settings
from leadflow.integrations import credentials, intake
from leadflow.integrations import graph as graph_module
from leadflow.integrations.metahooks import signature_of
from leadflow.kit.db import Database
from leadflow.models import Property, Tenant
from tests import factories
from tests.integrations.fakes.graph import FakeGraph
from tests.pipeline.conftest import SalesTeam, as_sales_manager, clock, drain_now, sales, worker

__all__ = ["as_sales_manager", "clock", "drain_now", "sales", "worker"]

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
PHONE_NUMBER_ID = "100000000000001"
ZAP_USER, ZAP_PASSWORD = "acme-zap", "acme-zap-secret"


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph().start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def handlers_use_test_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bus handlers read the process settings (key ring, storage): in tests, the app's, with loopback let
    through the SSRF guard (the fake Graph API listens on 127.0.0.1)."""
    settings.webhooks_allow_loopback = True
    monkeypatch.setattr(credentials, "get_settings", lambda: settings)
    monkeypatch.setattr(intake, "get_settings", lambda: settings)
    monkeypatch.setattr(graph_module, "get_settings", lambda: settings)


def whatsapp_settings(graph: FakeGraph | None = None, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "phone_number_id": PHONE_NUMBER_ID,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
    }
    if graph is not None:
        values |= {"graph_base_url": graph.base_url, "access_token": graph.token}
    return values | overrides


async def connect(
    client: httpx.AsyncClient, provider: str, key: str, settings: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    body = {"provider": provider, "key": key, "name": f"{provider} {key}", "settings": settings, **extra}
    response = await client.post("/v1/integrations", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest_asyncio.fixture
async def whatsapp(as_sales_manager: httpx.AsyncClient, sales: SalesTeam, graph: FakeGraph) -> dict[str, Any]:
    """The tenant's WhatsApp number, routed to the sales team's roleta."""
    return await connect(
        as_sales_manager, "whatsapp", "acme-whatsapp", whatsapp_settings(graph), team_id=str(sales.team.id)
    )


@pytest_asyncio.fixture
async def zap(as_sales_manager: httpx.AsyncClient, sales: SalesTeam) -> dict[str, Any]:
    settings = {"username": ZAP_USER, "password": ZAP_PASSWORD}
    return await connect(as_sales_manager, "zap", "acme-zap", settings, team_id=str(sales.team.id))


@pytest_asyncio.fixture
async def listing(db: Database, tenant: Tenant, sales: SalesTeam) -> Property:
    """AP-0001, taken by the second broker (its captador)."""
    return await factories.make_property(db, tenant, reference="AP-0001", listing_broker_id=sales.brokers[1].id)


def text_message(
    *,
    wamid: str = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjA0",
    wa_id: str = "5511987654321",
    text: str = "Olá!",
    name: str = "Maria Silva",
    referral: dict[str, Any] | None = None,
    **message: Any,
) -> dict[str, Any]:
    """A WhatsApp Cloud API notification with one inbound message (contracts §3.2)."""
    item: dict[str, Any] = {
        "from": wa_id,
        "id": wamid,
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": text},
    }
    if referral is not None:
        item["referral"] = referral
    item |= message
    return notification({"contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [item]})


def status_update(wamid: str, status: str, **extra: Any) -> dict[str, Any]:
    item = {"id": wamid, "status": status, "timestamp": "1746365210", "recipient_id": "5511987654321", **extra}
    return notification({"statuses": [item]})


def notification(value: dict[str, Any]) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "551140028922", "phone_number_id": PHONE_NUMBER_ID},
        **value,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
    }


async def deliver(
    client: httpx.AsyncClient,
    body: dict[str, Any] | bytes,
    *,
    key: str = "acme-whatsapp",
    secret: str = APP_SECRET,
    provider: str = "whatsapp",
) -> httpx.Response:
    """POST a delivery signed as Meta signs it: HMAC-SHA256 of the exact bytes sent."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json", "x-hub-signature-256": signature_of(secret, raw)}
    return await client.post(f"/hooks/{provider}/{key}", content=raw, headers=headers)


def portal_lead(origin_lead_id: str = "6637a1f2e4b0c3d1a2b3c4d5", **fields: Any) -> dict[str, Any]:
    """A Grupo ZAP/OLX lead (contracts §6.1)."""
    return {
        "leadOrigin": "Grupo OLX",
        "timestamp": "2026-05-04T13:31:02.619Z",
        "originLeadId": origin_lead_id,
        "originListingId": "2712345678",
        "clientListingId": "AP-0001",
        "name": "João Pereira",
        "email": "joao.pereira@example.com",
        "ddd": "11",
        "phone": "987650001",
        "phoneNumber": "11987650001",
        "message": "Olá, tenho interesse neste imóvel.",
        "temperature": "Alta",
        "transactionType": "SELL",
        "extraData": {"leadType": "CONTACT_CHAT"},
        **fields,
    }


def basic(user: str = ZAP_USER, password: str = ZAP_PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {token}"}


async def post_portal_lead(
    client: httpx.AsyncClient, body: dict[str, Any], *, key: str = "acme-zap", headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post(f"/hooks/zap/{key}", json=body, headers=headers if headers is not None else basic())
