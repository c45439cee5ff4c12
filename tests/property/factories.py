"""Builders for property tests: developments, interests and a lead with its funnel, inserted directly."""

from __future__ import annotations

import itertools
from typing import Any

from leadflow.kit.db import Database
from leadflow.kit.time import utcnow
from leadflow.models import Development, DevelopmentPhase, Lead, LeadInterest, Property, Tenant, User
from tests import factories

_pipelines = itertools.count(1)


async def make_development(
    db: Database, tenant: Tenant, *, name: str = "Residencial Aurora", **fields: Any
) -> Development:
    defaults: dict[str, Any] = {
        "slug": name.lower().replace(" ", "-"),
        "phase": DevelopmentPhase.UNDER_CONSTRUCTION,
        "towers": ["Torre A", "Torre B"],
        "cep": "13092123",
        "street": "Avenida José Bonifácio",
        "number": "900",
        "neighbourhood": "Cambuí",
        "city": "Campinas",
        "uf": "SP",
    }
    async with db.session(factories.owner_scope(tenant)) as session:
        development = Development(name=name, **{**defaults, **fields})
        session.add(development)
        return development


async def make_open_lead(db: Database, tenant: Tenant, *, owner: User | None = None, **fields: Any) -> Lead:
    person = await factories.make_person(db, tenant, name=f"Cliente {owner.name if owner else 'sem dono'}")
    _, stages = await factories.make_pipeline(db, tenant, name=f"Venda {next(_pipelines)}")
    return await factories.make_lead(db, tenant, person=person, stage=stages[0], owner=owner, **fields)


async def make_interest(db: Database, tenant: Tenant, lead: Lead, **fields: Any) -> LeadInterest:
    async with db.session(factories.owner_scope(tenant)) as session:
        interest = LeadInterest(lead_id=lead.id, **fields)
        session.add(interest)
        return interest


async def soft_delete(db: Database, tenant: Tenant, row: Property | Development) -> None:
    async with db.session(factories.owner_scope(tenant)) as session:
        (await session.get_one(type(row), row.id)).deleted_at = utcnow()
