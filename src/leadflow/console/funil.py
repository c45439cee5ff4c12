"""The Funil: a kanban of one pipeline's stages; moving a card calls the lead service's move (its rules apply)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from leadflow.console.auth import Page
from leadflow.console.leads import optional_id
from leadflow.console.web import ConsoleRoute, render
from leadflow.kit.web import DbSession
from leadflow.lead import funnel
from leadflow.lead import service as leads
from leadflow.lead.schemas import LeadFilters, LeadSort

router = APIRouter(prefix="/app", route_class=ConsoleRoute, include_in_schema=False)
CARDS_PER_STAGE = 50


@router.get("/funil")
async def kanban(request: Request, page: Page, session: DbSession, pipeline: str = "") -> Response:
    pipelines = await funnel.read_pipelines(session, await funnel.list_pipelines(session, page.scope))
    chosen_id = optional_id(pipeline, "pipeline")
    chosen = next((p for p in pipelines if p.id == chosen_id), None) or next(
        (p for p in pipelines if p.is_default), pipelines[0] if pipelines else None
    )
    columns = []
    for stage in chosen.stages if chosen else []:
        filters = LeadFilters(pipeline_id=chosen.id if chosen else None, stage_id=stage.id)
        cards, more = await leads.list_leads(
            session, page.scope, filters=filters, sort=LeadSort.UPDATED_DESC, cursor=None, limit=CARDS_PER_STAGE
        )
        columns.append((stage, cards, more is not None))
    return render(request, "funil.html", page=page, nav="funil", pipelines=pipelines, chosen=chosen, columns=columns)
