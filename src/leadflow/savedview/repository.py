from __future__ import annotations

import uuid
from collections.abc import Sequence

from leadflow.kit.repository import Repository
from leadflow.models import SavedView


class SavedViewRepository(Repository[SavedView]):
    model = SavedView

    async def of_user(self, user_id: uuid.UUID) -> Sequence[SavedView]:
        return await self.all(self.select().where(SavedView.user_id == user_id).order_by(SavedView.name))

    async def named(self, user_id: uuid.UUID, name: str) -> SavedView | None:
        found = await self.all(self.select().where(SavedView.user_id == user_id, SavedView.name == name))
        return found[0] if found else None
