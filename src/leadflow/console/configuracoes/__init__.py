"""Configurações: the tenant's settings for owners and managers, one sub-page per section. Every write calls the
service the API calls; a refusal is shown in the form, translated (see ``forms``)."""

from __future__ import annotations

from fastapi import APIRouter

from leadflow.console.configuracoes import (
    campos,
    equipes,
    funis,
    index,
    integracoes,
    regras,
    retencao,
    sites,
    usuarios,
    webhooks,
)

router = APIRouter()
for section in (index, funis, regras, equipes, usuarios, sites, webhooks, integracoes, campos, retencao):
    router.include_router(section.router)
