"""Turning stored deliveries into CRM facts, on the bus (each step idempotent, in the handler's transaction):

- a WhatsApp message becomes an interaction on the person's open lead; an unknown person becomes a new person
  and lead through the pipeline's conversion path (rules, roleta, SLA), with a Click-to-WhatsApp referral as the
  lead's attribution touch;
- a WhatsApp status moves the outbound message's delivery status forward;
- a portal lead is a conversion on the listing's property (its captador first in the roleta).
"""

from __future__ import annotations

import dataclasses
import io
import json
import uuid
from datetime import datetime
from typing import Any, BinaryIO

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.activity.attachments import AttachmentTarget, upload_attachment
from leadflow.activity.schemas import InteractionCreate
from leadflow.activity.service import log_interaction
from leadflow.bus.outbox import enqueue
from leadflow.capture.repository import EventRepository
from leadflow.capture.sealing import link_event_to_person, open_event, seal_rows
from leadflow.config import get_settings
from leadflow.integrations.base import ProviderError
from leadflow.integrations.chatwoot.inbound import ChatEvent, read_chat_event
from leadflow.integrations.credentials import key_ring, opened_settings
from leadflow.integrations.events import LeadgenReceived, MediaPending
from leadflow.integrations.instagram.provider import DirectMessage, read_direct_messages
from leadflow.integrations.meta_leads.provider import AdLead, MetaLeadsClient, read_leadgen
from leadflow.integrations.registry import provider
from leadflow.integrations.repository import (
    ChannelContactRepository,
    ChannelMessageRepository,
    ConnectionRepository,
    OpenLeadsOfPerson,
)
from leadflow.integrations.service import note_success
from leadflow.integrations.whatsapp.parsing import (
    InboundMessage,
    StatusUpdate,
    is_later_status,
    read_notification,
)
from leadflow.integrations.whatsapp.provider import WhatsAppMessaging
from leadflow.integrations.zap.provider import PortalLead, read_portal_lead
from leadflow.kit.errors import LeadflowError
from leadflow.kit.ids import new_id
from leadflow.kit.scope import Scope
from leadflow.kit.storage import storage_from_settings
from leadflow.kit.time import utcnow
from leadflow.models import (
    ChannelContact,
    ConversionKind,
    Direction,
    Event,
    EventType,
    IdentityKind,
    IntegrationConnection,
    Interaction,
    InteractionChannel,
    Lead,
    LeadForm,
    Person,
)
from leadflow.person.identities import IdentityValue, email_identity, phone_identity, whatsapp_identity
from leadflow.person.repository import PersonRepository
from leadflow.person.schemas import PersonCreate
from leadflow.person.service import attach_identity, create_person, find_people_by_identity, find_visitor
from leadflow.pipeline.enrich import Device, attribution_from_fields, normalize_contact
from leadflow.pipeline.intake import Submission
from leadflow.pipeline.repository import LoggedEventRepository
from leadflow.pipeline.service import convert_contact, identify
from leadflow.property.repository import PropertyRepository

log = structlog.get_logger("leadflow.integrations")
PORTAL_SOURCES = {"vivareal": "vivareal", "zap": "zapimoveis", "grupozap": "zapimoveis", "grupo olx": "olx"}


async def take_delivery(session: AsyncSession, scope: Scope, *, event_id: uuid.UUID, connection_id: uuid.UUID) -> None:
    event = await LoggedEventRepository(session).get(event_id)
    connection = await ConnectionRepository(session).get(connection_id)
    if event is None or connection is None:  # disconnected since: the raw delivery stays in the log
        log.warning("integrations.delivery_orphaned", event_id=str(event_id), connection_id=str(connection_id))
        return
    opened = await open_event(session, scope, event)
    if not isinstance(raw := opened.payload.get("raw"), str):  # its sender was anonymised: nothing left to take
        log.info("integrations.delivery_unreadable", event_id=str(event_id), anonymised=opened.anonymised)
        return
    body = json.loads(raw)
    if connection.provider == "whatsapp":
        await _take_whatsapp(session, scope, connection, event, body)
    elif connection.provider == "zap":
        await _take_portal_lead(session, scope, connection, event, read_portal_lead(body))
    elif connection.provider == "meta_leads":
        await _log_each_leadgen(session, scope, connection, event, body)
    elif connection.provider == "chatwoot":
        chat = read_chat_event(body)
        if chat is not None:
            await take_chat_event(session, scope, connection=connection, event=event, chat=chat)
    elif connection.provider == "instagram":
        for message in read_direct_messages(body):
            await take_direct_message(session, scope, connection=connection, event=event, message=message)


