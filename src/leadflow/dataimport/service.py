"""CSV imports of people, leads and properties as jobs: a dry run reports what each line would do, a real run
does it (each line in its own SAVEPOINT, so a bad line is an error line and never a failed or partial import),
and a finished real run can be reverted from what it recorded in ``imported_rows``.

Jobs run inline within the request for now, through :func:`run_import`, which takes ``(session, scope, *,
job_id, storage)`` like any service so that a worker can call it later; ``after_chunk`` lets that worker commit
after every chunk of :data:`ROWS_PER_CHUNK` lines, which is when progress becomes visible.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.customfield.service import list_fields
from leadflow.dataimport.csvfile import MAX_ROWS, CsvProblem, CsvRow, CsvTable, UnreadableCsv, is_printable, read_csv
from leadflow.dataimport.leads import LeadsImporter, revert_lead
from leadflow.dataimport.mapping import CUSTOM_FIELD, resolve_mapping
from leadflow.dataimport.people import PeopleImporter, revert_person
from leadflow.dataimport.properties import PropertiesImporter, revert_property
from leadflow.dataimport.repository import ImportedRowRepository, ImportJobRepository
from leadflow.dataimport.rows import (
    EntityImporter,
    ImportContext,
    MappedRow,
    Outcome,
    Reverter,
    RowInvalid,
    RowResult,
    errors_of,
)
from leadflow.kit.errors import Conflict, LeadflowError, NotFound, PayloadTooLarge, ValidationFailed
from leadflow.kit.ids import new_id
from leadflow.kit.scope import Scope
from leadflow.kit.storage import ObjectMissing, Storage, tenant_key
from leadflow.kit.time import utcnow
from leadflow.models import ImportedRow, ImportJob, ImportStatus
from leadflow.models.dataimport import ImportEntity, ImportMode
from leadflow.person.service import PersonNotFound
from leadflow.property.service import PropertyNotFound

log = structlog.get_logger("leadflow.dataimport")

MAX_CSV_BYTES = 10 * 1024 * 1024  # 10 MiB: about 50 000 lines of a wide export; bigger files are split
# What the HTTP body limit must allow on /v1/imports: the file plus the multipart envelope and form fields.
UPLOAD_LIMIT_BYTES = MAX_CSV_BYTES + 64 * 1024
ROWS_PER_CHUNK = 500
MAX_FILENAME = 255
DB_REFUSAL = "the database refused this line (a value too long for its field, or one conflicting with another row)"
IMPORTERS: dict[ImportEntity, EntityImporter] = {
    ImportEntity.PEOPLE: PeopleImporter(),
    ImportEntity.LEADS: LeadsImporter(),
    ImportEntity.PROPERTIES: PropertiesImporter(),
}
REVERTERS: dict[str, Reverter] = {"person": revert_person, "lead": revert_lead, "property": revert_property}
# A revert skips a row the import made when that row is gone since (deleted, merged away): nothing to undo.
GONE = (PersonNotFound, PropertyNotFound)
AfterChunk = Callable[[ImportJob], Awaitable[None]]


class ImportNotFound(NotFound):
    code = "import-not-found"
    title = "Import not found"


class ImportStateConflict(Conflict):
    code = "import-state-conflict"
    title = "The import is not in a state that allows this"


@dataclass(frozen=True, slots=True)
class CsvUpload:
    filename: str | None
    content: bytes


# Starting


async def start_import(
    session: AsyncSession,
    scope: Scope,
    *,
    upload: CsvUpload,
    entity: ImportEntity,
    mapping: Mapping[str, str | None] | str | None,
    dry_run: bool,
    mode: ImportMode,
    storage: Storage,
) -> ImportJob:
    """Check the file and the mapping, store the file and run the import (inline for now).

    ``mapping`` is {CSV column: field or null} (or that as JSON, as a form sends it), applied over the default
    mapping guessed from the header.

    Raises PayloadTooLarge (413) over :data:`MAX_CSV_BYTES`, and ValidationFailed (422) when the file as a whole
    cannot be read (no header, a duplicated column, more than 50 000 rows) or the mapping names unknown fields or
    columns. Anything wrong with single lines is reported per line in the finished job instead.
    """
    requested = parse_mapping(mapping) if isinstance(mapping, str | None) else mapping
    table = read_upload(upload.content)
    importer = IMPORTERS[entity]
    applied = await _mapping_for(session, scope, importer, table, requested)
    job_id = new_id()
    job = ImportJob(
        id=job_id,
        entity=entity,
        dry_run=dry_run,
        mode=mode,
        status=ImportStatus.PENDING,
        filename=safe_filename(upload.filename),
        storage_key=tenant_key(_tenant_of(scope), "imports", str(job_id)),
        mapping=applied,
        total_rows=len(table.records),
        processed_rows=0,
        summary={},
        report=[],
        encoding=table.encoding,
        delimiter=table.delimiter,
        warnings=[*table.warnings, *_unmapped_warning(table, applied)],
        created_by_id=_acting_user(scope),
    )
    ImportJobRepository(session).add(job)
    await session.flush()
    await storage.put(job.storage_key, upload.content)
    try:
        return await run_import(session, scope, job_id=job.id, storage=storage)
    except BaseException:
        await storage.delete(job.storage_key)  # the job rolls back with the request: leave no orphan file
        raise


def read_upload(content: bytes) -> CsvTable:
    if len(content) > MAX_CSV_BYTES:
        raise PayloadTooLarge(f"the file exceeds {MAX_CSV_BYTES} bytes; split it into smaller files")
    if not content:
        raise ValidationFailed("the file is empty", errors=[{"field": "file", "message": "the file is empty"}])
    try:
        return read_csv(content, max_rows=MAX_ROWS)
    except UnreadableCsv as exc:
        message = str(exc)
        raise ValidationFailed(
            f"the file cannot be imported: {message}", errors=[{"field": "file", "message": message}]
        ) from exc


def parse_mapping(raw: str | None) -> dict[str, str | None] | None:
    """The request's mapping, a JSON object {CSV column: field or null}; 422 naming ``mapping`` otherwise."""
    if raw is None or not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise _bad_mapping(f"not valid JSON: {exc}") from exc
    if not isinstance(value, dict) or not all(isinstance(v, str | None) for v in value.values()):
        raise _bad_mapping('must be a JSON object of column names to field names (or null), e.g. {"Nome": "name"}')
    return value


