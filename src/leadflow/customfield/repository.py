from __future__ import annotations

from sqlalchemy import select

from leadflow.kit.repository import Repository
from leadflow.models import CustomFieldDefinition


class CustomFieldRepository(Repository[CustomFieldDefinition]):
    model = CustomFieldDefinition

    async def for_entity(self, entity: str) -> list[CustomFieldDefinition]:
        stmt = select(CustomFieldDefinition).where(CustomFieldDefinition.entity == entity)
        return list(await self.all(stmt.order_by(CustomFieldDefinition.key)))

    async def by_key(self, entity: str, key: str) -> CustomFieldDefinition | None:
        stmt = select(CustomFieldDefinition).where(
            CustomFieldDefinition.entity == entity, CustomFieldDefinition.key == key
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()
