"""The lead page's actions that reach beyond the lead: schedule a visit (activity.service, the visits API's service)
and send a WhatsApp message through the tenant's number (integrations.messaging, as ``POST
/v1/leads/{id}/whatsapp``: a text inside the 24-hour window, an approved template at any time)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from leadflow.activity import service as activities
from leadflow.activity.schemas import VisitCreate
from leadflow.console.auth import Page
from leadflow.console.leads import lead_page_back, local_datetime, optional_id
from leadflow.console.web import ConsoleRoute
from leadflow.integrations import messaging
from leadflow.integrations.credentials import key_ring
from leadflow.integrations.schemas import WhatsAppSend, WhatsAppTemplateIn
from leadflow.kit.errors import ValidationFailed
from leadflow.kit.web import DbSession

router = APIRouter(prefix="/app", route_class=ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=4096)]


@router.post("/leads/{lead_id}/visits")
async def schedule_visit(
    lead_id: uuid.UUID,
    request: Request,
    page: Page,
    session: DbSession,
    scheduled_at: Annotated[str, Form(description="Local date and time (datetime-local)")],
    property_id: Annotated[str, Form()] = "",
    broker_id: Annotated[str, Form()] = "",
    notes: Text = "",
) -> Response:
    data = VisitCreate(
        lead_id=lead_id,
        property_id=optional_id(property_id, "property_id"),
        broker_id=optional_id(broker_id, "broker_id"),
        scheduled_at=local_datetime(scheduled_at, "scheduled_at", page.time_zone),
        notes=notes.strip() or None,
    )
    await activities.schedule_visit(session, page.scope, data=data)
    return lead_page_back(lead_id, request)


@router.post("/leads/{lead_id}/whatsapp")
async def send_whatsapp(
    lead_id: uuid.UUID,
    request: Request,
    page: Page,
    session: DbSession,
    text: Text = "",
    template: Annotated[str, Form(max_length=512)] = "",
    language: Annotated[str, Form(max_length=15)] = "pt_BR",
) -> Response:
    try:
        chosen = WhatsAppTemplateIn(name=template.strip(), language=language) if template.strip() else None
        data = WhatsAppSend(text=text.strip() or None, template=chosen)
    except ValidationError as exc:
        raise ValidationFailed("invalid WhatsApp message: check the text or the template's name") from exc
    ring = key_ring(request.app.state.settings)
    await messaging.send_whatsapp(session, page.scope, lead_id=lead_id, data=data, ring=ring)
    return lead_page_back(lead_id, request)