def _bad_mapping(message: str) -> ValidationFailed:
    return ValidationFailed(f"mapping: {message}", errors=[{"field": "mapping", "message": message}])


async def _mapping_for(
    session: AsyncSession,
    scope: Scope,
    importer: EntityImporter,
    table: CsvTable,
    requested: Mapping[str, str | None] | None,
) -> dict[str, str]:
    applied = resolve_mapping(table.columns, requested, synonyms=importer.synonyms, fields=importer.fields)
    wanted = {column: m.group(1) for column, target in applied.items() if (m := CUSTOM_FIELD.match(target))}
    if wanted:
        known = {d.key for d in await list_fields(session, scope, entity=importer.custom_field_entity)}
        errors = [
            {"field": f"mapping.{column}", "message": f"no custom field {key!r} is defined for this tenant"}
            for column, key in wanted.items()
            if key not in known
        ]
        if errors:
            raise ValidationFailed("invalid mapping: unknown custom fields", errors=errors)
    return applied


def _unmapped_warning(table: CsvTable, applied: Mapping[str, str]) -> list[str]:
    unmapped = [column for column in table.columns if column not in applied]
    return [f"columns not imported (no field mapped): {', '.join(unmapped)}"] if unmapped else []


def safe_filename(name: str | None) -> str:
    """The client's file name as metadata only: its last path segment, printable, bounded."""
    base = re.split(r"[\\/]", name or "")[-1].strip()
    base = "".join(c for c in base if is_printable(c))
    return base[:MAX_FILENAME] or "import.csv"


def _tenant_of(scope: Scope) -> uuid.UUID:
    if scope.tenant_id is None:
        raise RuntimeError("an import belongs to a tenant")
    return scope.tenant_id


def _acting_user(scope: Scope) -> uuid.UUID | None:
    return scope.actor_id if scope.actor_type == "user" else None


# Running


