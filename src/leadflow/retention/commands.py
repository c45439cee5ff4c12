"""``leadflow retention …``: apply retention now, or make sure the worker's daily messages are queued."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.audit.commands import tenants_to_check
from leadflow.config import get_settings
from leadflow.kit.db import Database, create_engine
from leadflow.kit.scope import Scope
from leadflow.kit.storage import Storage, storage_from_settings
from leadflow.kit.time import utcnow
from leadflow.retention.schedule import INTERVAL, ensure_scheduled
from leadflow.retention.service import DEFAULT_BATCH, RetentionReport, apply_retention

app = typer.Typer(help="Delete what is past its retention period (per-tenant periods).", no_args_is_help=True)


async def run_tenant(
    db: Database, scope_tenant: Any, *, now: datetime, storage: Storage | None, dry_run: bool, batch: int
) -> dict[str, Any]:
    """Steps in their own transactions until one leaves nothing behind; the totals, as JSON-ready data."""
    totals: dict[str, Any] = {"removed": {}, "audit_entries_removed": 0, "files_removed": 0, "anonymised": 0}
    while True:
        async with db.session(scope_tenant) as session:
            report = await apply_retention(
                session, scope_tenant, now=now, storage=storage, dry_run=dry_run, batch=batch
            )
        _add(totals, report)
        if dry_run or not report.more:
            return totals


def _add(totals: dict[str, Any], report: RetentionReport) -> None:
    for name, count in report.removed.items():
        totals["removed"][name] = totals["removed"].get(name, 0) + count
    totals["audit_entries_removed"] += report.audit_entries_removed
    totals["files_removed"] += report.files_removed
    totals["anonymised"] += len(report.anonymised)
    if report.audit_purge is not None:
        totals["audit_purge"] = report.audit_purge.__dict__


async def run_all(
    db: Database, slug: str | None, *, now: datetime, storage: Storage | None, dry_run: bool, batch: int = DEFAULT_BATCH
) -> dict[str, dict[str, Any]]:
    return {
        tenant_slug: await run_tenant(db, scope, now=now, storage=storage, dry_run=dry_run, batch=batch)
        for tenant_slug, scope in await tenants_to_check(db, slug)
    }


async def schedule_first(session: AsyncSession, scope: Scope) -> None:
    """A new tenant's first retention message, a day from now (`leadflow tenants create`)."""
    await ensure_scheduled(session, scope, at=utcnow() + INTERVAL)


async def schedule_all(db: Database) -> int:
    """Queue a retention message, due now, for every tenant that has none waiting (`leadflow retention schedule`)."""
    queued = 0
    for _, scope in await tenants_to_check(db, None):
        async with db.session(scope) as session:
            queued += await ensure_scheduled(session, scope, at=utcnow())
    return queued


@app.command("run")
def run(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (slug); default every tenant.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what is due; change nothing.")] = False,
) -> None:
    """Apply retention now and print, per tenant, what was removed (or would be, with --dry-run) as JSON."""
    settings = get_settings()

    async def go() -> dict[str, dict[str, Any]]:
        db = Database(create_engine(settings.effective_database_url))
        try:
            return await run_all(db, tenant, now=utcnow(), storage=storage_from_settings(settings), dry_run=dry_run)
        finally:
            await db.dispose()

    results = asyncio.run(go())
    if tenant is not None and not results:
        typer.echo(f"no tenant {tenant!r}", err=True)
        raise typer.Exit(2)
    typer.echo(json.dumps(results, indent=2, default=str))


@app.command("schedule")
def schedule() -> None:
    """Queue the worker's daily retention message for every tenant that has none waiting."""

    async def go() -> int:
        db = Database(create_engine(get_settings().effective_database_url))
        try:
            return await schedule_all(db)
        finally:
            await db.dispose()

    typer.echo(f"retention scheduled for {asyncio.run(go())} tenant(s)")
