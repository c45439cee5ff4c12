"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from leadflow.kit import metrics
from leadflow.kit.db import Database
from leadflow.kit.errors import ServiceUnavailable
from leadflow.kit.migrate import current_revision, head_revision

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database is reachable and migrated")
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
    return {"status": "ready", "database": db.dialect, "revision": revision}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def prometheus() -> Response:
    return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