# WhatsApp


async def _take_whatsapp(
    session: AsyncSession, scope: Scope, connection: IntegrationConnection, event: Event, body: Any
) -> None:
    notification = read_notification(body)
    ours = connection.settings.get("phone_number_id")
    for message in notification.messages:
        if message.phone_number_id is not None and message.phone_number_id != ours:
            # One Meta app may deliver several numbers' messages to one URL: only this connection's are ours.
            log.info("integrations.message_for_another_number", connection=connection.key)
            continue
        await take_whatsapp_message(session, scope, connection=connection, event=event, message=message)
    for status in notification.statuses:
        await apply_whatsapp_status(session, status)


async def take_whatsapp_message(
    session: AsyncSession, scope: Scope, *, connection: IntegrationConnection, event: Event, message: InboundMessage
) -> Interaction | None:
    """One inbound message on the person's lead (a new person and routed lead when unknown); once per wamid."""
    messages = ChannelMessageRepository(session)
    if await messages.by_external_id(InteractionChannel.WHATSAPP, message.id) is not None:
        return None
    now = utcnow()
    at = min(message.occurred_at or now, now)
    person = await _whatsapp_person(session, scope, message)
    await link_event_to_person(session, scope, event=event, person_id=person.id)
    address = message.wa_id or message.user_id
    assert address is not None  # the parser keeps only messages with a sender
    await _remember_contact(session, connection, person, address=address, user_id=message.user_id, at=at)
    lead = await OpenLeadsOfPerson(session).latest(person.id)
    if lead is None:
        lead = await _whatsapp_lead(session, scope, connection, event, message, person, now=now)
    interaction = await log_interaction(
        session,
        scope,
        data=InteractionCreate(
            lead_id=lead.id,
            channel=InteractionChannel.WHATSAPP,
            direction=Direction.INBOUND,
            occurred_at=at,
            body=message.text,
        ),
    )
    interaction.external_id = message.id
    interaction.meta = {"type": message.type, "from": address, "connection": connection.key}
    if message.media is not None:
        payload = {
            "interaction_id": str(interaction.id),
            "connection_id": str(connection.id),
            "media_id": message.media.id,
            "mime_type": message.media.mime_type,
            "filename": message.media.filename or f"whatsapp-{message.media.kind}",
        }
        enqueue(session, MediaPending(tenant_id=connection.tenant_id, payload=payload))
    return interaction


async def _whatsapp_person(session: AsyncSession, scope: Scope, message: InboundMessage) -> Person:
    """By Meta's user id first (stable across number changes), then by wa_id — which meets phones and WhatsApp
    numbers with or without the ninth digit."""
    identities = _whatsapp_identities(message)
    for identity in identities:
        known = await find_people_by_identity(session, scope, whatsapp_id=identity.value)
        if known:
            person = known[0]
            break
    else:
        data = PersonCreate(name=message.name or message.wa_id or "Contato do WhatsApp")
        person = await create_person(session, scope, data=data)
    for identity in identities:
        await attach_identity(session, scope, person=person, identity=identity)
    return person


def _whatsapp_identities(message: InboundMessage) -> list[IdentityValue]:
    found = []
    for raw in (message.user_id, message.wa_id):
        if raw:
            try:
                found.append(whatsapp_identity(raw))
            except ValueError:
                log.info("integrations.unreadable_whatsapp_id", kind="user_id" if raw == message.user_id else "wa_id")
    return found


async def _remember_contact(
    session: AsyncSession,
    connection: IntegrationConnection,
    person: Person,
    *,
    address: str,
    user_id: str | None,
    at: datetime | None,
) -> ChannelContact:
    repo = ChannelContactRepository(session)
    contact = await repo.by_address(connection.id, address)
    if contact is None:
        contact = repo.add(ChannelContact(connection_id=connection.id, person_id=person.id, address=address))
    contact.person_id = person.id
    contact.user_id = user_id or contact.user_id
    if at is not None and (contact.last_inbound_at is None or at > contact.last_inbound_at):
        contact.last_inbound_at = at
    await session.flush()
    return contact


