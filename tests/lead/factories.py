"""Builders for lead tests: the tenant's default funnel, leads in a named stage, tenant settings, scopes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from leadflow.kit.db import Database
from leadflow.kit.scope import Scope
from leadflow.lead.funnel import ensure_default_pipelines
from leadflow.models import Lead, LossReason, Pipeline, Role, Stage, Tenant, User
from tests import factories


@dataclass
class DefaultFunnel:
    """The "Venda" and "Locação" pipelines ensure_default_pipelines creates, with stages by name."""

    venda: Pipeline
    locacao: Pipeline
    stages: dict[str, Stage]  # Venda's stages
    rental_stages: dict[str, Stage]
    loss_reasons: dict[str, LossReason]

    def stage(self, name: str) -> Stage:
        return self.stages[name]


async def make_default_funnel(db: Database, tenant: Tenant) -> DefaultFunnel:
    scope = factories.owner_scope(tenant)
    async with db.session(scope) as session:
        await ensure_default_pipelines(session, scope)
        pipelines = {p.name: p for p in (await session.execute(select(Pipeline))).scalars()}
        stages = list((await session.execute(select(Stage).order_by(Stage.position))).scalars())
        reasons = {r.name: r for r in (await session.execute(select(LossReason))).scalars()}
    venda, locacao = pipelines["Venda"], pipelines["Locação"]
    return DefaultFunnel(
        venda=venda,
        locacao=locacao,
        stages={s.name: s for s in stages if s.pipeline_id == venda.id},
        rental_stages={s.name: s for s in stages if s.pipeline_id == locacao.id},
        loss_reasons=reasons,
    )


async def lead_in(
    db: Database,
    tenant: Tenant,
    stage: Stage,
    *,
    owner: User | None = None,
    name: str = "Maria Silva",
    phone: str | None = None,
    email: str | None = None,
    **fields: Any,
) -> Lead:
    person = await factories.make_person(db, tenant, name=name, phone=phone, email=email)
    return await factories.make_lead(db, tenant, person=person, stage=stage, owner=owner, **fields)


async def set_lead(db: Database, tenant: Tenant, lead: Lead, **fields: Any) -> None:
    """Change a lead's columns behind the API's back (a past stage entry, a backdated creation)."""
    async with db.session(factories.owner_scope(tenant)) as session:
        row = (await session.execute(select(Lead).where(Lead.id == lead.id))).scalar_one()
        for name, value in fields.items():
            setattr(row, name, value)


async def set_tenant_settings(db: Database, tenant: Tenant, **settings: Any) -> None:
    async with db.session(factories.owner_scope(tenant)) as session:
        row = await session.get_one(Tenant, tenant.id)
        row.settings = {**row.settings, **settings}


async def read_lead(db: Database, tenant: Tenant, lead_id: Any) -> Lead:
    async with db.session(factories.owner_scope(tenant)) as session:
        return (await session.execute(select(Lead).where(Lead.id == lead_id))).scalar_one()


def user_scope(tenant: Tenant, user: User, *, teams: frozenset[Any] = frozenset(), **settings: Any) -> Scope:
    """The scope a login of ``user`` would get (teams as given), for service-level tests."""
    return Scope(
        tenant_id=tenant.id,
        actor_type="user",
        actor_id=user.id,
        role=Role(user.role).value,
        team_ids=teams,
        tenant_settings=settings,
    )


def at(moment: datetime) -> str:
    return moment.isoformat()


@contextmanager
def counting_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
