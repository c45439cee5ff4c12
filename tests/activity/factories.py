"""Builders for activity tests: a lead with its funnel, and activity rows inserted directly."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from leadflow.kit.db import Database
from leadflow.kit.time import utcnow
from leadflow.models import (
    Attachment,
    Direction,
    Interaction,
    InteractionChannel,
    Lead,
    LeadAssignment,
    LeadStageHistory,
    Person,
    Stage,
    Task,
    Tenant,
    User,
    Visit,
)
from tests import factories

_pipelines = itertools.count(1)
PDF_BYTES = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00" + b"\x00" * 64


async def make_funnel(db: Database, tenant: Tenant) -> list[Stage]:
    _, stages = await factories.make_pipeline(db, tenant, name=f"Venda {next(_pipelines)}")
    return stages


async def make_open_lead(
    db: Database, tenant: Tenant, *, owner: User | None = None, person: Person | None = None, **fields: Any
) -> Lead:
    person = person or await factories.make_person(db, tenant, name="Maria Silva", phone="11987654321")
    stages = await make_funnel(db, tenant)
    return await factories.make_lead(db, tenant, person=person, stage=stages[0], owner=owner, **fields)


async def insert(db: Database, tenant: Tenant, row: Any) -> Any:
    async with db.session(factories.owner_scope(tenant)) as session:
        session.add(row)
    return row


async def make_interaction(db: Database, tenant: Tenant, lead: Lead, **fields: Any) -> Interaction:
    values: dict[str, Any] = {
        "channel": InteractionChannel.WHATSAPP,
        "direction": Direction.INBOUND,
        "occurred_at": utcnow(),
        "body": "Olá, tenho interesse no apartamento.",
    }
    row = Interaction(lead_id=lead.id, person_id=lead.person_id, **{**values, **fields})
    return await insert(db, tenant, row)


async def make_task(db: Database, tenant: Tenant, *, assignee: User, due_at: datetime, **fields: Any) -> Task:
    values: dict[str, Any] = {"title": "Ligar para o cliente"}
    return await insert(db, tenant, Task(assignee_id=assignee.id, due_at=due_at, **{**values, **fields}))


async def make_visit(db: Database, tenant: Tenant, lead: Lead, *, scheduled_at: datetime, **fields: Any) -> Visit:
    return await insert(db, tenant, Visit(lead_id=lead.id, scheduled_at=scheduled_at, **fields))


async def make_attachment(db: Database, tenant: Tenant, lead: Lead, **fields: Any) -> Attachment:
    values: dict[str, Any] = {
        "filename": "proposta.pdf",
        "content_type": "application/pdf",
        "size_bytes": len(PDF_BYTES),
        "sha256": "0" * 64,
        "storage_key": f"{tenant.id}/attachments/nao-existe",
    }
    return await insert(db, tenant, Attachment(lead_id=lead.id, person_id=lead.person_id, **{**values, **fields}))


async def make_stage_move(
    db: Database, tenant: Tenant, lead: Lead, *, to: Stage, moved_at: datetime, **fields: Any
) -> LeadStageHistory:
    return await insert(db, tenant, LeadStageHistory(lead_id=lead.id, to_stage_id=to.id, moved_at=moved_at, **fields))


async def make_assignment(
    db: Database, tenant: Tenant, lead: Lead, *, to: User, assigned_at: datetime, **fields: Any
) -> LeadAssignment:
    row = LeadAssignment(lead_id=lead.id, to_user_id=to.id, assigned_at=assigned_at, **fields)
    return await insert(db, tenant, row)


async def reload(db: Database, tenant: Tenant, model: type[Any], row_id: Any) -> Any:
    async with db.session(factories.owner_scope(tenant)) as session:
        return await session.get_one(model, row_id)
