from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from leadflow.kit.repository import Repository
from leadflow.models import ImportedRow, ImportJob, ImportStatus, Lead, LeadStatus, User


class ImportJobRepository(Repository[ImportJob]):
    model = ImportJob

    def filtered(self, *, entity: str | None, status: ImportStatus | None) -> Select[Any]:
        stmt = self.select()
        if entity is not None:
            stmt = stmt.where(ImportJob.entity == entity)
        if status is not None:
            stmt = stmt.where(ImportJob.status == status)
        return stmt

    async def real_run_of(self, dry_run_id: uuid.UUID) -> ImportJob | None:
        stmt = select(ImportJob).where(ImportJob.source_job_id == dry_run_id)
        return (await self.session.execute(stmt)).scalars().first()


class ImportedRowRepository(Repository[ImportedRow]):
    model = ImportedRow

    async def of_job_last_first(self, job_id: uuid.UUID) -> list[ImportedRow]:
        """What a run did, undone in reverse: the last line first, and within a line the last change first."""
        stmt = (
            select(ImportedRow)
            .where(ImportedRow.job_id == job_id)
            .order_by(ImportedRow.line.desc(), ImportedRow.id.desc())
        )
        return list(await self.all(stmt))


class UserLookup(Repository[User]):
    model = User

    async def by_email(self, email: str) -> User | None:
        """The tenant's user with this e-mail (lower-cased); another tenant's user is simply not found."""
        stmt = select(User).where(User.email == email.strip().lower())
        return (await self.session.execute(stmt)).scalar_one_or_none()


class LeadLookup(Repository[Lead]):
    """Leads an import must know of whoever may see them (the tenant wall still applies), like a merge moves
    rows: a second open lead must not be created because another team holds the first, and a revert must undo
    a lead that was reassigned since."""

    model = Lead

    async def open_lead(self, person_id: uuid.UUID, pipeline_id: uuid.UUID) -> Lead | None:
        """The person's oldest open lead in the pipeline."""
        stmt = (
            select(Lead)
            .where(Lead.person_id == person_id, Lead.pipeline_id == pipeline_id, Lead.status == LeadStatus.OPEN)
            .order_by(Lead.created_at, Lead.id)
            .limit(1)
            .execution_options(skip_visibility=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def for_revert(self, lead_id: uuid.UUID) -> Lead | None:
        stmt = select(Lead).where(Lead.id == lead_id).execution_options(skip_visibility=True, include_deleted=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()


class NameLookup:
    """Names of rows a page of an export refers to (stage, pipeline, user e-mail), deleted ones included."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def names(
        self, model: type[Any], column: InstrumentedAttribute[str], ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, str]:
        if not ids:
            return {}
        stmt = select(model.id, column).where(model.id.in_(set(ids))).execution_options(include_deleted=True)
        return dict((await self.session.execute(stmt)).all())
