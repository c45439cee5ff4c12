"""Sites and the tracking snippet: the tenant's write keys (one per site, with the origins allowed to send), a new
key shown once inside a ready-to-paste snippet, and revocation (tracking.service and auth.service do the work)."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.auth import service as keys
from leadflow.auth.schemas import ApiKeyCreate
from leadflow.console.auth import ConsolePage, ManagerPage
from leadflow.console.configuracoes.common import render_section, saved, section_router
from leadflow.console.configuracoes.forms import FormState, attempt
from leadflow.kit.web import DbSession
from leadflow.models import ApiKeyKind
from leadflow.tracking import service as tracking

router = section_router()
Text = Annotated[str, Form(max_length=5000)]


async def _render(
    request: Request,
    page: ConsolePage,
    session: AsyncSession,
    form: FormState | None = None,
    *,
    new_key: str | None = None,
    consent_required: bool = False,
) -> Response:
    snippet = await tracking.site_snippet(
        session, page.scope, base_url=str(request.base_url), write_key=new_key, consent_required=consent_required
    )
    return render_section(request, page, "sites", form=form, snippet=snippet, new_key=new_key)


@router.get("/sites")
async def sites_page(request: Request, page: ManagerPage, session: DbSession) -> Response:
    return await _render(request, page, session)


def _origins(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


@router.post("/sites")
async def create_site_key(
    request: Request,
    page: ManagerPage,
    session: DbSession,
    name: Text = "",
    allowed_origins: Text = "",
    consent_required: Text = "",
) -> Response:
    """The new write key is shown on this answer only (it is hashed at rest), written into the snippet."""
    consent = consent_required == "on"

    async def write() -> Response:
        data = ApiKeyCreate(name=name, kind=ApiKeyKind.WRITE, allowed_origins=_origins(allowed_origins))
        _, secret = await keys.create_api_key(session, page.scope, data=data)
        return await _render(request, page, session, new_key=secret, consent_required=consent)

    values = {"name": name, "allowed_origins": allowed_origins}
    again = partial(_render, request, page, session)
    return await attempt(write, again, locale=page.locale, form="new-site", values=values)


@router.post("/sites/{key_id}/revogar")
async def revoke_site_key(key_id: uuid.UUID, page: ManagerPage, session: DbSession) -> Response:
    await keys.revoke_api_key(session, page.scope, key_id=key_id)
    return RedirectResponse(saved("sites", "revogada"), status_code=303)