async def run_import(
    session: AsyncSession,
    scope: Scope,
    *,
    job_id: uuid.UUID,
    storage: Storage,
    after_chunk: AfterChunk | None = None,
) -> ImportJob:
    """Run a pending job over its stored file, line by line, each in a SAVEPOINT; returns the finished job.

    A dry run writes nothing: it runs inside one outer SAVEPOINT rolled back at the end, so lines later in the
    file see what earlier lines would have created (in-file duplicates are reported as in the real run). A real
    run records each created or updated row in ``imported_rows`` for :func:`revert_import`.
    """
    job = await get_import(session, scope, job_id=job_id)
    if job.status is not ImportStatus.PENDING:
        raise ImportStateConflict(f"import {job.id} is {job.status.value}, not pending")
    job.status = ImportStatus.RUNNING
    await session.flush()
    table = await _stored_table(job, storage)
    if table is None:
        return job
    ctx = ImportContext(session, scope, job.mode)
    if job.dry_run:
        await _dry_run(ctx, job, table.records)
    else:
        await _real_run(ctx, job, table.records, after_chunk)
    job.status = ImportStatus.DONE
    job.finished_at = utcnow()
    await session.flush()
    return job


async def _stored_table(job: ImportJob, storage: Storage) -> CsvTable | None:
    """The job's file read again; a missing or changed file fails the job (status failed, ``error`` says why)."""
    try:
        content = b"".join([chunk async for chunk in storage.open(job.storage_key)])
        return read_csv(content, max_rows=MAX_ROWS)
    except (ObjectMissing, UnreadableCsv) as exc:
        reason = "the stored file is missing" if isinstance(exc, ObjectMissing) else f"the stored file: {exc}"
        job.status, job.error, job.finished_at = ImportStatus.FAILED, reason[:500], utcnow()
        return None


async def _dry_run(ctx: ImportContext, job: ImportJob, records: Sequence[CsvRow | CsvProblem]) -> None:
    lines: list[dict[str, Any]] = []
    savepoint = await ctx.session.begin_nested()
    try:
        for record in records:
            lines.append(await _process(ctx, job, record))
    finally:
        await savepoint.rollback()
    _count(job, lines)
    job.report = lines


async def _real_run(
    ctx: ImportContext, job: ImportJob, records: Sequence[CsvRow | CsvProblem], after_chunk: AfterChunk | None
) -> None:
    unpublished: list[dict[str, Any]] = []
    for start in range(0, len(records), ROWS_PER_CHUNK):
        lines = [await _process(ctx, job, record) for record in records[start : start + ROWS_PER_CHUNK]]
        _count(job, lines)
        unpublished += lines
        # The report is rewritten at each chunk only when someone commits it (a worker); inline, once at the end.
        if after_chunk is not None or start + ROWS_PER_CHUNK >= len(records):
            job.report, unpublished = [*job.report, *unpublished], []
        await ctx.session.flush()
        if after_chunk is not None:
            await after_chunk(job)


def _count(job: ImportJob, lines: list[dict[str, Any]]) -> None:
    counts = Counter(line["outcome"] for line in lines)
    job.processed_rows += len(lines)
    job.summary = {o.value: (job.summary or {}).get(o.value, 0) + counts.get(o.value, 0) for o in Outcome}


async def _process(ctx: ImportContext, job: ImportJob, record: CsvRow | CsvProblem) -> dict[str, Any]:
    if isinstance(record, CsvProblem):
        return _report_line(record.line, RowResult.failed([{"field": None, "message": record.message}]), job)
    row = MappedRow.of(record.line, record.values, job.mapping)
    return _report_line(record.line, await _apply(ctx, job, row), job)


async def _apply(ctx: ImportContext, job: ImportJob, row: MappedRow) -> RowResult:
    """One line in its own SAVEPOINT: what it did, or why not (and then it changed nothing)."""
    importer = IMPORTERS[job.entity]
    try:
        async with ctx.session.begin_nested():
            result = await importer.import_row(ctx, row)
            if not job.dry_run:
                _keep_changes(ctx.session, job, row.line, result)
        return result
    except (RowInvalid, ValidationError) as exc:
        return RowResult.failed(errors_of(exc))
    except LeadflowError as exc:
        if exc.status >= 500:
            raise
        return RowResult.failed(errors_of(exc))
    except (IntegrityError, DataError) as exc:
        # The driver's text may quote the row's values (PostgreSQL's "Key (email)=(…)"): log the kind, not the text.
        sqlstate = getattr(exc.orig, "sqlstate", None)
        log.warning("import line refused by the database", job_id=str(job.id), line=row.line, sqlstate=sqlstate)
        return RowResult.failed([{"field": None, "message": DB_REFUSAL}])