async def _whatsapp_lead(
    session: AsyncSession,
    scope: Scope,
    connection: IntegrationConnection,
    event: Event,
    message: InboundMessage,
    person: Person,
    *,
    now: datetime,
) -> Lead:
    referral = message.referral
    fields: dict[str, object] = {"utm_source": "whatsapp", "utm_medium": "referral"}
    if referral is not None:
        fields = {
            "utm_source": "facebook" if referral.source_type == "ad" else "whatsapp",
            "utm_medium": "paid" if referral.source_type == "ad" else "referral",
            "utm_campaign": referral.headline,
            "utm_content": referral.source_id,
            "ctwa_clid": referral.ctwa_clid,
            "landing_page": referral.source_url,
        }
    touch = attribution_from_fields({k: v for k, v in fields.items() if v})
    submission = Submission(
        event_id=event.id,
        form_key=None,
        name=message.name,
        message=None,  # logged as the WhatsApp interaction itself
        contact=normalize_contact(email=None, phone=f"+{message.wa_id}" if message.wa_id else None),
        tracking_id=None,
        first_touch=touch,
        last_touch=touch,
        device=Device(),
    )
    origin = LeadForm(key=connection.key, name="WhatsApp", team_id=connection.team_id, source="whatsapp")
    conversion = await convert_contact(
        session, scope, event=event, submission=submission, person=person, origin=origin, now=now
    )
    lead = await session.get(Lead, conversion.lead_id)
    assert lead is not None
    if referral is not None:
        lead.first_touch = {**lead.first_touch, **_referral_extras(referral)}
        conversion.attribution = {**conversion.attribution, "referral": _referral_extras(referral)}
    return lead


def _referral_extras(referral: Any) -> dict[str, str]:
    names = ("ctwa_clid", "source_url", "source_id", "source_type", "headline", "body", "media_type")
    return {f"ctwa_{n}" if not n.startswith("ctwa") else n: v for n in names if (v := getattr(referral, n))}


async def apply_whatsapp_status(session: AsyncSession, status: StatusUpdate) -> None:
    """Statuses arrive out of order and repeated: only a later one moves the message forward."""
    interaction = await ChannelMessageRepository(session).by_external_id(InteractionChannel.WHATSAPP, status.id)
    if interaction is None:
        log.info("integrations.status_for_unknown_message", status=status.status)
        return
    if not is_later_status(interaction.delivery_status, status.status):
        return
    interaction.delivery_status = status.status
    history = list(interaction.meta.get("statuses", []))
    history.append(
        {
            "status": status.status,
            "at": status.occurred_at.isoformat() if status.occurred_at else None,
            "error": status.error,
        }
    )
    interaction.meta = {**interaction.meta, "statuses": history}


async def attach_media(session: AsyncSession, scope: Scope, *, payload: dict[str, Any]) -> None:
    """Download a message's media from the Graph API and keep it as the interaction's attachment (once)."""
    interaction = await ChannelMessageRepository(session).get(uuid.UUID(payload["interaction_id"]))
    connection = await ConnectionRepository(session).get(uuid.UUID(payload["connection_id"]))
    if interaction is None or connection is None or interaction.meta.get("attachment_id"):
        return
    spec = provider(connection.provider)
    assert spec is not None
    settings = get_settings()
    messaging = WhatsAppMessaging(opened_settings(key_ring(settings), spec, connection))
    content, mime = await messaging.fetch_media(payload["media_id"])  # ProviderError: the bus retries
    upload = MemoryUpload(payload["filename"], payload.get("mime_type") or mime, content)
    try:
        attachment = await upload_attachment(
            session,
            scope,
            upload=upload,
            target=AttachmentTarget(interaction_id=interaction.id),
            storage=storage_from_settings(settings),
            max_bytes=settings.max_upload_bytes,
        )
    except LeadflowError as refused:  # a kind of file we do not keep: say so on the message, do not retry
        interaction.meta = {**interaction.meta, "attachment_error": refused.detail}
        return
    interaction.meta = {**interaction.meta, "attachment_id": str(attachment.id)}
    note_success(connection)


class MemoryUpload:
    """A downloaded file handed to the attachments service as if it had been uploaded."""

    def __init__(self, filename: str | None, content_type: str | None, content: bytes) -> None:
        self.filename = filename
        self.content_type = content_type
        self.file: BinaryIO = io.BytesIO(content)

    async def read(self, size: int = -1) -> bytes:
        return self.file.read(size)

    async def seek(self, offset: int) -> None:
        self.file.seek(offset)


# Chatwoot


