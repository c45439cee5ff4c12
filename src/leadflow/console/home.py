"""The user's home: Meu dia for a broker (what to answer and do today), the Painel for managers and owners."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import Response

from leadflow.activity import service as activities
from leadflow.activity.schemas import InteractionCreate
from leadflow.console import painel
from leadflow.console.auth import Page
from leadflow.console.web import ConsoleRoute, render
from leadflow.kit.errors import ValidationFailed
from leadflow.kit.web import DbSession
from leadflow.lead import service as leads
from leadflow.models import Direction, InteractionChannel

router = APIRouter(prefix="/app", route_class=ConsoleRoute, include_in_schema=False)
ONE_TAP_CHANNELS = {"whatsapp": InteractionChannel.WHATSAPP, "call": InteractionChannel.CALL}


@router.get("")
@router.get("/")
async def home(request: Request, page: Page, session: DbSession) -> Response:
    if page.is_manager:
        return await painel.render_painel(request, page, session, nav="painel")
    day = await activities.my_day(session, page.scope)
    awaiting_ids = [lead.id for lead in day.awaiting_first_response]
    rows = [await leads.get_lead(session, page.scope, lead_id=lead_id) for lead_id in awaiting_ids]
    contacts = {lead.id: lead for lead in await leads.read_leads(session, rows)}
    return render(request, "my_day.html", page=page, nav="home", day=day, contacts=contacts)


@router.post("/leads/{lead_id}/contact", status_code=status.HTTP_204_NO_CONTENT)
async def one_tap_contact(
    lead_id: uuid.UUID, page: Page, session: DbSession, channel: Annotated[str, Form()] = ""
) -> Response:
    """A tap on a WhatsApp or call link: logged as an outbound contact (the lead's first response, if it is)."""
    if channel not in ONE_TAP_CHANNELS:
        raise ValidationFailed("channel must be whatsapp or call")
    data = InteractionCreate(lead_id=lead_id, channel=ONE_TAP_CHANNELS[channel], direction=Direction.OUTBOUND)
    await activities.log_interaction(session, page.scope, data=data)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
