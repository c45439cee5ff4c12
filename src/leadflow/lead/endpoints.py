from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from leadflow.auth.dependencies import Manager, Member
from leadflow.kit.schemas import Page
from leadflow.kit.web import DbSession, UnitOfWorkRoute
from leadflow.lead import funnel, service
from leadflow.lead.auth import LeadsWrite
from leadflow.lead.schemas import (
    BulkResult,
    HistoryItem,
    LeadAssign,
    LeadBulk,
    LeadCreate,
    LeadFilters,
    LeadMove,
    LeadRead,
    LeadSort,
    LeadUpdate,
    LossReasonCreate,
    LossReasonRead,
    PipelineCreate,
    PipelineRead,
    PipelineUpdate,
    StageCreate,
    StageRead,
    StageUpdate,
    TransitionsPut,
)

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute)
Limit = Annotated[int, Query(ge=1, le=200)]
NO_CONTENT = status.HTTP_204_NO_CONTENT


# Pipelines, stages, transitions


@router.get("/pipelines", tags=["pipelines"], summary="Pipelines (funis) with their stages, in order")
async def list_pipelines(scope: Member, session: DbSession) -> Page[PipelineRead]:
    pipelines = await funnel.list_pipelines(session, scope)
    return Page(items=await funnel.read_pipelines(session, pipelines))


@router.post("/pipelines", tags=["pipelines"], status_code=status.HTTP_201_CREATED)
async def create_pipeline(body: PipelineCreate, scope: Manager, session: DbSession) -> PipelineRead:
    return await funnel.read_pipeline(session, await funnel.create_pipeline(session, scope, data=body))


@router.get("/pipelines/{pipeline_id}", tags=["pipelines"])
async def get_pipeline(pipeline_id: uuid.UUID, scope: Member, session: DbSession) -> PipelineRead:
    return await funnel.read_pipeline(session, await funnel.get_pipeline(session, scope, pipeline_id=pipeline_id))


@router.patch("/pipelines/{pipeline_id}", tags=["pipelines"])
async def update_pipeline(
    pipeline_id: uuid.UUID, body: PipelineUpdate, scope: Manager, session: DbSession
) -> PipelineRead:
    pipeline = await funnel.update_pipeline(session, scope, pipeline_id=pipeline_id, data=body)
    return await funnel.read_pipeline(session, pipeline)


@router.delete("/pipelines/{pipeline_id}", tags=["pipelines"], status_code=NO_CONTENT, summary="Soft delete")
async def delete_pipeline(pipeline_id: uuid.UUID, scope: Manager, session: DbSession) -> None:
    await funnel.delete_pipeline(session, scope, pipeline_id=pipeline_id)


@router.put("/pipelines/{pipeline_id}/transitions", tags=["pipelines"], summary="Replace the allowed moves")
async def replace_transitions(
    pipeline_id: uuid.UUID, body: TransitionsPut, scope: Manager, session: DbSession
) -> PipelineRead:
    pipeline = await funnel.replace_transitions(session, scope, pipeline_id=pipeline_id, data=body)
    return await funnel.read_pipeline(session, pipeline)


@router.post("/pipelines/{pipeline_id}/stages", tags=["pipelines"], status_code=status.HTTP_201_CREATED)
async def add_stage(pipeline_id: uuid.UUID, body: StageCreate, scope: Manager, session: DbSession) -> StageRead:
    return StageRead.model_validate(await funnel.add_stage(session, scope, pipeline_id=pipeline_id, data=body))


@router.patch("/stages/{stage_id}", tags=["pipelines"])
async def update_stage(stage_id: uuid.UUID, body: StageUpdate, scope: Manager, session: DbSession) -> StageRead:
    return StageRead.model_validate(await funnel.update_stage(session, scope, stage_id=stage_id, data=body))


@router.delete("/stages/{stage_id}", tags=["pipelines"], status_code=NO_CONTENT, summary="Archive a stage")
async def delete_stage(stage_id: uuid.UUID, scope: Manager, session: DbSession) -> None:
    await funnel.delete_stage(session, scope, stage_id=stage_id)


# Loss reasons


