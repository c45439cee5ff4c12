"""Builders for people tests: rows linked to a person, inserted directly like tests/factories.py does."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from leadflow.kit.db import Database
from leadflow.kit.time import utcnow
from leadflow.models import Direction, Interaction, InteractionChannel, Lead, Person, Stage, Tenant
from tests import factories


async def make_interaction(db: Database, tenant: Tenant, *, person: Person, lead: Lead | None = None) -> Interaction:
    async with db.session(factories.owner_scope(tenant)) as session:
        interaction = Interaction(
            person_id=person.id,
            lead_id=lead.id if lead else None,
            channel=InteractionChannel.WHATSAPP,
            direction=Direction.INBOUND,
            occurred_at=utcnow(),
            body="Olá, ainda está disponível o apartamento?",
        )
        session.add(interaction)
        return interaction


async def first_stage(db: Database, tenant: Tenant) -> Stage:
    _, stages = await factories.make_pipeline(db, tenant)
    return stages[0]


async def person_id_of(db: Database, tenant: Tenant, model: type[Lead | Interaction], row_id: Any) -> Any:
    """Where a lead or interaction points now, read straight from the database."""
    async with db.session(factories.owner_scope(tenant)) as session:
        stmt = select(model.person_id).where(model.id == row_id)
        return (await session.execute(stmt)).scalar_one()
