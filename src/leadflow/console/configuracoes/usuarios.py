"""Users and roles: invite (create) a user, change a role, deactivate or reactivate (user.service decides who may
grant what: only an owner makes owners, and the tenant keeps an active owner)."""

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
from leadflow.models import Role
from leadflow.user import service as users
from leadflow.user.schemas import UserCreate, UserUpdate

router = section_router()
Text = Annotated[str, Form(max_length=1024)]


async def _render(
    request: Request, page: ConsolePage, session: AsyncSession, form: FormState | None = None
) -> Response:
    people, _ = await users.list_users(session, page.scope, role=None, q=None, cursor=None, limit=200)
    return render_section(request, page, "usuarios", form=form, people=people, roles=list(Role))


@router.get("/usuarios")
async def users_page(request: Request, page: ManagerPage, session: DbSession) -> Response:
    return await _render(request, page, session)


@router.post("/usuarios")
async def create_user(
    request: Request,
    page: ManagerPage,
    session: DbSession,
    name: Text = "",
    email: Text = "",
    role: Text = "broker",
    phone: Text = "",
    password: Text = "",
) -> Response:
    async def write() -> str:
        sent = {"name": name, "email": email, "role": role, "phone": phone or None, "password": password or None}
        await users.create_user(session, page.scope, data=UserCreate.model_validate(sent))
        return saved("usuarios", "usuario")

    values = {"name": name, "email": email, "role": role, "phone": phone}  # never the password
    again = partial(_render, request, page, session)
    return await attempt(write, again, locale=page.locale, form="new-user", values=values)


@router.post("/usuarios/{user_id}")
async def update_user(
    user_id: uuid.UUID,
    request: Request,
    page: ManagerPage,
    session: DbSession,
    role: Text = "",
    is_active: Text = "",
) -> Response:
    """A role change or an activation switch, whichever the form sent."""
    await users.get_user(session, page.scope, user_id=user_id)  # another tenant's user: 404

    async def write() -> str:
        changes: dict[str, object] = {}
        if role:
            changes["role"] = role
        if is_active:
            changes["is_active"] = is_active == "true"
        await users.update_user(session, page.scope, user_id=user_id, data=UserUpdate.model_validate(changes))
        return saved("usuarios", "usuario")

    again = partial(_render, request, page, session)
    return await attempt(write, again, locale=page.locale, form=f"user-{user_id}", values={"role": role})
