"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import hmac
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from leadflow.auth.dependencies import Manager
from leadflow.kit import metrics
from leadflow.kit.db import Database
from leadflow.kit.errors import ServiceUnavailable, Unauthenticated
from leadflow.kit.migrate import current_revision, head_revision
from leadflow.kit.ratelimit import Counter, CounterUnavailable
from leadflow.kit.schemas import Page
from leadflow.kit.web import DbSession, UnitOfWorkRoute
from leadflow.ops import service
from leadflow.ops.schemas import DeadLetterRead, QueueRead, RetryResult

router = APIRouter(tags=["operations"])
tenant_ops = APIRouter(prefix="/v1/ops", route_class=UnitOfWorkRoute, tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database is reachable and migrated, and Redis answers when configured")
async def readyz(request: Request) -> dict[str, Any]:
    db: Database = request.app.state.db
    try:
        async with db.sessionmaker() as session:
            revision = await session.run_sync(lambda s: current_revision(s.connection()))
    except Exception as exc:  # any driver error means "not ready"
        raise ServiceUnavailable(f"database unreachable: {type(exc).__name__}", headers={"Retry-After": "5"}) from exc
    head = head_revision()
    if revision != head:
        raise ServiceUnavailable(f"database at revision {revision}, expected {head}", headers={"Retry-After": "5"})
    counter: Counter = request.app.state.counter
    try:
        await counter.ping()
    except CounterUnavailable as exc:
        raise ServiceUnavailable("rate limiter (Redis) unreachable", headers={"Retry-After": "2"}) from exc
    return {"status": "ready", "database": db.dialect, "revision": revision}


@router.get("/metrics", summary="Prometheus metrics (a Bearer token when LEADFLOW_METRICS_TOKEN is set)")
async def prometheus(request: Request) -> Response:
    token = request.app.state.settings.metrics_token
    if token is not None:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").encode()
        if not hmac.compare_digest(sent, token.get_secret_value().encode()):
            raise Unauthenticated("send the metrics token as a Bearer token", headers={"WWW-Authenticate": "Bearer"})
    return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


@tenant_ops.get("/dead-letters", summary="Bus messages that failed every attempt, with their last error")
async def list_dead_letters(
    scope: Manager, session: DbSession, cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> Page[DeadLetterRead]:
    items, next_cursor = await service.list_dead_letters(session, scope, cursor=cursor, limit=limit)
    return Page(items=[DeadLetterRead.model_validate(m) for m in items], next_cursor=next_cursor)


@tenant_ops.post("/dead-letters/{message_id}/retry", summary="Queue a dead letter again")
async def retry_dead_letter(message_id: uuid.UUID, scope: Manager, session: DbSession) -> DeadLetterRead:
    return DeadLetterRead.model_validate(await service.retry_dead_letter(session, scope, message_id=message_id))


@tenant_ops.post("/dead-letters/retry", summary="Queue every dead letter again")
async def retry_all_dead_letters(scope: Manager, session: DbSession) -> RetryResult:
    return RetryResult(retried=await service.retry_all_dead_letters(session, scope))


@tenant_ops.get("/queues", summary="Pending and dead messages per event, and how old the oldest pending one is")
async def queues(scope: Manager, session: DbSession) -> Page[QueueRead]:
    return Page(items=await service.queue_depths(session, scope))
