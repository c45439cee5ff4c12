"""People: the list with search, and a person's page (contacts, leads, consents, likely duplicates and merge).

Reading is for every role, as in the API; merging and undoing a merge are for owners and managers (the person
service's merge moves leads, activity, consents and identities; its undo puts them back). The page of someone merged
away leads to the person they were merged into.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from leadflow.console.auth import ManagerPage, Page
from leadflow.console.web import ConsoleRoute, render
from leadflow.kit.errors import ValidationFailed
from leadflow.kit.web import DbSession
from leadflow.lead import funnel
from leadflow.lead import service as leads
from leadflow.lead.schemas import LeadFilters, LeadSort
from leadflow.models import Consent
from leadflow.person import service as persons
from leadflow.person.schemas import PersonFilters

router = APIRouter(prefix="/app", route_class=ConsoleRoute, include_in_schema=False)
PAGE_SIZE = 50
LEADS_OF_PERSON = 50
CONSENT_HISTORY = 100


def _person_filters(request: Request) -> tuple[PersonFilters, dict[str, str]]:
    sent = {key: value for key in ("q", "tag") if (value := request.query_params.get(key, "").strip())}
    try:
        return PersonFilters.model_validate(sent), sent
    except ValidationError as exc:
        raise ValidationFailed(f"invalid filter: {', '.join(str(e['loc'][0]) for e in exc.errors())}") from exc


@router.get("/pessoas")
async def list_people(request: Request, page: Page, session: DbSession, cursor: str | None = None) -> Response:
    filters, sent = _person_filters(request)
    rows, next_cursor = await persons.list_people(session, page.scope, filters=filters, cursor=cursor, limit=PAGE_SIZE)
    return render(request, "pessoas.html", page=page, nav="pessoas", people=rows, sent=sent, next_cursor=next_cursor)


def current_consents(history: list[Consent]) -> list[Consent]:
    """The latest row per channel and purpose (the history comes newest first): what holds today."""
    latest: dict[tuple[str, str], Consent] = {}
    for consent in history:
        latest.setdefault((consent.channel, consent.purpose), consent)
    return list(latest.values())


@router.get("/pessoas/{person_id}")
async def person_page(person_id: uuid.UUID, request: Request, page: Page, session: DbSession) -> Response:
    try:
        found = await persons.get_person(session, page.scope, person_id=person_id)
    except persons.PersonNotFound as missing:
        survivor = persons.merged_into(missing)
        if survivor is None:
            raise
        # A link to someone merged away (a bookmark, a notification) leads to who they are now.
        return RedirectResponse(f"/app/pessoas/{survivor}", status_code=303)
    person = await persons.read_person(session, found)
    rows, _ = await leads.list_leads(
        session,
        page.scope,
        filters=LeadFilters(person_id=person_id),
        sort=LeadSort.CREATED_DESC,
        cursor=None,
        limit=LEADS_OF_PERSON,
    )
    history, _ = await persons.list_consents(
        session, page.scope, person_id=person_id, cursor=None, limit=CONSENT_HISTORY
    )
    pipelines = await funnel.read_pipelines(session, await funnel.list_pipelines(session, page.scope))
    return render(
        request,
        "pessoa.html",
        page=page,
        nav="pessoas",
        person=person,
        leads=rows,
        stages={stage.id: stage for pipeline in pipelines for stage in pipeline.stages},
        consents=current_consents(list(history)),
        duplicates=await persons.find_duplicates(session, page.scope, person_id=person_id),
        merges=await persons.undoable_merges(session, page.scope, person_id=person_id),
        merged=request.query_params.get("merged") == "1",
        unmerged=request.query_params.get("unmerged") == "1",
    )


@router.post("/pessoas/{person_id}/merge")
async def merge_person(
    person_id: uuid.UUID,
    page: ManagerPage,
    session: DbSession,
    other_id: Annotated[uuid.UUID, Form()],
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Merge ``other_id`` into this person once the manager ticked the confirmation."""
    if confirm != "yes":
        message = "tick the confirmation to merge these people"
        raise ValidationFailed(message, errors=[{"field": "confirm", "message": message}])
    await persons.merge_people(session, page.scope, survivor_id=person_id, other_id=other_id)
    return RedirectResponse(f"/app/pessoas/{person_id}?merged=1", status_code=303)


@router.post("/pessoas/merges/{merge_id}/desfazer")
async def undo_merge(merge_id: uuid.UUID, page: ManagerPage, session: DbSession) -> Response:
    """Take a merge apart again: the merged person comes back with what was theirs (the person service's undo)."""
    merge = await persons.undo_merge(session, page.scope, merge_id=merge_id)
    return RedirectResponse(f"/app/pessoas/{merge.merged_id}?unmerged=1", status_code=303)
