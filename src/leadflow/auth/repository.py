from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update

from leadflow.kit.repository import Repository
from leadflow.models import ApiKey, RefreshToken, TeamMember, User


class UserCredentials(Repository[User]):
    model = User

    async def by_email(self, email: str) -> User | None:
        return (await self.session.execute(select(User).where(User.email == email))).scalar_one_or_none()

    async def team_ids(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        stmt = select(TeamMember.team_id).where(TeamMember.user_id == user_id)
        return list((await self.session.execute(stmt)).scalars())


class ApiKeyRepository(Repository[ApiKey]):
    model = ApiKey

    async def by_hash_any_tenant(self, key_hash: str) -> ApiKey | None:
        """Finds a key whatever its tenant, so a key used on another tenant's host can be answered 404."""
        stmt = select(ApiKey).where(ApiKey.key_hash == key_hash).execution_options(cross_tenant_lookup=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()


class RefreshTokenRepository(Repository[RefreshToken]):
    model = RefreshToken

    async def by_hash(self, token_hash: str) -> RefreshToken | None:
        stmt = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def revoke_family(self, family_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    async def revoke_user(self, user_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at)
        )