async def take_chat_event(
    session: AsyncSession, scope: Scope, *, connection: IntegrationConnection, event: Event, chat: ChatEvent
) -> None:
    """A chat ties its contact to the visitor (tracking id) or person (phone, e-mail); a conversation is a
    conversion (a lead when the person has none open); its messages are interactions, so an agent's reply is
    the lead's first response."""
    if chat.contact is None or (chat.event == "message_created" and chat.private):
        return
    incoming = chat.event == "message_created" and chat.incoming
    person = await _chat_person(session, scope, connection, event, chat, at=utcnow() if incoming else None)
    if person is None or chat.event == "contact_created":
        return
    await link_event_to_person(session, scope, event=event, person_id=person.id)
    lead = await OpenLeadsOfPerson(session).latest(person.id)
    if lead is None:
        lead = await _chat_lead(session, scope, connection, event, chat, person)
    if chat.event == "message_created":
        await _log_chat_message(session, scope, lead, chat)
    elif chat.event == "conversation_status_changed":
        await log_interaction(
            session,
            scope,
            data=InteractionCreate(
                lead_id=lead.id,
                channel=InteractionChannel.CHAT,
                direction=Direction.INTERNAL,
                subject=f"Conversa {chat.conversation_id} no Chatwoot: {chat.status}"[:200],
            ),
        )
    note_success(connection)


async def _chat_person(
    session: AsyncSession,
    scope: Scope,
    connection: IntegrationConnection,
    event: Event,
    chat: ChatEvent,
    *,
    at: datetime | None,
) -> Person | None:
    contact = chat.contact
    assert contact is not None
    address = f"contact:{contact.id}"
    known = await ChannelContactRepository(session).by_address(connection.id, address)
    person = await session.get(Person, known.person_id) if known is not None else None
    submission = _chat_submission(event, chat)
    if person is None:
        found = await find_people_by_identity(
            session, scope, phone=submission.contact.phone, email=submission.contact.email
        )
        visitor = await find_visitor(session, scope, tracking_id=contact.tracking_id) if contact.tracking_id else None
        if chat.event == "contact_created" and not found and visitor is None:
            return None  # a contact alone is not a lead: wait for a conversation
        person = await identify(session, scope, submission)
    else:
        await identify_more(session, scope, person, submission)
    await _remember_contact(session, connection, person, address=address, user_id=None, at=at)
    return person


async def identify_more(session: AsyncSession, scope: Scope, person: Person, submission: Submission) -> None:
    """A known chat contact may have left an e-mail, a phone or a tracking id since."""
    for raw, parser in ((submission.contact.email, email_identity), (submission.contact.phone, phone_identity)):
        if raw:
            await attach_identity(session, scope, person=person, identity=parser(raw))
    if submission.tracking_id:
        tracking = IdentityValue(IdentityKind.TRACKING_ID, submission.tracking_id, submission.tracking_id)
        await attach_identity(session, scope, person=person, identity=tracking)


def _chat_submission(event: Event, chat: ChatEvent) -> Submission:
    contact = chat.contact
    assert contact is not None
    touch = attribution_from_fields({"landing_page": chat.referer} if chat.referer else {})
    return Submission(
        event_id=event.id,
        form_key=None,
        name=contact.name,
        message=None,
        contact=normalize_contact(email=contact.email, phone=contact.phone),
        tracking_id=contact.tracking_id,
        first_touch=touch,
        last_touch=touch,
        device=Device(),
    )


async def _chat_lead(
    session: AsyncSession,
    scope: Scope,
    connection: IntegrationConnection,
    event: Event,
    chat: ChatEvent,
    person: Person,
) -> Lead:
    origin = LeadForm(key=connection.key, name="Chat do site", team_id=connection.team_id, source="chat")
    conversion = await convert_contact(
        session,
        scope,
        event=event,
        submission=_chat_submission(event, chat),
        person=person,
        origin=origin,
        now=utcnow(),
    )
    lead = await session.get(Lead, conversion.lead_id)
    assert lead is not None
    return lead


async def _log_chat_message(session: AsyncSession, scope: Scope, lead: Lead, chat: ChatEvent) -> None:
    external_id = f"chatwoot:{chat.message_id}"
    if await ChannelMessageRepository(session).by_external_id(InteractionChannel.CHAT, external_id) is not None:
        return
    interaction = await log_interaction(
        session,
        scope,
        data=InteractionCreate(
            lead_id=lead.id,
            channel=InteractionChannel.CHAT,
            direction=Direction.INBOUND if chat.incoming else Direction.OUTBOUND,
            body=chat.content,
        ),
    )
    interaction.external_id = external_id
    interaction.meta = {"conversation_id": chat.conversation_id}


