"""The settings API (``/v1/integrations``), the webhook receiver (``/hooks/<provider>/<key>``) and sending from a
lead (``/v1/leads/{id}/whatsapp``). The tenant is the host's; a connection key of another tenant is a 404."""

from __future__ import annotations

import json
import uuid

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import PlainTextResponse

from leadflow.integrations import inbound, messaging, service
from leadflow.integrations.auth import ChannelWrite, IntegrationsAdmin
from leadflow.integrations.credentials import key_ring
from leadflow.integrations.schemas import (
    ConnectionCreate,
    ConnectionHealth,
    ConnectionRead,
    ConnectionTestResult,
    ConnectionUpdate,
    ProviderRead,
    WhatsAppSend,
    WhatsAppSent,
)
from leadflow.kit.errors import Forbidden, PayloadTooLarge
from leadflow.kit.scope import get_scope
from leadflow.kit.sealing import KeyRing
from leadflow.kit.time import utcnow
from leadflow.kit.web import DbSession, UnitOfWorkRoute, request_info
from leadflow.sync import service as sync
from leadflow.tenant.dependencies import CurrentTenant

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute, tags=["integrations"])
hooks = APIRouter(prefix="/hooks", route_class=UnitOfWorkRoute, tags=["webhooks"])
MAX_HOOK_BYTES = 1024 * 1024


def _ring(request: Request) -> KeyRing:
    return key_ring(request.app.state.settings)


@router.get("/integrations/providers", summary="Providers (channels and CRMs), their capabilities and settings schema")
async def list_providers(scope: IntegrationsAdmin) -> list[ProviderRead]:
    return [*service.list_providers(), *sync.crm_providers()]


@router.get("/integrations", summary="The tenant's connections (secrets are never returned)")
async def list_connections(scope: IntegrationsAdmin, session: DbSession, request: Request) -> list[ConnectionRead]:
    ring = _ring(request)
    return [service.read_connection(c, ring) for c in await service.list_connections(session, scope)]


@router.post("/integrations", summary="Connect a provider", status_code=status.HTTP_201_CREATED)
async def connect(
    body: ConnectionCreate, scope: IntegrationsAdmin, session: DbSession, request: Request
) -> ConnectionRead:
    ring = _ring(request)
    return service.read_connection(await service.connect(session, scope, data=body, ring=ring), ring)


@router.get("/integrations/{connection_id}", summary="One connection")
async def get_connection(
    connection_id: uuid.UUID, scope: IntegrationsAdmin, session: DbSession, request: Request
) -> ConnectionRead:
    connection = await service.get_connection(session, scope, connection_id=connection_id)
    return service.read_connection(connection, _ring(request))


@router.patch("/integrations/{connection_id}", summary="Change a connection (secrets left out are kept)")
async def update_connection(
    connection_id: uuid.UUID, body: ConnectionUpdate, scope: IntegrationsAdmin, session: DbSession, request: Request
) -> ConnectionRead:
    ring = _ring(request)
    connection = await service.update_connection(session, scope, connection_id=connection_id, data=body, ring=ring)
    return service.read_connection(connection, ring)


@router.post("/integrations/{connection_id}/test", summary="Check the credentials with the provider")
async def test_connection(
    connection_id: uuid.UUID, scope: IntegrationsAdmin, session: DbSession, request: Request
) -> ConnectionTestResult:
    return await service.test_connection(session, scope, connection_id=connection_id, ring=_ring(request))


@router.get("/integrations/{connection_id}/health", summary="Last success, last error and backlog")
async def connection_health(connection_id: uuid.UUID, scope: IntegrationsAdmin, session: DbSession) -> ConnectionHealth:
    return await service.health(session, scope, connection_id=connection_id)


@router.delete(
    "/integrations/{connection_id}", summary="Disconnect (secrets destroyed)", status_code=status.HTTP_204_NO_CONTENT
)
async def disconnect(connection_id: uuid.UUID, scope: IntegrationsAdmin, session: DbSession) -> Response:
    await service.disconnect(session, scope, connection_id=connection_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/leads/{lead_id}/whatsapp", summary="Send a WhatsApp text (24-hour window) or template to the lead")
async def send_whatsapp(
    lead_id: uuid.UUID, body: WhatsAppSend, scope: ChannelWrite, session: DbSession, request: Request
) -> WhatsAppSent:
    return await messaging.send_whatsapp(session, scope, lead_id=lead_id, data=body, ring=_ring(request))


# Webhooks


@hooks.get(
    "/{provider}/{key}", summary="A provider's URL check (Meta: hub.challenge)", response_class=PlainTextResponse
)
async def verify_hook(provider: str, key: str, request: Request, tenant: CurrentTenant, session: DbSession) -> Response:
    scope = get_scope(session.sync_session)
    assert scope is not None
    query = dict(request.query_params)
    answer = await inbound.handshake(session, scope, provider_name=provider, key=key, query=query, ring=_ring(request))
    if answer is None:
        raise Forbidden("the verify token does not match")
    return PlainTextResponse(answer)


@hooks.post("/{provider}/{key}", summary="A provider's delivery: verified, stored, answered; processed on the bus")
async def receive_hook(
    provider: str, key: str, request: Request, tenant: CurrentTenant, session: DbSession
) -> Response:
    scope = get_scope(session.sync_session)
    assert scope is not None
    raw = await request.body()
    if len(raw) > MAX_HOOK_BYTES:
        raise PayloadTooLarge(f"the body exceeds {MAX_HOOK_BYTES} bytes")
    info = request_info(request)
    arrival = inbound.Arrival(
        received_at=utcnow(), ip=info["ip"], user_agent=info["user_agent"], headers=request.headers
    )
    received = await inbound.receive(
        session, scope, provider_name=provider, key=key, raw=raw, arrival=arrival, ring=_ring(request)
    )
    body = {"received": True, "duplicate": received.duplicate, "event_id": str(received.event_id)}
    return Response(content=json.dumps(body), media_type="application/json", status_code=status.HTTP_200_OK)
