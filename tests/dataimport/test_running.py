"""run_import as a worker will call it: chunk by chunk, with a hook after each, failing cleanly without its file."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadflow.dataimport import service
from leadflow.kit.db import Database
from leadflow.kit.errors import Conflict
from leadflow.kit.storage import LocalStorage, tenant_key
from leadflow.models import ImportJob, ImportStatus, Tenant
from leadflow.models.dataimport import ImportEntity, ImportMode
from tests import factories
from tests.dataimport.factories import csv_bytes


async def pending_job(db: Database, tenant: Tenant, storage: LocalStorage, data: bytes | None) -> ImportJob:
    scope = factories.owner_scope(tenant)
    async with db.session(scope) as session:
        job = ImportJob(
            entity=ImportEntity.PEOPLE,
            dry_run=False,
            mode=ImportMode.CREATE,
            status=ImportStatus.PENDING,
            filename="clientes.csv",
            storage_key=tenant_key(tenant.id, "imports", "worker-test"),
            mapping={"Nome": "name"},
            total_rows=5,
            processed_rows=0,
            summary={},
            report=[],
        )
        session.add(job)
    if data is not None:
        await storage.put(job.storage_key, data)
    return job


class TestRunningAsAWorker:
    async def test_progress_is_reported_after_every_chunk(
        self, db: Database, tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(service, "ROWS_PER_CHUNK", 2)
        storage = LocalStorage(tmp_path)
        job = await pending_job(db, tenant, storage, csv_bytes([["Nome"], ["A"], ["B"], [""], ["C"], ["D"], ["E"]]))
        seen: list[tuple[int, int]] = []

        async def after_chunk(running: ImportJob) -> None:
            seen.append((running.processed_rows, len(running.report)))

        scope = factories.owner_scope(tenant)
        async with db.session(scope) as session:
            done = await service.run_import(session, scope, job_id=job.id, storage=storage, after_chunk=after_chunk)
            assert (done.status, done.summary["created"]) == (ImportStatus.DONE, 5)
        assert seen == [(2, 2), (4, 4), (5, 5)]

    async def test_a_job_runs_once(self, db: Database, tenant: Tenant, tmp_path: Path) -> None:
        storage = LocalStorage(tmp_path)
        job = await pending_job(db, tenant, storage, csv_bytes([["Nome"], ["A"]]))
        scope = factories.owner_scope(tenant)
        async with db.session(scope) as session:
            await service.run_import(session, scope, job_id=job.id, storage=storage)
            with pytest.raises(Conflict):
                await service.run_import(session, scope, job_id=job.id, storage=storage)

    async def test_a_missing_file_fails_the_job_with_the_reason(
        self, db: Database, tenant: Tenant, tmp_path: Path
    ) -> None:
        storage = LocalStorage(tmp_path)
        job = await pending_job(db, tenant, storage, None)
        scope = factories.owner_scope(tenant)
        async with db.session(scope) as session:
            failed = await service.run_import(session, scope, job_id=job.id, storage=storage)
            assert (failed.status, failed.error) == (ImportStatus.FAILED, "the stored file is missing")
