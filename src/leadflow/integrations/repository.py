from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.kit.repository import Repository
from leadflow.models import (
    ChannelContact,
    IntegrationConnection,
    Interaction,
    InteractionChannel,
    Lead,
    LeadStatus,
    OutboxMessage,
)
from leadflow.models.bus import OutboxStatus


class ConnectionRepository(Repository[IntegrationConnection]):
    model = IntegrationConnection

    async def by_key(self, provider: str, key: str) -> IntegrationConnection | None:
        stmt = self.select().where(IntegrationConnection.provider == provider, IntegrationConnection.key == key)
        return (await self.session.scalars(stmt)).first()

    async def listed(self) -> Sequence[IntegrationConnection]:
        return await self.all(self.select().order_by(IntegrationConnection.provider, IntegrationConnection.key))

    async def of_provider(self, provider: str) -> Sequence[IntegrationConnection]:
        return await self.all(self.select().where(IntegrationConnection.provider == provider))


class ChannelContactRepository(Repository[ChannelContact]):
    model = ChannelContact

    async def by_address(self, connection_id: uuid.UUID, address: str) -> ChannelContact | None:
        stmt = self.select().where(ChannelContact.connection_id == connection_id, ChannelContact.address == address)
        return (await self.session.scalars(stmt)).first()

    async def latest_of_person(self, person_id: uuid.UUID) -> ChannelContact | None:
        """The address the person last wrote from (a reply goes back where they are)."""
        stmt = (
            self.select()
            .where(ChannelContact.person_id == person_id)
            .order_by(ChannelContact.last_inbound_at.desc().nulls_last(), ChannelContact.created_at.desc())
            .limit(1)
        )
        return (await self.session.scalars(stmt)).first()


class ChannelMessageRepository(Repository[Interaction]):
    model = Interaction

    async def by_external_id(self, channel: InteractionChannel, external_id: str) -> Interaction | None:
        stmt = (
            self.select()
            .where(Interaction.channel == channel, Interaction.external_id == external_id)
            .execution_options(skip_visibility=True)
        )
        return (await self.session.scalars(stmt)).first()


async def pending_deliveries(session: AsyncSession) -> int:
    """Verified deliveries whose intake has not run yet (the tenant's backlog)."""
    stmt = select(func.count()).where(
        OutboxMessage.event_name == "integrations.delivery_received", OutboxMessage.status == OutboxStatus.PENDING
    )
    return int((await session.execute(stmt)).scalar_one())


class OpenLeadsOfPerson:
    """The person's most recent open lead in any pipeline: where a chat message belongs."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def latest(self, person_id: uuid.UUID) -> Lead | None:
        stmt = (
            select(Lead)
            .where(Lead.person_id == person_id, Lead.status == LeadStatus.OPEN)
            .order_by(Lead.created_at.desc())
            .limit(1)
        )
        return (await self.session.scalars(stmt)).first()
