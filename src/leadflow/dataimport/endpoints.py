from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile, status
from fastapi.responses import StreamingResponse

from leadflow.auth.dependencies import Manager, Member
from leadflow.dataimport import exports, service
from leadflow.dataimport.rows import Outcome
from leadflow.dataimport.schemas import ImportJobListItem, ImportJobRead
from leadflow.kit.schemas import Page
from leadflow.kit.storage import Storage, storage_from_settings
from leadflow.kit.time import utcnow
from leadflow.kit.web import DbSession, UnitOfWorkRoute
from leadflow.lead.schemas import LeadFilters, LeadSort
from leadflow.models import ImportStatus
from leadflow.models.dataimport import ImportEntity, ImportMode
from leadflow.person.schemas import PersonFilters
from leadflow.property.schemas import PropertyFilters, PropertySort
from leadflow.tenant.dependencies import CurrentTenant

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute)
Limit = Annotated[int, Query(ge=1, le=200)]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"example": "\ufeffNome;E-mail;Telefone\r\nMaria Silva;maria@gmail.com;+5511987654321"}}
    }
}
MAPPING_EXAMPLE = '{"Nome completo": "name", "Celular": "phone", "Data de cadastro": null}'


def import_storage(request: Request) -> Storage:
    return storage_from_settings(request.app.state.settings)


ImportStorage = Annotated[Storage, Depends(import_storage)]


@router.post(
    "/imports",
    tags=["imports"],
    status_code=status.HTTP_201_CREATED,
    summary="Import a CSV of people, leads or properties (a dry run by default)",
    description=(
        "The file is read as UTF-8 (with or without BOM) or, when it is not, as Windows-1252 (said in `warnings`); "
        "`,` `;` and tab are recognised. Every line ends in the report: created, updated, duplicate, or error "
        "with the column and the reason. At most 10 MiB and 50 000 lines. Runs within the request for now."
    ),
)
async def start_import(
    scope: Manager,
    session: DbSession,
    storage: ImportStorage,
    file: Annotated[UploadFile, File(description="The CSV; its first line names the columns")],
    entity: Annotated[ImportEntity, Form(examples=["people"])],
    mapping: Annotated[
        str | None,
        Form(
            description="JSON object {CSV column: field or null}, applied over the default guessed from the header",
            examples=[MAPPING_EXAMPLE],
        ),
    ] = None,
    dry_run: Annotated[bool, Form(description="true: report only, write nothing")] = True,
    mode: Annotated[ImportMode, Form(description="upsert: update the records lines match")] = ImportMode.CREATE,
) -> ImportJobRead:
    content = await file.read(service.MAX_CSV_BYTES + 1)
    job = await service.start_import(
        session,
        scope,
        upload=service.CsvUpload(file.filename, content),
        entity=entity,
        mapping=mapping,
        dry_run=dry_run,
        mode=mode,
        storage=storage,
    )
    return ImportJobRead.of(job)


@router.get("/imports", tags=["imports"], summary="Imports, newest first (without their reports)")
async def list_imports(
    scope: Manager,
    session: DbSession,
    entity: ImportEntity | None = None,
    status: ImportStatus | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Page[ImportJobListItem]:
    jobs, next_cursor = await service.list_imports(
        session, scope, entity=entity, status=status, cursor=cursor, limit=limit
    )
    return Page(items=[ImportJobListItem.model_validate(job) for job in jobs], next_cursor=next_cursor)


@router.get("/imports/{job_id}", tags=["imports"], summary="An import with its progress, summary and report")
async def get_import(
    job_id: uuid.UUID,
    scope: Manager,
    session: DbSession,
    outcome: Annotated[Outcome | None, Query(description="Only the report lines with this outcome")] = None,
) -> ImportJobRead:
    return ImportJobRead.of(await service.get_import(session, scope, job_id=job_id), outcome=outcome)


@router.post(
    "/imports/{job_id}/run",
    tags=["imports"],
    status_code=status.HTTP_201_CREATED,
    summary="Run a finished dry run for real (a new import with the same file and mapping; once)",
)
async def run_for_real(job_id: uuid.UUID, scope: Manager, session: DbSession, storage: ImportStorage) -> ImportJobRead:
    return ImportJobRead.of(await service.run_for_real(session, scope, job_id=job_id, storage=storage))


@router.post(
    "/imports/{job_id}/revert",
    tags=["imports"],
    summary="Undo a finished real run: delete what it created, restore what it updated (idempotent)",
)
async def revert_import(job_id: uuid.UUID, scope: Manager, session: DbSession) -> ImportJobRead:
    return ImportJobRead.of(await service.revert_import(session, scope, job_id=job_id))


# Exports


def _csv(body: AsyncIterator[bytes], name: str) -> StreamingResponse:
    filename = f"{name}-{utcnow():%Y%m%d-%H%M}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers=headers)


@router.get(
    "/exports/people.csv",
    tags=["exports"],
    response_class=StreamingResponse,
    responses=CSV_RESPONSE,
    summary="The people list as CSV for Excel (same filters as GET /v1/people)",
)
async def export_people(
    request: Request,
    scope: Member,
    session: DbSession,
    tenant: CurrentTenant,
    filters: Annotated[PersonFilters, Query()],
) -> StreamingResponse:
    db = request.app.state.db
    body = await exports.export_people(session, scope, db=db, filters=filters, time_zone=tenant.time_zone)
    return _csv(body, "pessoas")


@router.get(
    "/exports/leads.csv",
    tags=["exports"],
    response_class=StreamingResponse,
    responses=CSV_RESPONSE,
    summary="The lead list as CSV for Excel (same filters and sort as GET /v1/leads; a broker gets their leads)",
)
async def export_leads(
    request: Request,
    scope: Member,
    session: DbSession,
    tenant: CurrentTenant,
    filters: Annotated[LeadFilters, Query()],
    sort: LeadSort = LeadSort.CREATED_DESC,
) -> StreamingResponse:
    db = request.app.state.db
    body = await exports.export_leads(session, scope, db=db, filters=filters, sort=sort, time_zone=tenant.time_zone)
    return _csv(body, "leads")


@router.get(
    "/exports/properties.csv",
    tags=["exports"],
    response_class=StreamingResponse,
    responses=CSV_RESPONSE,
    summary="The property list as CSV for Excel (same filters and sort as GET /v1/properties)",
)
async def export_properties(
    request: Request,
    scope: Member,
    session: DbSession,
    tenant: CurrentTenant,
    filters: Annotated[PropertyFilters, Query()],
    sort: Annotated[PropertySort, Query(description="A leading '-' sorts descending")] = "-created_at",
) -> StreamingResponse:
    db = request.app.state.db
    body = await exports.export_properties(
        session, scope, db=db, filters=filters, sort=sort, time_zone=tenant.time_zone
    )
    return _csv(body, "imoveis")
