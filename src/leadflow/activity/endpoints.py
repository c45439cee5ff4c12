from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile, status
from fastapi.responses import StreamingResponse

from leadflow.activity import attachments, service, timeline
from leadflow.activity.auth import ActivitiesWrite
from leadflow.activity.schemas import (
    AttachmentFilters,
    AttachmentRead,
    InteractionCreate,
    InteractionFilters,
    InteractionRead,
    InteractionUpdate,
    MyDayRead,
    TaskCreate,
    TaskFilters,
    TaskRead,
    TaskUpdate,
    TimelineItem,
    VisitCreate,
    VisitFilters,
    VisitRead,
    VisitUpdate,
)
from leadflow.auth.dependencies import Member
from leadflow.kit.schemas import Page
from leadflow.kit.storage import Storage, storage_from_settings
from leadflow.kit.web import DbSession, UnitOfWorkRoute

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute)
Limit = Annotated[int, Query(ge=1, le=200)]
OptionalId = Annotated[uuid.UUID | None, Form()]
NO_CONTENT = status.HTTP_204_NO_CONTENT


def get_storage(request: Request) -> Storage:
    return storage_from_settings(request.app.state.settings)


FileStorage = Annotated[Storage, Depends(get_storage)]


# Interactions


@router.get("/interactions", tags=["interactions"], summary="Interactions, newest first")
async def list_interactions(
    scope: Member,
    session: DbSession,
    filters: Annotated[InteractionFilters, Query()],
    cursor: str | None = None,
    limit: Limit = 50,
) -> Page[InteractionRead]:
    rows, next_cursor = await service.list_interactions(session, scope, filters=filters, cursor=cursor, limit=limit)
    return Page(items=[InteractionRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/interactions", tags=["interactions"], status_code=status.HTTP_201_CREATED, summary="Log a contact")
async def log_interaction(body: InteractionCreate, scope: ActivitiesWrite, session: DbSession) -> InteractionRead:
    return InteractionRead.model_validate(await service.log_interaction(session, scope, data=body))


@router.get("/interactions/{interaction_id}", tags=["interactions"])
async def get_interaction(interaction_id: uuid.UUID, scope: Member, session: DbSession) -> InteractionRead:
    interaction = await service.get_interaction(session, scope, interaction_id=interaction_id)
    return InteractionRead.model_validate(interaction)


@router.patch("/interactions/{interaction_id}", tags=["interactions"])
async def update_interaction(
    interaction_id: uuid.UUID, body: InteractionUpdate, scope: ActivitiesWrite, session: DbSession
) -> InteractionRead:
    interaction = await service.update_interaction(session, scope, interaction_id=interaction_id, data=body)
    return InteractionRead.model_validate(interaction)


@router.delete("/interactions/{interaction_id}", tags=["interactions"], status_code=NO_CONTENT, summary="Soft delete")
async def delete_interaction(interaction_id: uuid.UUID, scope: ActivitiesWrite, session: DbSession) -> None:
    await service.delete_interaction(session, scope, interaction_id=interaction_id)


# Tasks


@router.get("/tasks", tags=["tasks"], summary="Tasks, soonest due first")
async def list_tasks(
    scope: Member,
    session: DbSession,
    filters: Annotated[TaskFilters, Query()],
    cursor: str | None = None,
    limit: Limit = 50,
) -> Page[TaskRead]:
    rows, next_cursor = await service.list_tasks(session, scope, filters=filters, cursor=cursor, limit=limit)
    return Page(items=[TaskRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/tasks", tags=["tasks"], status_code=status.HTTP_201_CREATED)
async def create_task(body: TaskCreate, scope: ActivitiesWrite, session: DbSession) -> TaskRead:
    return TaskRead.model_validate(await service.create_task(session, scope, data=body))


@router.get("/tasks/{task_id}", tags=["tasks"])
async def get_task(task_id: uuid.UUID, scope: Member, session: DbSession) -> TaskRead:
    return TaskRead.model_validate(await service.get_task(session, scope, task_id=task_id))


@router.patch("/tasks/{task_id}", tags=["tasks"])
async def update_task(task_id: uuid.UUID, body: TaskUpdate, scope: ActivitiesWrite, session: DbSession) -> TaskRead:
    return TaskRead.model_validate(await service.update_task(session, scope, task_id=task_id, data=body))


@router.post("/tasks/{task_id}/complete", tags=["tasks"], summary="Mark done")
async def complete_task(task_id: uuid.UUID, scope: ActivitiesWrite, session: DbSession) -> TaskRead:
    return TaskRead.model_validate(await service.complete_task(session, scope, task_id=task_id))


@router.post("/tasks/{task_id}/reopen", tags=["tasks"], summary="Mark not done")
async def reopen_task(task_id: uuid.UUID, scope: ActivitiesWrite, session: DbSession) -> TaskRead:
    return TaskRead.model_validate(await service.reopen_task(session, scope, task_id=task_id))


@router.delete("/tasks/{task_id}", tags=["tasks"], status_code=NO_CONTENT, summary="Soft delete")
async def delete_task(task_id: uuid.UUID, scope: ActivitiesWrite, session: DbSession) -> None:
    await service.delete_task(session, scope, task_id=task_id)


# Visits


@router.get("/visits", tags=["visits"], summary="Visits, soonest first")
async def list_visits(
    scope: Member,
    session: DbSession,
    filters: Annotated[VisitFilters, Query()],
    cursor: str | None = None,
    limit: Limit = 50,
) -> Page[VisitRead]:
    rows, next_cursor = await service.list_visits(session, scope, filters=filters, cursor=cursor, limit=limit)
    return Page(items=[VisitRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/visits", tags=["visits"], status_code=status.HTTP_201_CREATED, summary="Schedule a visit")
async def schedule_visit(body: VisitCreate, scope: ActivitiesWrite, session: DbSession) -> VisitRead:
    return VisitRead.model_validate(await service.schedule_visit(session, scope, data=body))


@router.get("/visits/{visit_id}", tags=["visits"])
async def get_visit(visit_id: uuid.UUID, scope: Member, session: DbSession) -> VisitRead:
    return VisitRead.model_validate(await service.get_visit(session, scope, visit_id=visit_id))


@router.patch("/visits/{visit_id}", tags=["visits"])
async def update_visit(visit_id: uuid.UUID, body: VisitUpdate, scope: ActivitiesWrite, session: DbSession) -> VisitRead:
    return VisitRead.model_validate(await service.update_visit(session, scope, visit_id=visit_id, data=body))


@router.delete("/visits/{visit_id}", tags=["visits"], status_code=NO_CONTENT, summary="Soft delete")
async def delete_visit(visit_id: uuid.UUID, scope: ActivitiesWrite, session: DbSession) -> None:
    await service.delete_visit(session, scope, visit_id=visit_id)


# Attachments


@router.post(
    "/attachments",
    tags=["attachments"],
    status_code=status.HTTP_201_CREATED,
    summary="Upload a file (multipart) for exactly one interaction, lead, person or property",
    responses={413: {"description": "Over LEADFLOW_MAX_UPLOAD_BYTES"}, 415: {"description": "Type refused"}},
)
async def upload_attachment(
    request: Request,
    file: Annotated[UploadFile, File(description="PDF, DOCX, XLSX, text/CSV, image, audio or MP4 video")],
    scope: ActivitiesWrite,
    session: DbSession,
    storage: FileStorage,
    interaction_id: OptionalId = None,
    lead_id: OptionalId = None,
    person_id: OptionalId = None,
    property_id: OptionalId = None,
) -> AttachmentRead:
    target = attachments.AttachmentTarget(
        interaction_id=interaction_id, lead_id=lead_id, person_id=person_id, property_id=property_id
    )
    attachment = await attachments.upload_attachment(
        session,
        scope,
        upload=file,
        target=target,
        storage=storage,
        max_bytes=request.app.state.settings.max_upload_bytes,
    )
    return AttachmentRead.model_validate(attachment)


@router.get("/attachments", tags=["attachments"], summary="Attachments, newest first")
async def list_attachments(
    scope: Member,
    session: DbSession,
    filters: Annotated[AttachmentFilters, Query()],
    cursor: str | None = None,
    limit: Limit = 50,
) -> Page[AttachmentRead]:
    rows, next_cursor = await attachments.list_attachments(session, scope, filters=filters, cursor=cursor, limit=limit)
    return Page(items=[AttachmentRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/attachments/{attachment_id}", tags=["attachments"], summary="Metadata of an attachment")
async def get_attachment(attachment_id: uuid.UUID, scope: Member, session: DbSession) -> AttachmentRead:
    attachment = await attachments.get_attachment(session, scope, attachment_id=attachment_id)
    return AttachmentRead.model_validate(attachment)


@router.get(
    "/attachments/{attachment_id}/download",
    tags=["attachments"],
    summary="The file, streamed, as an attachment download",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file's bytes"}},
)
async def download_attachment(
    attachment_id: uuid.UUID, scope: Member, session: DbSession, storage: FileStorage
) -> StreamingResponse:
    attachment, chunks = await attachments.open_attachment(session, scope, attachment_id=attachment_id, storage=storage)
    headers = {
        "Content-Disposition": attachments.content_disposition(attachment.filename),
        "Content-Length": str(attachment.size_bytes),
        "ETag": f'"{attachment.sha256}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-cache",
    }
    return StreamingResponse(chunks, media_type=attachment.content_type, headers=headers)


@router.delete("/attachments/{attachment_id}", tags=["attachments"], status_code=NO_CONTENT, summary="Soft delete")
async def delete_attachment(attachment_id: uuid.UUID, scope: ActivitiesWrite, session: DbSession) -> None:
    await attachments.delete_attachment(session, scope, attachment_id=attachment_id)


# Timelines and the day


@router.get("/leads/{lead_id}/timeline", tags=["timeline"], summary="Everything that happened to a lead, newest first")
async def lead_timeline(
    lead_id: uuid.UUID, scope: Member, session: DbSession, cursor: str | None = None, limit: Limit = 50
) -> Page[TimelineItem]:
    items, next_cursor = await timeline.lead_timeline(session, scope, lead_id=lead_id, cursor=cursor, limit=limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/people/{person_id}/timeline", tags=["timeline"], summary="A person's timeline across their leads")
async def person_timeline(
    person_id: uuid.UUID, scope: Member, session: DbSession, cursor: str | None = None, limit: Limit = 50
) -> Page[TimelineItem]:
    items, next_cursor = await timeline.person_timeline(session, scope, person_id=person_id, cursor=cursor, limit=limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/my-day", tags=["my day"], summary="Your day: leads awaiting a first response, tasks and visits")
async def my_day(scope: Member, session: DbSession) -> MyDayRead:
    return await service.my_day(session, scope)
