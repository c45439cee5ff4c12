"""Every query of CRM sync."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.kit.repository import Repository
from leadflow.models import (
    CrmConnection,
    ExternalRef,
    IdentityKind,
    Lead,
    OutboxMessage,
    OutboxStatus,
    Person,
    PersonIdentity,
    Stage,
    User,
)
from leadflow.sync.events import TRIGGERS, ResyncRequested


class CrmConnectionRepository(Repository[CrmConnection]):
    model = CrmConnection

    async def of_provider(self, provider: str) -> CrmConnection | None:
        stmt = self.select().where(CrmConnection.provider == provider)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def enabled(self) -> Sequence[CrmConnection]:
        return await self.all(self.select().where(CrmConnection.enabled.is_(True)).order_by(CrmConnection.provider))

    async def listed(self) -> Sequence[CrmConnection]:
        return await self.all(self.select().order_by(CrmConnection.provider))


async def pending_pushes(session: AsyncSession) -> int:
    """Lead changes and re-sync requests of the tenant the CRM handlers have not taken yet (the sync backlog)."""
    stmt = select(func.count()).where(
        OutboxMessage.event_name.in_((*TRIGGERS, ResyncRequested.name)), OutboxMessage.status == OutboxStatus.PENDING
    )
    return int((await session.execute(stmt)).scalar_one())


class ExternalRefRepository(Repository[ExternalRef]):
    model = ExternalRef

    async def for_entities(
        self, provider: str, entity_type: str, ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, ExternalRef]:
        stmt = self.select().where(
            ExternalRef.provider == provider, ExternalRef.entity_type == entity_type, ExternalRef.entity_id.in_(ids)
        )
        return {ref.entity_id: ref for ref in await self.all(stmt)}


class SyncSourceRepository:
    """Reads the people, identities and leads a push describes (several tables, read only)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def people(self, ids: Sequence[uuid.UUID]) -> Sequence[Person]:
        return (await self.session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.id))).all()

    async def people_with_leads(self) -> list[uuid.UUID]:
        stmt = select(Lead.person_id).distinct()
        return sorted((await self.session.scalars(stmt)).all())

    async def primary_identities(self, ids: Sequence[uuid.UUID]) -> dict[tuple[uuid.UUID, IdentityKind], str]:
        stmt = (
            select(PersonIdentity)
            .where(PersonIdentity.person_id.in_(ids), PersonIdentity.kind.in_([IdentityKind.EMAIL, IdentityKind.PHONE]))
            .order_by(PersonIdentity.is_primary.desc(), PersonIdentity.created_at)
        )
        found: dict[tuple[uuid.UUID, IdentityKind], str] = {}
        for identity in (await self.session.scalars(stmt)).all():
            found.setdefault((identity.person_id, identity.kind), identity.value)
        return found

    async def latest_leads(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Lead]:
        stmt = select(Lead).where(Lead.person_id.in_(ids)).order_by(Lead.created_at, Lead.id)
        return {lead.person_id: lead for lead in (await self.session.scalars(stmt)).all()}

    async def stages(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, Stage]:
        rows = (await self.session.scalars(select(Stage).where(Stage.id.in_(ids)))).all() if ids else []
        return {stage.id: stage for stage in rows}

    async def users(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, User]:
        rows = (await self.session.scalars(select(User).where(User.id.in_(ids)))).all() if ids else []
        return {user.id: user for user in rows}


async def lock_entity(session: AsyncSession, key: str) -> None:
    """Hold a lock on ``key`` until the transaction ends, so two workers never search-then-create the same record
    at once. PostgreSQL: a transaction-level advisory lock; SQLite has one writer at a time already."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})