# Instagram


async def take_direct_message(
    session: AsyncSession, scope: Scope, *, connection: IntegrationConnection, event: Event, message: DirectMessage
) -> Interaction | None:
    """An Instagram DM on the person's open lead, the person known by their Instagram-scoped id; once per mid."""
    if await ChannelMessageRepository(session).by_external_id(InteractionChannel.INSTAGRAM, message.id) is not None:
        return None
    now = utcnow()
    at = min(message.occurred_at or now, now)
    identity = IdentityValue(IdentityKind.INSTAGRAM, message.sender_id, message.sender_id)
    person = await PersonRepository(session).holding(IdentityKind.INSTAGRAM, message.sender_id)
    if person is None:
        person = await create_person(session, scope, data=PersonCreate(name="Contato do Instagram"))
        await attach_identity(session, scope, person=person, identity=identity)
    await link_event_to_person(session, scope, event=event, person_id=person.id)
    await _remember_contact(session, connection, person, address=message.sender_id, user_id=None, at=at)
    lead = await OpenLeadsOfPerson(session).latest(person.id)
    if lead is None:
        paid = message.ad_id is not None
        fields = {"utm_source": "instagram", "utm_medium": "paid" if paid else "social", "utm_content": message.ad_id}
        touch = attribution_from_fields({k: v for k, v in fields.items() if v})
        submission = Submission(
            event_id=event.id,
            form_key=None,
            name=None,
            message=None,
            contact=normalize_contact(email=None, phone=None),
            tracking_id=None,
            first_touch=touch,
            last_touch=touch,
            device=Device(),
        )
        origin = LeadForm(key=connection.key, name="Instagram", team_id=connection.team_id, source="instagram")
        conversion = await convert_contact(
            session, scope, event=event, submission=submission, person=person, origin=origin, now=now
        )
        lead = await session.get(Lead, conversion.lead_id)
        assert lead is not None
    interaction = await log_interaction(
        session,
        scope,
        data=InteractionCreate(
            lead_id=lead.id,
            channel=InteractionChannel.INSTAGRAM,
            direction=Direction.INBOUND,
            occurred_at=at,
            body=message.text,
        ),
    )
    interaction.external_id = message.id
    interaction.meta = {"from": message.sender_id, "connection": connection.key}
    note_success(connection)
    return interaction


# Meta Lead Ads


async def _log_each_leadgen(
    session: AsyncSession, scope: Scope, connection: IntegrationConnection, event: Event, body: Any
) -> None:
    """One log row per lead id (its own idempotency key and conversion), each announced to its own step."""
    for notice in read_leadgen(body):
        row_id = new_id()
        row = {
            "id": row_id,
            "tenant_id": connection.tenant_id,
            "type": EventType.WEBHOOK,
            "name": "meta_leads.leadgen",
            "source": "meta_leads",
            "message_id": f"leadgen-lead:{notice.leadgen_id}",
            "received_at": event.received_at,
            "occurred_at": event.occurred_at,
            "schema_version": event.schema_version,
            "payload": {
                "connection_id": str(connection.id),
                "delivery_event_id": str(event.id),
                "notice": dataclasses.asdict(notice),
            },
        }
        await seal_rows(session, scope, [row])
        if row_id in await EventRepository(session).append([row]):
            payload = {"event_id": str(row_id), "connection_id": str(connection.id)}
            enqueue(session, LeadgenReceived(tenant_id=connection.tenant_id, payload=payload))


async def take_leadgen(session: AsyncSession, scope: Scope, *, event_id: uuid.UUID, connection_id: uuid.UUID) -> None:
    """Fetch the lead from the Graph API and convert it; a provider failure raises for the bus to retry."""
    event = await LoggedEventRepository(session).get(event_id)
    connection = await ConnectionRepository(session).get(connection_id)
    if event is None or connection is None:
        log.warning("integrations.leadgen_orphaned", event_id=str(event_id))
        return
    spec = provider(connection.provider)
    assert spec is not None
    notice = (await open_event(session, scope, event)).payload["notice"]
    client = MetaLeadsClient(opened_settings(key_ring(get_settings()), spec, connection))
    try:
        ad_lead = await client.fetch_lead(notice["leadgen_id"])
    except ProviderError as exc:
        log.warning(
            "integrations.leadgen_fetch_failed", leadgen_id=notice["leadgen_id"], status=exc.status, error=str(exc)
        )
        raise
    await _convert_ad_lead(session, scope, connection, event, ad_lead, notice)
    note_success(connection)


