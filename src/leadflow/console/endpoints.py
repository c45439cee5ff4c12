"""Every console route, mounted under /app by create_app()."""

from __future__ import annotations

from fastapi import APIRouter

from leadflow.console import (
    assets,
    auditoria,
    configuracoes,
    funil,
    home,
    imoveis,
    lead_actions,
    leads,
    login,
    notificacoes,
    operacoes,
    painel,
    pessoas,
    stream,
)

router = APIRouter()
for section in (
    assets.router,
    login.router,
    home.router,
    painel.router,
    leads.router,
    lead_actions.router,
    funil.router,
    pessoas.router,
    imoveis.router,
    operacoes.router,
    configuracoes.router,
    auditoria.router,
    notificacoes.router,
    stream.router,
):
    router.include_router(section)
