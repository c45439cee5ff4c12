"""Queries of the tracking feature: the write keys a site snippet may name."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_

from leadflow.kit.repository import Repository
from leadflow.models import ApiKey, ApiKeyKind


class WriteKeyRepository(Repository[ApiKey]):
    """The tenant's public write keys that still work (not revoked, not expired)."""

    model = ApiKey

    def _live(self, now: datetime) -> Select[Any]:
        return self.select().where(
            ApiKey.kind == ApiKeyKind.WRITE,
            ApiKey.revoked_at.is_(None),
            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
        )

    async def live(self, now: datetime) -> Sequence[ApiKey]:
        return await self.all(self._live(now).order_by(ApiKey.created_at, ApiKey.id))

    async def live_by_hash(self, key_hash: str, now: datetime) -> ApiKey | None:
        stmt = self._live(now).where(ApiKey.key_hash == key_hash)
        return (await self.session.execute(stmt)).scalar_one_or_none()
