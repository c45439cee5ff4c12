"""Operações: the bus queues and their lag, dead letters with retry, rejected input with its reasons, the
replay of conversions through the current rules (a dry run that shows the diff, then the same request applied),
the health of every integration with a "test the connection" action, and the partner-webhook deliveries with
redelivery."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.capture import service as capture
from leadflow.capture.schemas import RejectedEventRead
from leadflow.console.auth import ConsolePage, ManagerPage
from leadflow.console.web import ConsoleRoute, render
from leadflow.integrations import service as integrations
from leadflow.integrations.base import Capability
from leadflow.integrations.credentials import key_ring
from leadflow.integrations.schemas import ConnectionTestResult
from leadflow.kit.errors import ValidationFailed
from leadflow.kit.time import utcnow
from leadflow.kit.web import DbSession
from leadflow.models import ConnectionStatus, CrmConnection, DeliveryStatus, IntegrationConnection
from leadflow.ops import service as ops
from leadflow.ops.schemas import DeadLetterRead
from leadflow.pipeline import replay
from leadflow.pipeline.schemas import ReplayReport, ReplayRequest
from leadflow.sync import service as sync
from leadflow.sync.schemas import CrmConnectionRead
from leadflow.webhook import service as webhooks

router = APIRouter(prefix="/app/operacoes", route_class=ConsoleRoute, include_in_schema=False)
TESTABLE_CHANNELS = frozenset(
    p.name for p in integrations.list_providers() if Capability.CONNECTION_TEST.value in p.capabilities
)


Health = Literal["ok", "failing", "never", "disabled"]


@dataclass(frozen=True, slots=True)
class IntegrationHealth:
    """One row of the health table: an inbound channel connection or a CRM sync, as a manager reads it."""

    kind: Literal["channel", "crm"]
    provider: str
    name: str
    health: Health
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    backlog: int
    test_action: str | None = None  # where the console's "test" button posts; None: the provider calls us


def _channel_health(connection: IntegrationConnection, backlog: int) -> IntegrationHealth:
    if connection.status is ConnectionStatus.FAILING:
        health: Health = "failing"
    else:
        health = "never" if connection.last_success_at is None else "ok"
    testable = connection.provider in TESTABLE_CHANNELS
    return IntegrationHealth(
        "channel",
        connection.provider,
        connection.name,
        health,
        connection.last_success_at,
        connection.last_error_at,
        connection.last_error,
        backlog,
        f"/app/operacoes/integracoes/{connection.id}/testar" if testable else None,
    )


def _crm_health(connection: CrmConnection, backlog: int) -> IntegrationHealth:
    read = CrmConnectionRead.model_validate(connection)
    if not read.enabled:
        health: Health = "disabled"
    elif not read.healthy:
        health = "failing"
    else:
        health = "never" if read.last_success_at is None else "ok"
    return IntegrationHealth(
        "crm",
        read.provider,
        read.provider,
        health,
        read.last_success_at,
        read.last_error_at,
        read.last_error,
        backlog,
        f"/app/operacoes/crm/{read.provider}/testar",
    )


async def _integrations(session: AsyncSession, page: ConsolePage) -> list[IntegrationHealth]:
    inbound = await integrations.backlog(session, page.scope)
    pushes = await sync.backlog(session, page.scope)
    rows = [_channel_health(c, inbound) for c in await integrations.list_connections(session, page.scope)]
    rows += [_crm_health(c, pushes) for c in await sync.list_connections(session, page.scope)]
    return rows


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    status: DeliveryStatus | None = None
    endpoint_id: uuid.UUID | None = None

    @classmethod
    def parse(cls, status: str, endpoint: str) -> DeliveryFilter:
        try:
            return cls(DeliveryStatus(status) if status else None, uuid.UUID(endpoint) if endpoint else None)
        except ValueError as exc:
            raise ValidationFailed("invalid filter: delivery status or endpoint") from exc


async def _render(
    request: Request,
    page: ConsolePage,
    session: AsyncSession,
    *,
    report: ReplayReport | None = None,
    asked: dict[str, str] | None = None,
    deliveries: DeliveryFilter | None = None,
) -> Response:
    queues = await ops.queue_depths(session, page.scope)
    dead, _ = await ops.list_dead_letters(session, page.scope, cursor=None, limit=50)
    rejected, _ = await capture.list_rejected_events(
        session,
        page.scope,
        cursor=None,
        limit=20,
        failure_type=None,
        source=None,
        message_id=None,
        received_from=None,
        received_to=None,
    )
    shown = deliveries or DeliveryFilter()
    return render(
        request,
        "operacoes.html",
        page=page,
        nav="operacoes",
        queues=queues,
        dead=[DeadLetterRead.model_validate(m) for m in dead],
        rejected=[RejectedEventRead.model_validate(r) for r in rejected],
        report=report,
        asked=asked or {},
        integrations=await _integrations(session, page),
        endpoints={e.id: e for e in await webhooks.list_endpoints(session, page.scope)},
        deliveries=await webhooks.recent_deliveries(
            session, page.scope, status=shown.status, endpoint_id=shown.endpoint_id, limit=50
        ),
        delivery_filter=shown,
        redelivered=request.query_params.get("redelivered", ""),
        tested=request.query_params.get("teste", ""),
    )


@router.get("")
async def operations(
    request: Request,
    page: ManagerPage,
    session: DbSession,
    delivery_status: Annotated[str, Query(max_length=16)] = "",
    endpoint: Annotated[str, Query(max_length=36)] = "",
) -> Response:
    return await _render(request, page, session, deliveries=DeliveryFilter.parse(delivery_status, endpoint))


@router.post("/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(endpoint_id: uuid.UUID, delivery_id: uuid.UUID, page: ManagerPage, session: DbSession) -> Response:
    """One more attempt now, through the same service as the API's redelivery (a disabled endpoint refuses)."""
    await webhooks.redeliver(session, page.scope, endpoint_id=endpoint_id, delivery_id=delivery_id)
    return RedirectResponse(f"/app/operacoes?redelivered={delivery_id}#deliveries", status_code=303)


