"""Chatwoot outbound: when a lead is created or assigned, hand it over to the tenant's Chatwoot inbox (contact,
conversation, labels, the broker's agent, a private note with the lead's context and why it was routed so).

Uses the tenant's Chatwoot connection (``integration_connections``, provider ``chatwoot``, from the integrations
core); a connection without an API token or an inbox is inbound only and is skipped. The contact id is kept in
``external_refs`` (person → contact); the conversation is found again through the contact, so a new lead of the
same person lands in the same open conversation.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.integrations.chatwoot.client import ChatHandOver, ChatRefs, ChatwootClient, ChatwootError
from leadflow.integrations.chatwoot.inbound import ChatwootSettings
from leadflow.integrations.credentials import opened_settings
from leadflow.integrations.registry import provider
from leadflow.kit.http import SsrfPolicy
from leadflow.kit.scope import Scope
from leadflow.kit.sealing import KeyRing, SealBroken
from leadflow.models import (
    ConnectionStatus,
    ExternalRef,
    IdentityKind,
    IntegrationConnection,
    Lead,
    RoutingDecisionRecord,
)
from leadflow.sync.fields import our_fields
from leadflow.sync.repository import ExternalRefRepository, SyncSourceRepository
from leadflow.sync.service import CRM_RETRY

log = structlog.get_logger("leadflow.sync.chat")
CHATWOOT = "chatwoot"


async def hand_over_lead(
    session: AsyncSession, scope: Scope, *, lead_id: uuid.UUID, ring: KeyRing, policy: SsrfPolicy, now: datetime
) -> ChatRefs | None:
    """Hand the lead over to Chatwoot; None when the tenant has no outbound Chatwoot connection or no such lead.
    Raises :class:`ChatwootError` (``retryable``) for failures worth a bus retry; others are recorded on the
    connection."""
    stmt = select(IntegrationConnection).where(IntegrationConnection.provider == CHATWOOT)
    connection = (await session.scalars(stmt)).first()
    spec = provider(CHATWOOT)
    lead = await session.get(Lead, lead_id)
    if connection is None or spec is None or lead is None:
        return None
    if not connection.settings.get("inbox_id"):
        return None  # inbound only
    try:
        chat: ChatwootSettings = opened_settings(ring, spec, connection)
    except SealBroken:
        log.error("chatwoot.credentials_unreadable", connection_id=str(connection.id))
        return None
    if chat.api_access_token is None or chat.inbox_id is None:
        return None
    handover = await _describe(session, lead)
    refs = ExternalRefRepository(session)
    ref = (await refs.for_entities(CHATWOOT, "person", [lead.person_id])).get(lead.person_id)
    client = ChatwootClient(
        chat.base_url,
        chat.account_id,
        chat.api_access_token.get_secret_value(),
        policy=policy,
        retry=CRM_RETRY,
        timeout=10.0,
    )
    try:
        result = await client.hand_over(handover, inbox_id=chat.inbox_id, contact_id=ref.external_id if ref else None)
    except ChatwootError as error:
        connection.status, connection.last_error, connection.last_error_at = ConnectionStatus.FAILING, str(error), now
        log.warning("chatwoot.hand_over_failed", lead_id=str(lead_id), status=error.status)
        if error.retryable:
            raise
        return None
    if ref is None:
        ref = ExternalRef(provider=CHATWOOT, entity_type="person", entity_id=lead.person_id, external_type="contact")
        session.add(ref)
    ref.external_id, ref.last_pushed_at = result.contact_id, now
    connection.status, connection.last_success_at = ConnectionStatus.ACTIVE, now
    return result


async def _describe(session: AsyncSession, lead: Lead) -> ChatHandOver:
    source = SyncSourceRepository(session)
    [person] = await source.people([lead.person_id])
    identities = await source.primary_identities([person.id])
    stage = (await source.stages({lead.stage_id})).get(lead.stage_id)
    owner = (await source.users({lead.owner_id})).get(lead.owner_id) if lead.owner_id else None
    values = our_fields(
        person,
        email=identities.get((person.id, IdentityKind.EMAIL)),
        phone=identities.get((person.id, IdentityKind.PHONE)),
        lead=lead,
        stage=stage,
        owner=owner,
    )
    attributes: dict[str, str] = {
        k: values[k] for k in ("lead_id", "source", "channel", "utm_campaign", "stage") if k in values
    }
    why = await session.scalar(
        select(RoutingDecisionRecord.why)
        .where(RoutingDecisionRecord.lead_id == lead.id)
        .order_by(RoutingDecisionRecord.decided_at.desc())
        .limit(1)
    )
    lines = [
        f"Lead: {person.name}" + (f" — {values['stage']}" if "stage" in values else ""),
        *(f"{label}: {values[key]}" for key, label in _NOTE_FIELDS if key in values),
    ]
    if owner is not None:
        lines.append(f"Corretor: {owner.name} <{owner.email}>")
    if why:
        lines.append(f"Roteamento: {why}")
    return ChatHandOver(
        identifier=str(person.id),
        name=person.name,
        email=values.get("email"),
        phone=values.get("phone"),
        custom_attributes=attributes,
        labels=sorted({_label(tag) for tag in lead.tags if _label(tag)}),
        agent_email=owner.email if owner else None,
        note="\n".join(lines),
    )


_NOTE_FIELDS = (("source", "Origem"), ("channel", "Canal"), ("utm_campaign", "Campanha"), ("phone", "Telefone"))


def _label(tag: str) -> str:
    # Chatwoot labels are lowercase slugs.
    return "-".join("".join(c if c.isalnum() else " " for c in tag.lower()).split())