async def _convert_ad_lead(
    session: AsyncSession,
    scope: Scope,
    connection: IntegrationConnection,
    event: Event,
    ad_lead: AdLead,
    notice: dict[str, Any],
) -> None:
    ids = {"form_id": notice.get("form_id"), "ad_id": notice.get("ad_id"), "adset_id": notice.get("adgroup_id")}
    attribution = {**{k: v for k, v in ids.items() if v}, **ad_lead.attribution}
    fields = {
        "utm_source": "instagram" if ad_lead.platform == "ig" else "facebook",
        "utm_medium": "lead_ads",
        "utm_campaign": attribution.get("campaign_name") or attribution.get("campaign_id"),
        "utm_content": attribution.get("ad_name") or attribution.get("ad_id"),
        "utm_term": attribution.get("adset_name") or attribution.get("adset_id"),
    }
    touch = attribution_from_fields({k: v for k, v in fields.items() if v})
    submission = Submission(
        event_id=event.id,
        form_key=None,
        name=ad_lead.name,
        message=None,
        contact=normalize_contact(email=ad_lead.email, phone=ad_lead.phone),
        tracking_id=None,
        first_touch=touch,
        last_touch=touch,
        device=Device(),
        extra=ad_lead.answers,
    )
    person = await identify(session, scope, submission)
    origin = LeadForm(key=connection.key, name="Meta Lead Ads", team_id=connection.team_id, source="meta_lead_ads")
    conversion = await convert_contact(
        session, scope, event=event, submission=submission, person=person, origin=origin, now=utcnow()
    )
    conversion.attribution = {**conversion.attribution, "lead_ads": {**attribution, "leadgen_id": ad_lead.id}}
    lead = await session.get(Lead, conversion.lead_id)
    if lead is not None and conversion.kind == ConversionKind.CREATED:
        lead.first_touch = {**lead.first_touch, **{f"meta_{k}": v for k, v in attribution.items()}}


# Portals


async def _take_portal_lead(
    session: AsyncSession, scope: Scope, connection: IntegrationConnection, event: Event, lead_in: PortalLead
) -> None:
    """A portal lead is a conversion on its listing: a new routed lead, or a re-conversion of the open one."""
    listing = await PropertyRepository(session).by_reference(lead_in.listing_reference)
    source = PORTAL_SOURCES.get((lead_in.origin or "").lower(), "zapimoveis")
    touch = attribution_from_fields({"utm_source": source, "utm_medium": "portal"})
    contact = normalize_contact(email=lead_in.email, phone=lead_in.phone)
    person = await _portal_person(session, scope, lead_in, contact.email, contact.phone)
    extra = {
        k: v
        for k, v in (
            ("temperature", lead_in.temperature),
            ("transaction_type", lead_in.transaction_type),
            ("lead_type", lead_in.lead_type),
            ("portal_lead_id", lead_in.origin_lead_id),
        )
        if v
    }
    submission = Submission(
        event_id=event.id,
        form_key=None,
        name=lead_in.name,
        message=lead_in.message,
        contact=contact,
        tracking_id=None,
        first_touch=touch,
        last_touch=touch,
        device=Device(),
        extra=extra,
    )
    origin = LeadForm(
        key=connection.key,
        name=f"Portal {lead_in.origin or 'Grupo ZAP'}"[:120],
        team_id=connection.team_id,
        property_id=listing.id if listing else None,
        source=source,
    )
    await convert_contact(
        session, scope, event=event, submission=submission, person=person, origin=origin, now=utcnow()
    )
    note_success(connection)


async def _portal_person(
    session: AsyncSession, scope: Scope, lead_in: PortalLead, email: str | None, phone: str | None
) -> Person:
    submission = Submission(
        event_id=None,
        form_key=None,
        name=lead_in.name,
        message=None,
        contact=normalize_contact(email=email, phone=phone),
        tracking_id=None,
        first_touch=attribution_from_fields({}),
        last_touch=attribution_from_fields({}),
        device=Device(),
    )
    return await identify(session, scope, submission)
