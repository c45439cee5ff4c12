from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from leadflow.dataimport.rows import Outcome
from leadflow.kit.schemas import OutputSchema
from leadflow.models import ImportJob, ImportStatus
from leadflow.models.dataimport import ImportEntity, ImportMode


class LineError(BaseModel):
    field: str | None = Field(
        examples=["Telefone"], description="The CSV column (or the field) at fault; null for the line as a whole"
    )
    message: str = Field(examples=["not a valid phone number (check the DDD and the number of digits)"])


class ReportLine(BaseModel):
    line: int = Field(examples=[7], description="Line of the file the record starts on (the header is line 1)")
    outcome: Outcome = Field(examples=["error"])
    entity_id: uuid.UUID | None = Field(
        default=None, description="The row created, updated or matched (null for a dry run's creations and errors)"
    )
    errors: list[LineError] = Field(default_factory=list)


class ImportSummary(BaseModel):
    created: int = Field(default=0, examples=[120])
    updated: int = Field(default=0, examples=[8])
    duplicate: int = Field(default=0, examples=[14])
    error: int = Field(default=0, examples=[3])


class ImportJobListItem(OutputSchema):
    id: uuid.UUID
    entity: ImportEntity = Field(examples=["people"])
    dry_run: bool = Field(examples=[True])
    mode: ImportMode = Field(examples=["create"])
    status: ImportStatus = Field(examples=["done"])
    filename: str = Field(examples=["clientes-rd-station.csv"])
    encoding: str = Field(examples=["cp1252"], description="How the file was read: utf-8, utf-8-sig, cp1252, …")
    delimiter: str = Field(examples=[";"])
    total_rows: int = Field(examples=[145])
    processed_rows: int = Field(examples=[145])
    summary: ImportSummary
    warnings: list[str] = Field(
        examples=[["the file is not valid UTF-8: it was read as Windows-1252 (cp1252); check accented letters"]]
    )
    error: str | None
    source_job_id: uuid.UUID | None = Field(description="The dry run this real run was started from")
    created_by_id: uuid.UUID | None
    created_at: datetime
    finished_at: datetime | None
    reverted_at: datetime | None


class ImportJobRead(ImportJobListItem):
    mapping: dict[str, str] = Field(
        examples=[{"Nome": "name", "E-mail": "email", "Celular": "phone", "CPF": "cpf_cnpj"}],
        description="CSV column -> field, as applied (the default for the header, adjusted by the request)",
    )
    report: list[ReportLine]

    @classmethod
    def of(cls, job: ImportJob, *, outcome: Outcome | None = None) -> ImportJobRead:
        lines = [line for line in job.report if outcome is None or line["outcome"] == outcome]
        return cls.model_validate(
            {
                **ImportJobListItem.model_validate(job).model_dump(),
                "mapping": job.mapping,
                "report": lines,
            }
        )
