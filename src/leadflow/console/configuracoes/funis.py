"""Pipelines and stages: add, rename, make default and remove a pipeline; add, rename, reorder and remove stages;
the allowed moves between stages and whether they are enforced (lead.funnel does the work and refuses what would
strand leads)."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.console.auth import ConsolePage, ManagerPage
from leadflow.console.configuracoes.common import render_section, saved, section_router
from leadflow.console.configuracoes.forms import FormState, attempt
from leadflow.kit.web import DbSession
from leadflow.lead import funnel
from leadflow.lead.schemas import PipelineCreate, PipelineUpdate, StageCreate, StageUpdate, TransitionsPut
from leadflow.models import StageKind

router = section_router()
Text = Annotated[str, Form(max_length=500)]
MAX_MOVES = 400  # as TransitionsPut allows


async def _render(
    request: Request, page: ConsolePage, session: AsyncSession, form: FormState | None = None
) -> Response:
    pipelines = await funnel.read_pipelines(session, await funnel.list_pipelines(session, page.scope))
    allowed = {(t.from_stage_id, t.to_stage_id) for pipeline in pipelines for t in pipeline.transitions}
    return render_section(
        request, page, "funis", form=form, pipelines=pipelines, kinds=list(StageKind), allowed=allowed
    )


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


@router.post("/funis/{pipeline_id}/padrao")
async def make_default(pipeline_id: uuid.UUID, page: ManagerPage, session: DbSession) -> Response:
    data = PipelineUpdate(is_default=True)
    await funnel.update_pipeline(session, page.scope, pipeline_id=pipeline_id, data=data)
    return RedirectResponse(saved("funis", "funil"), status_code=303)


@router.post("/funis/{pipeline_id}/remover")
async def delete_pipeline(pipeline_id: uuid.UUID, request: Request, page: ManagerPage, session: DbSession) -> Response:
    await funnel.get_pipeline(session, page.scope, pipeline_id=pipeline_id)

    async def write() -> str:
        await funnel.delete_pipeline(session, page.scope, pipeline_id=pipeline_id)
        return saved("funis", "funil")

    again = partial(_render, request, page, session)
    return await attempt(write, again, locale=page.locale, form=f"pipeline-{pipeline_id}", values={})


@router.post("/etapas/{stage_id}/remover")
async def delete_stage(stage_id: uuid.UUID, request: Request, page: ManagerPage, session: DbSession) -> Response:
    await funnel.get_stage(session, page.scope, stage_id=stage_id)

    async def write() -> str:
        await funnel.delete_stage(session, page.scope, stage_id=stage_id)
        return saved("funis", "etapa")

    again = partial(_render, request, page, session)
    return await attempt(write, again, locale=page.locale, form=f"stage-{stage_id}", values={})


def _moves(ticked: list[str]) -> list[dict[str, str]]:
    """The ticked boxes of the moves grid (``from:to``) as the API's transitions."""
    moves = []
    for value in ticked[:MAX_MOVES]:
        from_id, _, to_id = value.partition(":")
        moves.append({"from_stage_id": from_id, "to_stage_id": to_id})
    return moves


@router.post("/funis/{pipeline_id}/transicoes")
async def save_transitions(pipeline_id: uuid.UUID, request: Request, page: ManagerPage, session: DbSession) -> Response:
    await funnel.get_pipeline(session, page.scope, pipeline_id=pipeline_id)
    sent = await request.form()
    ticked = [str(value) for value in sent.getlist("move")]

    async def write() -> str:
        data = TransitionsPut.model_validate(
            {"transitions": _moves(ticked), "restrict_transitions": sent.get("restrict") == "on"}
        )
        await funnel.replace_transitions(session, page.scope, pipeline_id=pipeline_id, data=data)
        return saved("funis", "transicoes")

    again = partial(_render, request, page, session)
    return await attempt(write, again, locale=page.locale, form=f"moves-{pipeline_id}", values={})