@router.get("/loss-reasons", tags=["pipelines"], summary="Reasons a lead is lost (motivos de perda)")
async def list_loss_reasons(scope: Member, session: DbSession) -> Page[LossReasonRead]:
    reasons = await funnel.list_loss_reasons(session, scope)
    return Page(items=[LossReasonRead.model_validate(r) for r in reasons])


@router.post("/loss-reasons", tags=["pipelines"], status_code=status.HTTP_201_CREATED)
async def create_loss_reason(body: LossReasonCreate, scope: Manager, session: DbSession) -> LossReasonRead:
    return LossReasonRead.model_validate(await funnel.create_loss_reason(session, scope, data=body))


@router.delete("/loss-reasons/{loss_reason_id}", tags=["pipelines"], status_code=NO_CONTENT, summary="Soft delete")
async def delete_loss_reason(loss_reason_id: uuid.UUID, scope: Manager, session: DbSession) -> None:
    await funnel.delete_loss_reason(session, scope, loss_reason_id=loss_reason_id)


# Leads


@router.get("/leads", tags=["leads"], summary="Leads the actor may see, filtered, sorted, keyset-paginated")
async def list_leads(
    scope: Member,
    session: DbSession,
    filters: Annotated[LeadFilters, Query()],
    sort: LeadSort = LeadSort.CREATED_DESC,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Page[LeadRead]:
    leads, next_cursor = await service.list_leads(
        session, scope, filters=filters, sort=sort, cursor=cursor, limit=limit
    )
    return Page(items=leads, next_cursor=next_cursor)


@router.post("/leads", tags=["leads"], status_code=status.HTTP_201_CREATED)
async def create_lead(body: LeadCreate, scope: LeadsWrite, session: DbSession) -> LeadRead:
    return await service.read_lead(session, await service.create_lead(session, scope, data=body))


@router.post("/leads/bulk", tags=["leads"], summary="Reassign, move, tag or untag up to 500 leads, all or none")
async def bulk_update(body: LeadBulk, scope: LeadsWrite, session: DbSession) -> BulkResult:
    return await service.bulk_update(session, scope, data=body)


@router.get("/leads/{lead_id}", tags=["leads"])
async def get_lead(lead_id: uuid.UUID, scope: Member, session: DbSession) -> LeadRead:
    return await service.read_lead(session, await service.get_lead(session, scope, lead_id=lead_id))


@router.patch("/leads/{lead_id}", tags=["leads"])
async def update_lead(lead_id: uuid.UUID, body: LeadUpdate, scope: LeadsWrite, session: DbSession) -> LeadRead:
    return await service.read_lead(session, await service.update_lead(session, scope, lead_id=lead_id, data=body))


@router.delete("/leads/{lead_id}", tags=["leads"], status_code=NO_CONTENT, summary="Soft delete")
async def delete_lead(lead_id: uuid.UUID, scope: Manager, session: DbSession) -> None:
    await service.delete_lead(session, scope, lead_id=lead_id)


@router.post("/leads/{lead_id}/restore", tags=["leads"])
async def restore_lead(lead_id: uuid.UUID, scope: Manager, session: DbSession) -> LeadRead:
    return await service.read_lead(session, await service.restore_lead(session, scope, lead_id=lead_id))


@router.post("/leads/{lead_id}/move", tags=["leads"], summary="Move to a stage (won, lost and reopen included)")
async def move_lead(lead_id: uuid.UUID, body: LeadMove, scope: LeadsWrite, session: DbSession) -> LeadRead:
    return await service.read_lead(session, await service.move_lead(session, scope, lead_id=lead_id, data=body))


@router.post("/leads/{lead_id}/assign", tags=["leads"], summary="Hand the lead to a user (a broker: to themselves)")
async def assign_lead(lead_id: uuid.UUID, body: LeadAssign, scope: LeadsWrite, session: DbSession) -> LeadRead:
    return await service.read_lead(session, await service.assign_lead(session, scope, lead_id=lead_id, data=body))


@router.get("/leads/{lead_id}/history", tags=["leads"], summary="Stage moves and assignments, oldest first")
async def lead_history(lead_id: uuid.UUID, scope: Member, session: DbSession) -> Page[HistoryItem]:
    return Page(items=await service.lead_history(session, scope, lead_id=lead_id))