def _keep_changes(session: AsyncSession, job: ImportJob, line: int, result: RowResult) -> None:
    for change in result.changes:
        session.add(
            ImportedRow(
                job_id=job.id,
                line=line,
                entity_type=change.entity_type,
                entity_id=change.entity_id,
                action=change.action,
                before=change.before,
            )
        )


def _report_line(line: int, result: RowResult, job: ImportJob) -> dict[str, Any]:
    # A dry run's creations were rolled back: their ids name nothing.
    shows_id = result.entity_id is not None and not (job.dry_run and result.outcome is Outcome.CREATED)
    return {
        "line": line,
        "outcome": result.outcome.value,
        "entity_id": str(result.entity_id) if shows_id else None,
        "errors": list(result.errors),
    }


# Reading


async def get_import(session: AsyncSession, scope: Scope, *, job_id: uuid.UUID) -> ImportJob:
    return await ImportJobRepository(session).get_or_raise(job_id, error=ImportNotFound)


async def list_imports(
    session: AsyncSession,
    scope: Scope,
    *,
    entity: ImportEntity | None,
    status: ImportStatus | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[ImportJob], str | None]:
    jobs = ImportJobRepository(session)
    return await jobs.page(jobs.filtered(entity=entity, status=status), cursor=cursor, limit=limit)


# Running a dry run for real, reverting


async def run_for_real(
    session: AsyncSession,
    scope: Scope,
    *,
    job_id: uuid.UUID,
    storage: Storage,
    after_chunk: AfterChunk | None = None,
) -> ImportJob:
    """A new, real job from a finished dry run: the same stored file, mapping and mode. Once per dry run (409)."""
    dry_run = await get_import(session, scope, job_id=job_id)
    if not dry_run.dry_run or dry_run.status is not ImportStatus.DONE:
        raise ImportStateConflict("only a finished dry run can be run for real")
    jobs = ImportJobRepository(session)
    if (previous := await jobs.real_run_of(dry_run.id)) is not None:
        raise ImportStateConflict(f"this dry run was already run for real as import {previous.id}")
    job = jobs.add(
        ImportJob(
            entity=dry_run.entity,
            dry_run=False,
            mode=dry_run.mode,
            source_job_id=dry_run.id,
            status=ImportStatus.PENDING,
            filename=dry_run.filename,
            storage_key=dry_run.storage_key,
            mapping=dict(dry_run.mapping),
            total_rows=dry_run.total_rows,
            processed_rows=0,
            summary={},
            report=[],
            encoding=dry_run.encoding,
            delimiter=dry_run.delimiter,
            warnings=list(dry_run.warnings),
            created_by_id=_acting_user(scope),
        )
    )
    try:
        await session.flush()
    except IntegrityError as exc:  # another request ran it at the same moment
        raise ImportStateConflict("this dry run was already run for real") from exc
    return await run_import(session, scope, job_id=job.id, storage=storage, after_chunk=after_chunk)


async def revert_import(session: AsyncSession, scope: Scope, *, job_id: uuid.UUID) -> ImportJob:
    """Soft-delete what a finished real run created and put back what it overwrote, last line first.

    Idempotent: reverting a reverted import returns it unchanged. A dry run, or a run not finished, is a 409; so
    is a row that cannot be restored (the whole revert then changes nothing). Rows gone since are skipped.
    """
    job = await get_import(session, scope, job_id=job_id)
    if job.status is ImportStatus.REVERTED:
        return job
    if job.dry_run:
        raise ImportStateConflict("a dry run wrote nothing: there is nothing to revert")
    if job.status is not ImportStatus.DONE:
        raise ImportStateConflict(f"only a finished import can be reverted (this one is {job.status.value})")
    for imported in await ImportedRowRepository(session).of_job_last_first(job.id):
        await _revert_row(session, scope, imported)
    job.status = ImportStatus.REVERTED
    job.reverted_at = utcnow()
    await session.flush()
    return job


async def _revert_row(session: AsyncSession, scope: Scope, imported: ImportedRow) -> None:
    try:
        await REVERTERS[imported.entity_type](session, scope, imported)
    except GONE:
        return
    except (LeadflowError, ValidationError) as exc:
        detail = exc.detail if isinstance(exc, LeadflowError) else str(exc)
        raise ImportStateConflict(
            f"line {imported.line}: the {imported.entity_type} {imported.entity_id} cannot be restored: {detail}"
        ) from exc
