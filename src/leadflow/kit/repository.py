"""The small generic base every feature repository builds on."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.kit.errors import LeadflowError, NotFound
from leadflow.kit.orm import Base
from leadflow.kit.pagination import keyset, page_of

M = TypeVar("M", bound=Base)


class Repository(Generic[M]):
    model: ClassVar[type[Any]]
    not_found: ClassVar[type[LeadflowError]] = NotFound

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def select(self) -> Select[Any]:
        return select(self.model)

    async def get(self, id: uuid.UUID, *, include_deleted: bool = False) -> M | None:
        stmt = self.select().where(self.model.id == id)
        if include_deleted:
            stmt = stmt.execution_options(include_deleted=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_or_raise(
        self, id: uuid.UUID, *, include_deleted: bool = False, error: type[LeadflowError] | None = None
    ) -> M:
        """The row, or ``error`` (the feature's typed 404; default ``not_found``) naming what was missing."""
        obj = await self.get(id, include_deleted=include_deleted)
        if obj is None:
            table = self.model.__tablename__
            noun = (table[:-3] + "y" if table.endswith("ies") else table.removesuffix("s")).replace("_", " ")
            raise (error or self.not_found)(f"{noun} {id} not found")
        return obj

    async def all(self, stmt: Select[Any]) -> Sequence[M]:
        return (await self.session.execute(stmt)).scalars().all()

    async def count(self, stmt: Select[Any]) -> int:
        counted = select(func.count()).select_from(stmt.order_by(None).subquery())
        return int((await self.session.execute(counted)).scalar_one())

    async def page(
        self,
        stmt: Select[Any],
        *,
        cursor: str | None,
        limit: int,
        sort: str = "created_at",
        descending: bool = True,
    ) -> tuple[list[M], str | None]:
        ordered = keyset(
            stmt,
            sort=getattr(self.model, sort),
            id_col=self.model.id,
            cursor=cursor,
            limit=limit,
            descending=descending,
        )
        return page_of(await self.all(ordered), limit=limit, sort_key=sort)

    def add(self, obj: M) -> M:
        self.session.add(obj)
        return obj
