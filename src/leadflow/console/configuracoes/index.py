"""The settings' first page: the sections, each with what it is for."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from leadflow.console.auth import ManagerPage
from leadflow.console.configuracoes.common import render_section, section_router

router = section_router()


@router.get("")
async def settings_index(request: Request, page: ManagerPage) -> Response:
    return render_section(request, page, "index")
