"""Retention: how long each kind of record is kept for this tenant, the defaults and the tenant's overrides
(retention.service does the work; the daily retention message applies them)."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.console.auth import ConsolePage, ManagerPage
from leadflow.console.configuracoes.common import render_section, saved, section_router
from leadflow.console.configuracoes.forms import FormState, attempt
from leadflow.kit.web import DbSession
from leadflow.retention import service as retention
from leadflow.retention.policy import DEFAULT_PERIODS
from leadflow.retention.schemas import RetentionOverrides

router = section_router()
# Each period and what it keeps (message ids of the console's catalog).
PERIODS = {
    "operational_days": "Operational records (events, deliveries, dead letters)",
    "access_log_days": "Access log (Marco Civil: at least 183 days)",
    "audit_days": "Audit trail",
    "soft_delete_grace_days": "Deleted records, before they are erased",
    "unconverted_lead_days": "People whose leads never converted, before they are anonymised (0: never)",
}


async def _render(
    request: Request, page: ConsolePage, session: AsyncSession, form: FormState | None = None
) -> Response:
    periods, policy = await retention.tenant_periods(session, page.scope)
    overrides = {name: getattr(policy, name) if policy else None for name in PERIODS}
    return render_section(
        request,
        page,
        "retencao",
        form=form,
        periods=PERIODS,
        effective=asdict(periods),
        defaults=asdict(DEFAULT_PERIODS),
        overrides=overrides,
    )


@router.get("/retencao")
async def retention_page(request: Request, page: ManagerPage, session: DbSession) -> Response:
    return await _render(request, page, session)


@router.post("/retencao")
async def save_retention(request: Request, page: ManagerPage, session: DbSession) -> Response:
    sent = await request.form()
    values = {name: str(sent.get(name, "")).strip()[:10] for name in PERIODS}

    async def write() -> str:
        data = RetentionOverrides.model_validate({name: value or None for name, value in values.items()})
        await retention.set_overrides(session, page.scope, data=data)
        return saved("retencao", "retencao")

    again = partial(_render, request, page, session)
    return await attempt(write, again, locale=page.locale, form="retention", values=values)
