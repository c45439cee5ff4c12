"""Every query of notifications. Tenancy comes from the session scope; a user only ever reads their own."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.kit.repository import Repository
from leadflow.models import Notification, Role, TeamMember, User


class NotificationRepository(Repository[Notification]):
    model = Notification

    async def of_user(self, user_id: uuid.UUID, *, unread_only: bool, limit: int) -> Sequence[Notification]:
        stmt = self.select().where(Notification.user_id == user_id)
        if unread_only:
            stmt = stmt.where(Notification.read_at.is_(None))
        return await self.all(stmt.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))

    async def unread_count(self, user_id: uuid.UUID) -> int:
        stmt = select(func.count(Notification.id)).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)
        )
        return int(await self.session.scalar(stmt) or 0)

    async def created_since(self, user_id: uuid.UUID, since: datetime, *, limit: int) -> Sequence[Notification]:
        stmt = self.select().where(Notification.user_id == user_id, Notification.created_at > since)
        return await self.all(stmt.order_by(Notification.created_at).limit(limit))

    async def mark_read(self, user_id: uuid.UUID, at: datetime, ids: Sequence[uuid.UUID] | None = None) -> int:
        stmt = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
        if ids is not None:
            stmt = stmt.where(Notification.id.in_(list(ids)))
        result = await self.session.execute(stmt.values(read_at=at))
        return int(getattr(result, "rowcount", 0) or 0)


class RecipientRepository:
    """Who a notice goes to: active users, by id, e-mail, role or the routing group they belong to."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active(self, user_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        if not user_ids:
            return []
        stmt = select(User.id).where(User.id.in_(list(user_ids)), User.is_active.is_(True))
        return list((await self.session.scalars(stmt)).all())

    async def named(self, target: str) -> list[uuid.UUID]:
        """A rule's ``notify`` target: a user's e-mail, a role (``owner``, ``manager``, ``broker``) or a routing
        group of the roleta (the members whose groups include it); nobody when it names nothing."""
        lowered = target.strip().casefold()
        if "@" in lowered:
            stmt = select(User.id).where(func.lower(User.email) == lowered, User.is_active.is_(True))
        elif lowered in {role.value for role in Role}:
            stmt = select(User.id).where(User.role == Role(lowered), User.is_active.is_(True))
        else:
            stmt = (
                select(User.id)
                .join(TeamMember, TeamMember.user_id == User.id)
                .where(User.is_active.is_(True), TeamMember.routing_groups.is_not(None))
            )
            members = (await self.session.execute(stmt.add_columns(TeamMember.routing_groups))).all()
            return sorted({uid for uid, groups in members if lowered in {str(g).casefold() for g in groups or []}})
        return list((await self.session.scalars(stmt)).all())

    async def owners(self) -> list[uuid.UUID]:
        stmt = select(User.id).where(User.role == Role.OWNER, User.is_active.is_(True))
        return list((await self.session.scalars(stmt)).all())