@router.post("/integracoes/{connection_id}/testar")
async def test_channel(connection_id: uuid.UUID, request: Request, page: ManagerPage, session: DbSession) -> Response:
    """Ask the provider whether the credentials work (integrations.service, as ``POST /v1/integrations/{id}/test``);
    a refusal shows as the connection's last error."""
    ring = key_ring(request.app.state.settings)
    result = await integrations.test_connection(session, page.scope, connection_id=connection_id, ring=ring)
    return _tested(result)


@router.post("/crm/{provider}/testar")
async def test_crm(provider: str, request: Request, page: ManagerPage, session: DbSession) -> Response:
    """Ask the CRM whether the token and the id field work (sync.service, as ``POST /v1/sync/{provider}/test``)."""
    config = sync.SyncConfig.from_settings(request.app.state.settings)
    result = await sync.test_connection(session, page.scope, provider=provider[:32], config=config, now=utcnow())
    return _tested(result)


def _tested(result: ConnectionTestResult) -> Response:
    outcome = "ok" if result.ok else "falhou"
    return RedirectResponse(f"/app/operacoes?teste={outcome}#integrations", status_code=303)


@router.post("/dead-letters/{message_id}/retry")
async def retry_dead_letter(message_id: uuid.UUID, page: ManagerPage, session: DbSession) -> Response:
    await ops.retry_dead_letter(session, page.scope, message_id=message_id)
    return RedirectResponse("/app/operacoes", status_code=303)


@router.post("/dead-letters/retry")
async def retry_all(page: ManagerPage, session: DbSession) -> Response:
    await ops.retry_all_dead_letters(session, page.scope)
    return RedirectResponse("/app/operacoes", status_code=303)


def _day_start(value: str, zone: ZoneInfo, *, next_day: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value) + timedelta(days=1 if next_day else 0)
    except ValueError as exc:
        raise ValidationFailed("give dates as YYYY-MM-DD") from exc
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


@router.post("/replay")
async def run_replay(
    request: Request,
    page: ManagerPage,
    session: DbSession,
    received_from: Annotated[str, Form(max_length=10)] = "",
    received_to: Annotated[str, Form(max_length=10)] = "",
    source: Annotated[str, Form(max_length=32)] = "",
    apply: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Without ``apply`` a dry run (nothing changes); with it the same request for real."""
    zone = ZoneInfo(page.time_zone)
    body = ReplayRequest(
        received_from=_day_start(received_from, zone),
        received_to=_day_start(received_to, zone, next_day=True),
        source=source or None,
        dry_run=apply != "true",
    )
    report = await replay.replay(session, page.scope, request=body, now=utcnow())
    asked = {"received_from": received_from, "received_to": received_to, "source": source}
    return await _render(request, page, session, report=report, asked=asked)
