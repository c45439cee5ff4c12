from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status

from leadflow.auth.dependencies import Member
from leadflow.kit.schemas import Page
from leadflow.kit.web import DbSession, UnitOfWorkRoute
from leadflow.models import Consent, PrivacyRequest, RequestStatus
from leadflow.privacy import export, service
from leadflow.privacy.auth import ConsentsWrite, PrivacyAdmin
from leadflow.privacy.schemas import (
    AnonymisationRead,
    AnonymiseRequest,
    ConsentEntryCreate,
    ConsentEntryRead,
    ConsentState,
    ConsentSummary,
    PurposeCreate,
    PurposeRead,
    RequestClose,
    RequestCreate,
    RequestRead,
)

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute)
Limit = Annotated[int, Query(ge=1, le=200)]


@router.get("/privacy/purposes", tags=["privacy"], summary="Purposes of processing and their legal bases")
async def list_purposes(scope: Member, session: DbSession) -> list[PurposeRead]:
    return await service.list_purposes(session, scope)


@router.post("/privacy/purposes", tags=["privacy"], status_code=status.HTTP_201_CREATED)
async def define_purpose(body: PurposeCreate, scope: PrivacyAdmin, session: DbSession) -> PurposeRead:
    return await service.define_purpose(session, scope, data=body)


@router.get(
    "/people/{person_id}/privacy/consents",
    tags=["privacy"],
    summary="The person's consent log (oldest first) and the current consent per purpose and channel",
)
async def consent_summary(person_id: uuid.UUID, scope: Member, session: DbSession) -> ConsentSummary:
    log = await service.consent_log(session, scope, person_id=person_id)
    current = [ConsentState.model_validate(s, from_attributes=True) for s in service.current_consents(log)]
    return ConsentSummary(current=current, log=[_entry(c) for c in log])


@router.post(
    "/people/{person_id}/privacy/consents",
    tags=["privacy"],
    status_code=status.HTTP_201_CREATED,
    summary="Append a grant or a withdrawal for one purpose and channel",
)
async def record_consent(
    person_id: uuid.UUID, body: ConsentEntryCreate, scope: ConsentsWrite, session: DbSession
) -> ConsentEntryRead:
    return _entry(await service.record_consent_entry(session, scope, person_id=person_id, data=body))


@router.post("/privacy/requests", tags=["privacy"], status_code=status.HTTP_201_CREATED, summary="Log a request")
async def open_request(body: RequestCreate, scope: PrivacyAdmin, session: DbSession) -> RequestRead:
    return _request(await service.open_request(session, scope, data=body))


@router.get("/privacy/requests", tags=["privacy"], summary="Data-subject requests, the earliest due first")
async def list_requests(
    scope: PrivacyAdmin,
    session: DbSession,
    status: RequestStatus | None = None,
    person_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Page[RequestRead]:
    rows, next_cursor = await service.list_requests(
        session, scope, status=status, person_id=person_id, cursor=cursor, limit=limit
    )
    return Page(items=[_request(r) for r in rows], next_cursor=next_cursor)


@router.post("/privacy/requests/{request_id}/close", tags=["privacy"], summary="Close a request with its outcome")
async def close_request(
    request_id: uuid.UUID, body: RequestClose, scope: PrivacyAdmin, session: DbSession
) -> RequestRead:
    return _request(await service.close_request(session, scope, request_id=request_id, data=body))


@router.get(
    "/people/{person_id}/export",
    tags=["privacy"],
    summary="Everything held about the person (JSON, or ?format=csv for a zip of CSV files)",
    response_model=None,
)
async def export_person(
    person_id: uuid.UUID, scope: PrivacyAdmin, session: DbSession, format: Literal["json", "csv"] = "json"
) -> dict[str, Any] | Response:
    data = await export.export_subject(session, scope, person_id=person_id)
    if format == "json":
        return data
    return Response(
        export.export_as_csv_zip(data),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="titular-{person_id}.zip"'},
    )


@router.post(
    "/people/{person_id}/anonymise",
    tags=["privacy"],
    summary="Anonymise the person: personal data replaced, aggregates kept, contacts suppressed",
)
async def anonymise_person(
    person_id: uuid.UUID, scope: PrivacyAdmin, session: DbSession, body: AnonymiseRequest | None = None
) -> AnonymisationRead:
    reason = (body or AnonymiseRequest()).reason
    record = await service.anonymise_person(session, scope, person_id=person_id, reason=reason)
    return AnonymisationRead(
        person_id=record.person_id,
        anonymised_at=record.anonymised_at,
        reason=record.reason,
        summary=record.summary,
    )


def _entry(consent: Consent) -> ConsentEntryRead:
    return ConsentEntryRead.model_validate(consent, from_attributes=True)


def _request(request: PrivacyRequest) -> RequestRead:
    overdue, days_left = service.request_clock(request)
    return RequestRead.model_validate(
        {
            **{k: getattr(request, k) for k in RequestRead.model_fields if hasattr(request, k)},
            "overdue": overdue,
            "days_left": days_left,
        }
    )
