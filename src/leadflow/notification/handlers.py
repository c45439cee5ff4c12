"""Notifications on the bus: who hears of an SLA hand-over, of a rule's ``notify``, of a disabled partner
endpoint. Each handler runs once per event (the bus's handler runs), so each notice is written once."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.events import DomainEvent
from leadflow.bus.registry import subscribe
from leadflow.kit.scope import Scope
from leadflow.notification.repository import RecipientRepository
from leadflow.notification.service import (
    RULE_NOTICE,
    SLA_HANDED_TO_YOU,
    SLA_TAKEN_FROM_YOU,
    WEBHOOK_ENDPOINT_DISABLED,
    notify,
)

log = structlog.get_logger("leadflow.notification")


def _ids(*values: object) -> list[uuid.UUID]:
    return [uuid.UUID(str(value)) for value in values if value]


@subscribe("lead.sla_breached", name="notification.sla_breached")
async def on_sla_breached(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    """The broker who now has the lead (or the manager it was escalated to), and the one who lost it."""
    facts = event.payload
    link = f"/app/leads/{facts['lead_id']}"
    params = {"lead_id": facts["lead_id"], "escalated": bool(facts.get("escalated_to_manager"))}
    await notify(session, user_ids=_ids(facts.get("next_owner_id")), kind=SLA_HANDED_TO_YOU, params=params, link=link)
    lost = _ids(facts.get("breached_owner_id"))
    await notify(session, user_ids=lost, kind=SLA_TAKEN_FROM_YOU, params={"lead_id": facts["lead_id"]}, link=link)


@subscribe("lead.notification_requested", name="notification.rule_notice")
async def on_rule_notice(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    facts = event.payload
    target = str(facts.get("notify", ""))
    recipients = await RecipientRepository(session).named(target)
    if not recipients:
        log.warning("notification.nobody", target=target, lead_id=facts.get("lead_id"))
        return
    params = {"lead_id": facts["lead_id"], "target": target}
    await notify(session, user_ids=recipients, kind=RULE_NOTICE, params=params, link=f"/app/leads/{facts['lead_id']}")


@subscribe("webhook.endpoint_disabled", name="notification.webhook_disabled")
async def on_endpoint_disabled(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    """Whoever created the endpoint; the owners when nobody did (or they are gone)."""
    facts = event.payload
    recipients = await RecipientRepository(session).active(_ids(facts.get("notify_user_id")))
    if not recipients:
        recipients = await RecipientRepository(session).owners()
    params = {"endpoint_id": facts.get("endpoint_id"), "url": facts.get("url"), "reason": facts.get("reason")}
    await notify(
        session, user_ids=recipients, kind=WEBHOOK_ENDPOINT_DISABLED, params=params, link="/app/configuracoes/webhooks"
    )
