"""Teams and their roleta: create, rename and remove a team, add or remove members, and each member's weight,
capacity and duty (plantão), with the team's SLA, and who would get the team's next leads right now (the roleta
played forward, nothing assigned); pipeline.teams and user.service do the work."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.console.auth import ConsolePage, ManagerPage
from leadflow.console.configuracoes.common import render_section, saved, section_router
from leadflow.console.configuracoes.forms import FormState, attempt
from leadflow.kit.time import utcnow
from leadflow.kit.web import DbSession
from leadflow.models import Role
from leadflow.pipeline import teams as roleta
from leadflow.pipeline.schemas import TeamRoleta
from leadflow.user import service as users
from leadflow.user.schemas import TeamCreate, TeamUpdate

router = section_router()
Text = Annotated[str, Form(max_length=200)]
PREVIEW_LEADS = 5  # "who gets the next leads", under each team


async def _render(
    request: Request, page: ConsolePage, session: AsyncSession, form: FormState | None = None
) -> Response:
    listed, _ = await users.list_teams(session, page.scope, cursor=None, limit=200)
    rosters = [await roleta.get_team_roleta(session, page.scope, team_id=team.id) for team in listed]
    now = utcnow()
    previews = {
        team.id: await roleta.preview_roleta(
            session, page.scope, team_id=team.id, now=now, tz=page.time_zone, count=PREVIEW_LEADS
        )
        for team in listed
    }
    people, _ = await users.list_users(session, page.scope, role=None, q=None, cursor=None, limit=200)
    active = [user for user in people if user.is_active and user.role is not Role.VIEWER]
    return render_section(request, page, "equipes", form=form, rosters=rosters, people=active, previews=previews)


@router.get("/equipes")
async def teams_page(request: Request, page: ManagerPage, session: DbSession) -> Response:
    return await _render(request, page, session)


@router.post("/equipes")
async def create_team(request: Request, page: ManagerPage, session: DbSession, name: Text = "") -> Response:
    async def write() -> str:
        await users.create_team(session, page.scope, data=TeamCreate(name=name))
        return saved("equipes", "equipe")

    again = partial(_render, request, page, session)
    return await attempt(write, again, locale=page.locale, form="new-team", values={"name": name})


@router.post("/equipes/{team_id}/nome")
async def rename_team(
    team_id: uuid.UUID, request: Request, page: ManagerPage, session: DbSession, name: Text = ""
) -> Response:
    await users.get_team(session, page.scope, team_id=team_id)  # another tenant's team: 404, not a form

    async def write() -> str:
        await users.update_team(session, page.scope, team_id=team_id, data=TeamUpdate(name=name))
        return saved("equipes", "equipe")

    again = partial(_render, request, page, session)
    return await attempt(write, again, locale=page.locale, form=f"team-{team_id}", values={"name": name})


@router.post("/equipes/{team_id}/remover")
async def remove_team(team_id: uuid.UUID, request: Request, page: ManagerPage, session: DbSession) -> Response:
    """A soft delete: the team's leads keep naming it, and the API can restore it. Refused in the form while
    forms or channels still send it their leads."""
    await users.get_team(session, page.scope, team_id=team_id)  # another tenant's team: 404, not a form

    async def write() -> str:
        await users.delete_team(session, page.scope, team_id=team_id)
        return saved("equipes", "equipe")

    again = partial(_render, request, page, session)
    return await attempt(write, again, locale=page.locale, form=f"team-{team_id}", values={})


def _roleta_of(sent: Any, member_ids: list[str]) -> dict[str, Any]:
    """The roleta form as the API's body: a blank capacity is no limit, an unchecked box is off duty."""
    members = [
        {
            "user_id": member,
            "weight": sent.get(f"weight-{member}", ""),
            "capacity": sent.get(f"capacity-{member}") or None,
            "on_duty": sent.get(f"on_duty-{member}") == "on",
        }
        for member in member_ids
    ]
    return {
        "sla_minutes": sent.get("sla_minutes", ""),
        "max_reroutes": sent.get("max_reroutes", ""),
        "members": members,
    }


@router.post("/equipes/{team_id}/roleta")
async def save_roleta(team_id: uuid.UUID, request: Request, page: ManagerPage, session: DbSession) -> Response:
    await users.get_team(session, page.scope, team_id=team_id)  # another tenant's team: 404
    sent = await request.form()
    member_ids = [str(value) for value in sent.getlist("member")][:500]
    values = {key: str(value)[:50] for key, value in sent.items() if key != "csrf_token"}

    async def write() -> str:
        data = TeamRoleta.model_validate(_roleta_of(sent, member_ids))
        await roleta.set_team_roleta(session, page.scope, team_id=team_id, data=data)
        return saved("equipes", "roleta")

    again = partial(_render, request, page, session)
    return await attempt(write, again, locale=page.locale, form=f"roleta-{team_id}", values=values)


@router.post("/equipes/{team_id}/membros")
async def add_member(
    team_id: uuid.UUID, page: ManagerPage, session: DbSession, user_id: uuid.UUID = Form()
) -> Response:
    await users.add_member(session, page.scope, team_id=team_id, user_id=user_id)
    return RedirectResponse(saved("equipes", "membro"), status_code=303)


@router.post("/equipes/{team_id}/membros/{user_id}/remover")
async def remove_member(team_id: uuid.UUID, user_id: uuid.UUID, page: ManagerPage, session: DbSession) -> Response:
    await users.remove_member(session, page.scope, team_id=team_id, user_id=user_id)
    return RedirectResponse(saved("equipes", "membro"), status_code=303)
