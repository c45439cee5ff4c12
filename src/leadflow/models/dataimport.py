from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.kit.orm import Base, TenantScoped, enum_column


class ImportStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    REVERTED = "reverted"


class ImportEntity(StrEnum):
    PEOPLE = "people"
    LEADS = "leads"
    PROPERTIES = "properties"


class ImportMode(StrEnum):
    CREATE = "create"  # a line matching an existing record is reported as a duplicate and skipped
    UPSERT = "upsert"  # a line matching an existing record updates it


class ImportJob(Base, TenantScoped):
    """A CSV import of people, leads or properties: a dry run reports per line, the real run can be reverted."""

    __tablename__ = "import_jobs"
    # One real run per dry run (NULLs are distinct: uploads that were never dry runs do not collide).
    __table_args__ = (
        UniqueConstraint("tenant_id", "source_job_id"),
        Index("ix_import_jobs_tenant_created", "tenant_id", "created_at"),
    )
    __audited__ = True
    # The report, the progress counter and the running counts change on every chunk: bookkeeping, not decisions.
    __audit_exclude__ = frozenset({"report", "processed_rows", "summary"})

    entity: Mapped[ImportEntity] = mapped_column(enum_column(ImportEntity, "import_entity"))
    dry_run: Mapped[bool] = mapped_column(default=True)
    mode: Mapped[ImportMode] = mapped_column(enum_column(ImportMode, "import_mode"), default=ImportMode.CREATE)
    # A real run started from a dry run names it; the file and mapping are the dry run's.
    source_job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("import_jobs.id", ondelete="SET NULL"))
    encoding: Mapped[str] = mapped_column(String(32), default="utf-8")
    delimiter: Mapped[str] = mapped_column(String(4), default=",")
    warnings: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[ImportStatus] = mapped_column(enum_column(ImportStatus, "import_status"))
    filename: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(300))
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)  # CSV column -> field
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"created": n, "updated": n, ...}
    report: Mapped[list[dict[str, Any]]] = mapped_column(default=list)  # one entry per line
    error: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    finished_at: Mapped[datetime | None]
    reverted_at: Mapped[datetime | None]


class ImportedRow(Base, TenantScoped):
    """What one line of a real import did, so the import can be reverted."""

    __tablename__ = "imported_rows"
    __table_args__ = (Index("ix_imported_rows_job", "tenant_id", "job_id"),)

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"))
    line: Mapped[int]
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[uuid.UUID]
    action: Mapped[str] = mapped_column(String(16))  # created, updated
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
