from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import Select, func, select

from leadflow.kit.repository import Repository
from leadflow.models import IntegrationConnection, LeadForm, Role, Team, TeamMember, User


class UserRepository(Repository[User]):
    model = User

    async def by_email(self, email: str, *, include_deleted: bool = False) -> User | None:
        stmt = select(User).where(User.email == email).execution_options(include_deleted=include_deleted)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def filtered(self, *, role: Role | None, q: str | None) -> Select[Any]:
        stmt = self.select()
        if role is not None:
            stmt = stmt.where(User.role == role)
        if q:
            like = f"%{q.lower()}%"
            stmt = stmt.where(func.lower(User.name).like(like) | User.email.like(like))
        return stmt

    async def count_active_owners(self) -> int:
        stmt = select(User).where(User.role == Role.OWNER, User.is_active.is_(True))
        return await self.count(stmt)


class TeamRepository(Repository[Team]):
    model = Team

    async def by_name(self, name: str) -> Team | None:
        return (await self.session.execute(select(Team).where(Team.name == name))).scalar_one_or_none()

    async def member_ids(self, team_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
        """Members of several teams in one query (no N+1 on lists)."""
        members: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        if not team_ids:
            return members
        stmt = select(TeamMember.team_id, TeamMember.user_id).where(TeamMember.team_id.in_(team_ids))
        for team_id, user_id in (await self.session.execute(stmt)).all():
            members[team_id].append(user_id)
        return members

    async def lead_sources(self, team_id: uuid.UUID) -> int:
        """Living forms and channel connections whose leads the team's roleta routes."""
        forms = select(func.count(LeadForm.id)).where(LeadForm.team_id == team_id)
        channels = select(func.count(IntegrationConnection.id)).where(IntegrationConnection.team_id == team_id)
        return int(await self.session.scalar(forms) or 0) + int(await self.session.scalar(channels) or 0)

    async def membership(self, team_id: uuid.UUID, user_id: uuid.UUID) -> TeamMember | None:
        stmt = select(TeamMember).where(TeamMember.team_id == team_id, TeamMember.user_id == user_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()
