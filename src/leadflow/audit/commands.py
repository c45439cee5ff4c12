"""``leadflow audit …``: commands an operator runs against the database (the CLI's system scope lives here)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from sqlalchemy import select

from leadflow.audit.service import ChainReport, verify_chain
from leadflow.config import get_settings
from leadflow.kit.db import Database, create_engine
from leadflow.kit.scope import Scope
from leadflow.models import Tenant

app = typer.Typer(help="Inspect the tamper-evident audit trail.", no_args_is_help=True)


async def tenants_to_check(db: Database, slug: str | None) -> list[tuple[str, Scope]]:
    """Every tenant (deleted ones too: their chains still count), or the one named; oldest first."""
    async with db.session(Scope.system()) as session:
        stmt = select(Tenant.id, Tenant.slug).order_by(Tenant.created_at).execution_options(include_deleted=True)
        if slug is not None:
            stmt = stmt.where(Tenant.slug == slug)
        rows = (await session.execute(stmt)).all()
    return [(row.slug, Scope.for_tenant(row.id)) for row in rows]


async def verify_all(db: Database, slug: str | None) -> list[tuple[str, ChainReport]]:
    """Verify each tenant's chain in its own read-only, tenant-scoped session."""
    reports = []
    for tenant_slug, scope in await tenants_to_check(db, slug):
        async with db.session(scope) as session:
            reports.append((tenant_slug, await verify_chain(session, scope)))
    return reports


def describe(slug: str, report: ChainReport) -> str:
    if report.broken is None:
        span = f", entries {report.first_seq}-{report.last_seq}" if report.entries else ""
        redacted = f", {report.redacted} with redacted personal values" if report.redacted else ""
        return f"{slug}: ok ({report.entries} entries{span}{redacted})"
    broken = report.broken
    where = f"entry {broken.seq}" if broken.seq is not None else "an entry"
    ident = f" (id {broken.entry_id})" if broken.entry_id is not None else ""
    return f"{slug}: BROKEN at {where}{ident}: {broken.problem}"


@app.command("verify")
def verify(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (slug); default every tenant.")] = None,
) -> None:
    """Check every tenant's audit hash chain; exit 1 naming the first broken entry of each broken chain."""

    async def run() -> list[tuple[str, ChainReport]]:
        db = Database(create_engine(get_settings().effective_database_url))
        try:
            return await verify_all(db, tenant)
        finally:
            await db.dispose()

    reports = asyncio.run(run())
    if tenant is not None and not reports:
        typer.echo(f"no tenant {tenant!r}", err=True)
        raise typer.Exit(2)
    for slug, report in reports:
        typer.echo(describe(slug, report), err=not report.holds)
    if not all(report.holds for _, report in reports):
        raise typer.Exit(1)
