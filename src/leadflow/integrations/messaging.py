"""A broker writes to a lead on WhatsApp: a text inside the 24-hour customer-service window opened by the
person's last message, an approved template at any time. The reply goes to the ``wa_id`` exactly as received."""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.activity.schemas import InteractionCreate
from leadflow.activity.service import log_interaction
from leadflow.integrations.base import ProviderError, SentMessage, Template
from leadflow.integrations.credentials import opened_settings
from leadflow.integrations.registry import provider
from leadflow.integrations.repository import ChannelContactRepository, ConnectionRepository
from leadflow.integrations.schemas import WhatsAppSend, WhatsAppSent, WhatsAppTemplateIn
from leadflow.integrations.service import note_failure, note_success
from leadflow.integrations.whatsapp.provider import WhatsAppMessaging
from leadflow.kit.errors import Conflict, LeadflowError, ValidationFailed
from leadflow.kit.scope import Scope
from leadflow.kit.sealing import KeyRing
from leadflow.kit.time import utcnow
from leadflow.lead.service import get_lead, read_lead
from leadflow.models import Direction, IntegrationConnection, InteractionChannel, Lead
from leadflow.privacy.service import marketing_permission

log = structlog.get_logger("leadflow.integrations")
SERVICE_WINDOW = timedelta(hours=24)
WHATSAPP = "whatsapp"


class OutsideServiceWindow(Conflict):
    code = "outside-service-window"
    title = "Outside the 24-hour customer-service window"


class ProviderRefused(LeadflowError):
    status = 502
    code = "provider-refused"
    title = "The messaging provider refused the message"


async def send_whatsapp(
    session: AsyncSession, scope: Scope, *, lead_id: uuid.UUID, data: WhatsAppSend, ring: KeyRing
) -> WhatsAppSent:
    """Raises LeadNotFound (404) for a lead the actor cannot see; ValidationFailed (422) without exactly one of
    text/template or when the person never wrote on WhatsApp; OutsideServiceWindow (409) for a text more than 24 h
    after their last message; ProviderRefused (502) when the Graph API refuses or fails."""
    if (data.text is None) == (data.template is None):
        raise ValidationFailed("send either a text or a template", errors=[{"field": "text", "message": "one of"}])
    lead = await get_lead(session, scope, lead_id=lead_id)
    contact = await ChannelContactRepository(session).latest_of_person(lead.person_id)
    connection = await ConnectionRepository(session).get(contact.connection_id) if contact else None
    to = contact.address if contact is not None else None
    if (connection is None or connection.provider != WHATSAPP) and data.template is not None:
        connection, to = await _business_initiated(session, lead)
    if connection is None or connection.provider != WHATSAPP or to is None:
        raise ValidationFailed(
            "this person has not written on WhatsApp yet", errors=[{"field": "lead_id", "message": "no WhatsApp"}]
        )
    now = utcnow()
    last_inbound = contact.last_inbound_at if contact is not None else None
    if data.text is not None and (last_inbound is None or now - last_inbound > SERVICE_WINDOW):
        raise OutsideServiceWindow(
            "the person's last message is more than 24 hours old: send an approved template instead"
        )
    spec = provider(connection.provider)
    assert spec is not None
    messaging = WhatsAppMessaging(opened_settings(ring, spec, connection))
    try:
        sent = await _send(messaging, to, data)
    except ProviderError as exc:
        note_failure(connection, str(exc))
        log.warning("integrations.send_failed", provider="whatsapp", status=exc.status)
        raise ProviderRefused(str(exc)) from None
    note_success(connection)
    interaction = await log_interaction(
        session,
        scope,
        data=InteractionCreate(
            lead_id=lead.id,
            channel=InteractionChannel.WHATSAPP,
            direction=Direction.OUTBOUND,
            occurred_at=now,
            body=data.text or f"[modelo] {data.template.name if data.template else ''}",
        ),
    )
    interaction.external_id = sent.external_id
    interaction.delivery_status = "accepted"
    interaction.meta = {
        "to": sent.recipient,
        "connection": connection.key,
        "template": data.template.model_dump() if data.template else None,
    }
    await session.flush()
    return WhatsAppSent(
        interaction_id=interaction.id, external_id=sent.external_id, to=sent.recipient, delivery_status="accepted"
    )


async def _send(messaging: WhatsAppMessaging, to: str, data: WhatsAppSend) -> SentMessage:
    if data.template is not None:
        template = Template(data.template.name, data.template.language, data.template.components)
        return await messaging.send_template(to, template)
    assert data.text is not None
    return await messaging.send_text(to, data.text)


async def _business_initiated(session: AsyncSession, lead: Lead) -> tuple[IntegrationConnection | None, str | None]:
    """A template may open a conversation with someone who never wrote (a business-initiated conversation): from
    the tenant's WhatsApp number to the person's primary phone as the lead shows it (``wa_id``: E.164 digits)."""
    numbers = await ConnectionRepository(session).of_provider(WHATSAPP)
    phone = (await read_lead(session, lead)).person_phone
    if not numbers or phone is None:
        return None, None
    return numbers[0], phone.removeprefix("+")


async def send_marketing(session: AsyncSession, scope: Scope, *, payload: dict[str, str], ring: KeyRing) -> None:
    """A rule's marketing template (``lead.marketing_due``). The consents were read when the rule matched (the
    decision log says so); they are read again now, so a withdrawal in between wins. A person the tenant cannot
    reach on WhatsApp is logged and left (retrying would not change it); a refusal of the Graph API raises, so the
    bus retries and dead-letters it visibly."""
    lead = await get_lead(session, scope, lead_id=uuid.UUID(payload["lead_id"]))
    permission = await marketing_permission(session, scope, person_id=lead.person_id, channel=payload["channel"])
    if not permission.allowed:
        log.info("marketing.withheld", lead_id=str(lead.id), rule_id=payload.get("rule_id"), why=permission.why)
        return
    template = WhatsAppTemplateIn(name=payload["template"], language=payload.get("language", "pt_BR"))
    try:
        await send_whatsapp(session, scope, lead_id=lead.id, data=WhatsAppSend(template=template), ring=ring)
    except ValidationFailed as unreachable:
        log.warning("marketing.not_sent", lead_id=str(lead.id), rule_id=payload.get("rule_id"), why=unreachable.detail)
