"""Pipelines and stages: list them, add a pipeline, add, rename and reorder stages (lead.funnel does the work)."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.console.auth import ConsolePage, ManagerPage
from leadflow.console.configuracoes.common import render_section, saved, section_router
from leadflow.console.configuracoes.forms import FormState, attempt
from leadflow.kit.web import DbSession
from leadflow.lead import funnel
from leadflow.lead.schemas import PipelineCreate, PipelineUpdate, StageCreate, StageUpdate
from leadflow.models import StageKind

router = section_router()
Text = Annotated[str, Form(max_length=500)]


async def _render(
    request: Request, page: ConsolePage, session: AsyncSession, form: FormState | None = None
) -> Response:
    pipelines = await funnel.read_pipelines(session, await funnel.list_pipelines(session, page.scope))
    return render_section(request, page, "funis", form=form, pipelines=pipelines, kinds=list(StageKind))


@router.get("/funis")
async def pipelines_page(request: Request, page: ManagerPage, session: DbSession) -> Response:
    return await _render(request, page, session)


@router.post("/funis")
async def create_pipeline(request: Request, page: ManagerPage, session: DbSession, name: Text = "") -> Response:
    async def write() -> str:
        await funnel.create_pipeline(session, page.scope, data=PipelineCreate(name=name))
        return saved("funis", "funil")

    return await attempt(
        write, partial(_render, request, page, session), locale=page.locale, form="new-pipeline", values={"name": name}
    )


@router.post("/funis/{pipeline_id}")
async def rename_pipeline(
    pipeline_id: uuid.UUID, request: Request, page: ManagerPage, session: DbSession, name: Text = ""
) -> Response:
    await funnel.get_pipeline(session, page.scope, pipeline_id=pipeline_id)  # another tenant's id: 404, not a form

    async def write() -> str:
        await funnel.update_pipeline(session, page.scope, pipeline_id=pipeline_id, data=PipelineUpdate(name=name))
        return saved("funis", "funil")

    return await attempt(
        write,
        partial(_render, request, page, session),
        locale=page.locale,
        form=f"pipeline-{pipeline_id}",
        values={"name": name},
    )


@router.post("/funis/{pipeline_id}/etapas")
async def add_stage(
    pipeline_id: uuid.UUID,
    request: Request,
    page: ManagerPage,
    session: DbSession,
    name: Text = "",
    kind: Text = "open",
    color: Text = "#64748b",
) -> Response:
    await funnel.get_pipeline(session, page.scope, pipeline_id=pipeline_id)

    async def write() -> str:
        data = StageCreate.model_validate({"name": name, "kind": kind, "color": color})
        await funnel.add_stage(session, page.scope, pipeline_id=pipeline_id, data=data)
        return saved("funis", "etapa")

    values = {"name": name, "kind": kind, "color": color}
    return await attempt(
        write,
        partial(_render, request, page, session),
        locale=page.locale,
        form=f"new-stage-{pipeline_id}",
        values=values,
    )


@router.post("/etapas/{stage_id}")
async def rename_stage(
    stage_id: uuid.UUID, request: Request, page: ManagerPage, session: DbSession, name: Text = ""
) -> Response:
    await funnel.get_stage(session, page.scope, stage_id=stage_id)

    async def write() -> str:
        await funnel.update_stage(session, page.scope, stage_id=stage_id, data=StageUpdate(name=name))
        return saved("funis", "etapa")

    return await attempt(
        write,
        partial(_render, request, page, session),
        locale=page.locale,
        form=f"stage-{stage_id}",
        values={"name": name},
    )


@router.post("/etapas/{stage_id}/posicao")
async def move_stage(
    stage_id: uuid.UUID, request: Request, page: ManagerPage, session: DbSession, position: Text = ""
) -> Response:
    await funnel.get_stage(session, page.scope, stage_id=stage_id)

    async def write() -> str:
        data = StageUpdate.model_validate({"position": position})
        await funnel.update_stage(session, page.scope, stage_id=stage_id, data=data)
        return saved("funis", "ordem")

    return await attempt(
        write, partial(_render, request, page, session), locale=page.locale, form=f"stage-{stage_id}", values={}
    )
