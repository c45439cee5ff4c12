"""Segment-compatible collection (/v1/batch, /v1/track, …) and inspection of what came in and what was refused."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime

from leadflow.auth.dependencies import Manager
from leadflow.capture import service
from leadflow.capture.auth import authenticate_write_key, presented_key
from leadflow.capture.cors import cors_headers, preflight
from leadflow.capture.parsing import MAX_BODY_BYTES, NotJson, parse_json
from leadflow.capture.schemas import EventRead, IngestResult, RejectedEventRead
from leadflow.kit.errors import PayloadTooLarge
from leadflow.kit.schemas import Page
from leadflow.kit.time import utcnow
from leadflow.kit.web import DbSession, UnitOfWorkRoute, request_info, request_session
from leadflow.models import EventType, FailureType
from leadflow.tenant.dependencies import CurrentTenant
from leadflow.tenant.limits import admit_events

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute)
Limit = Annotated[int, Query(ge=1, le=200)]
ShortText = Annotated[str | None, Query(max_length=255)]
SINGLE_TYPES = ("track", "page", "identify", "alias", "screen", "group")
BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "example": {
                    "batch": [
                        {
                            "type": "track",
                            "messageId": "ajs-next-3f1c9a0e",
                            "anonymousId": "trk_01HZX5R8Q2W9K3M7N4P6T1V0Y2",
                            "event": "Formulário enviado",
                            "properties": {"imovel": "AP-1024"},
                            "context": {"campaign": {"source": "facebook", "medium": "paid"}},
                            "timestamp": "2026-05-04T13:21:07.412Z",
                        }
                    ],
                    "sentAt": "2026-05-04T13:21:07.900Z",
                }
            }
        },
    }
}


async def _collect(request: Request, tenant: CurrentTenant, single_type: str | None) -> Response:
    # The session is taken from the request, not as the DbSession dependency: that one is a sync function, which
    # FastAPI runs through the thread pool, a hop that costs more than the rest of a one-event request.
    session = request_session(request)
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the request body exceeds {MAX_BODY_BYTES} bytes")
    try:
        body: Any = parse_json(raw)
        not_json: str | None = None
    except NotJson as exc:
        body, not_json = None, str(exc)
    scope, key = await authenticate_write_key(session, request, tenant, presented_key(request, body))
    info = request_info(request)
    arrival = service.Arrival(utcnow(), key.id, info["ip"], info["user_agent"])
    log = service.event_log(request.app.state.db)
    batch = service.read_batch(body, single_type=single_type) if not_json is None else not_json
    await admit_events(request, tenant, events=len(batch.items) if isinstance(batch, service.Batch) else 1)
    if isinstance(batch, str):
        failure_type = FailureType.MALFORMED_JSON if not_json else FailureType.SCHEMA_VIOLATION
        await service.reject_body(
            session, scope, log=log, arrival=arrival, raw=raw, failure_type=failure_type, message=batch
        )
        raise service.InvalidBody(batch, headers=cors_headers(request))
    result = await service.ingest(session, scope, log=log, batch=batch, arrival=arrival)
    return Response(result.model_dump_json(by_alias=True), media_type="application/json", headers=cors_headers(request))


@router.post(
    "/batch",
    tags=["capture"],
    summary="Segment batch: many events in one request (write key as HTTP Basic user)",
    response_model=IngestResult,
    openapi_extra=BODY_DOC,
)
async def collect_batch(request: Request, tenant: CurrentTenant) -> Response:
    return await _collect(request, tenant, None)


def _single(event_type: str) -> Any:
    async def collect_one(request: Request, tenant: CurrentTenant) -> Response:
        return await _collect(request, tenant, event_type)

    collect_one.__name__ = f"collect_{event_type}"
    return collect_one


for _type in SINGLE_TYPES:
    router.add_api_route(
        f"/{_type}",
        _single(_type),
        methods=["POST"],
        tags=["capture"],
        summary=f"Segment {_type} call (write key as HTTP Basic user)",
        response_model=IngestResult,
    )


for _path in ("batch", *SINGLE_TYPES):
    router.add_api_route(f"/{_path}", preflight, methods=["OPTIONS"], include_in_schema=False)


@router.get("/events", tags=["capture"], summary="Events received, newest first")
async def list_events(
    scope: Manager,
    session: DbSession,
    type: EventType | None = None,
    source: ShortText = None,
    tracking_id: ShortText = None,
    message_id: ShortText = None,
    received_from: AwareDatetime | None = None,
    received_to: AwareDatetime | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Page[EventRead]:
    events, next_cursor = await service.list_events(
        session,
        scope,
        cursor=cursor,
        limit=limit,
        type=type,
        source=source,
        tracking_id=tracking_id,
        message_id=message_id,
        received_from=received_from,
        received_to=received_to,
    )
    return Page(items=events, next_cursor=next_cursor)


@router.get("/rejected-events", tags=["capture"], summary="Input refused, with the reason and the raw text")
async def list_rejected_events(
    scope: Manager,
    session: DbSession,
    failure_type: FailureType | None = None,
    source: ShortText = None,
    message_id: ShortText = None,
    received_from: AwareDatetime | None = None,
    received_to: AwareDatetime | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Page[RejectedEventRead]:
    rejected, next_cursor = await service.list_rejected_events(
        session,
        scope,
        cursor=cursor,
        limit=limit,
        failure_type=failure_type,
        source=source,
        message_id=message_id,
        received_from=received_from,
        received_to=received_to,
    )
    return Page(items=rejected, next_cursor=next_cursor)
