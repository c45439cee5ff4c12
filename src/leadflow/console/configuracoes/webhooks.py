"""Partner webhooks: endpoints and the events they receive, enable or disable, rotate the signing secret (shown
once), and the last deliveries (redelivery lives in Operações); webhook.service does the work."""

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
from leadflow.webhook import service as webhooks
from leadflow.webhook.events import ALL, SUBSCRIBABLE
from leadflow.webhook.schemas import DeliveryRead, EndpointCreate, EndpointRead, EndpointUpdate

router = section_router()
Text = Annotated[str, Form(max_length=2048)]
RECENT = 5


async def _render(
    request: Request,
    page: ConsolePage,
    session: AsyncSession,
    form: FormState | None = None,
    *,
    secret: str | None = None,
    secret_of: uuid.UUID | None = None,
) -> Response:
    endpoints = [EndpointRead.model_validate(e) for e in await webhooks.list_endpoints(session, page.scope)]
    deliveries = {}
    for endpoint in endpoints:
        rows, _ = await webhooks.list_deliveries(
            session, page.scope, endpoint_id=endpoint.id, cursor=None, limit=RECENT
        )
        deliveries[endpoint.id] = [DeliveryRead.model_validate(row) for row in rows]
    return render_section(
        request,
        page,
        "webhooks",
        form=form,
        endpoints=endpoints,
        deliveries=deliveries,
        event_types=(ALL, *SUBSCRIBABLE),
        secret=secret,
        secret_of=secret_of,
    )


def _config(request: Request) -> webhooks.WebhookConfig:
    return webhooks.WebhookConfig.from_settings(request.app.state.settings)


@router.get("/webhooks")
async def webhooks_page(request: Request, page: ManagerPage, session: DbSession) -> Response:
    return await _render(request, page, session)


@router.post("/webhooks")
async def create_endpoint(
    request: Request, page: ManagerPage, session: DbSession, url: Text = "", description: Text = ""
) -> Response:
    """The signing secret is shown on this answer only (sealed at rest)."""
    event_types = [str(value) for value in (await request.form()).getlist("event_types")][:50]

    async def write() -> Response:
        data = EndpointCreate(url=url, description=description, event_types=event_types)
        endpoint, secret = await webhooks.create_endpoint(session, page.scope, data=data, config=_config(request))
        return await _render(request, page, session, secret=secret, secret_of=endpoint.id)

    values = {"url": url, "description": description, "event_types": ",".join(event_types)}
    again = partial(_render, request, page, session)
    return await attempt(write, again, locale=page.locale, form="new-endpoint", values=values)


@router.post("/webhooks/{endpoint_id}")
async def update_endpoint(
    endpoint_id: uuid.UUID, request: Request, page: ManagerPage, session: DbSession, enabled: Text = ""
) -> Response:
    """Enable or disable (``enabled``), or change the events received (``event_types``)."""
    await webhooks.get_endpoint(session, page.scope, endpoint_id=endpoint_id)  # another tenant's endpoint: 404
    sent = await request.form()
    changes: dict[str, object] = {}
    if enabled:
        changes["enabled"] = enabled == "true"
    if "events" in sent:
        changes["event_types"] = [str(value) for value in sent.getlist("event_types")][:50]

    async def write() -> str:
        data = EndpointUpdate.model_validate(changes)
        await webhooks.update_endpoint(session, page.scope, endpoint_id=endpoint_id, data=data, config=_config(request))
        return saved("webhooks", "webhook")

    again = partial(_render, request, page, session)
    return await attempt(write, again, locale=page.locale, form=f"endpoint-{endpoint_id}", values={})


@router.post("/webhooks/{endpoint_id}/segredo")
async def rotate_secret(endpoint_id: uuid.UUID, request: Request, page: ManagerPage, session: DbSession) -> Response:
    secret, _ = await webhooks.rotate_secret(session, page.scope, endpoint_id=endpoint_id, config=_config(request))
    return await _render(request, page, session, secret=secret, secret_of=endpoint_id)
