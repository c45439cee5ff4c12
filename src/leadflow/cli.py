"""The leadflow command line: ``leadflow …`` or ``python -m leadflow …``."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import datetime
from typing import Annotated, Any

import typer
import uvicorn

from leadflow.audit import commands as audit_commands
from leadflow.auth import service as auth
from leadflow.auth.schemas import ApiKeyCreate
from leadflow.config import Settings, get_settings
from leadflow.kit.db import Database, create_engine
from leadflow.kit.migrate import upgrade
from leadflow.kit.scope import Scope
from leadflow.kit.time import as_utc
from leadflow.lead.funnel import ensure_default_pipelines
from leadflow.models import ApiKeyKind, Role
from leadflow.pipeline.schemas import ReplayReport, ReplayRequest
from leadflow.retention import commands as retention_commands
from leadflow.tenant.service import create_tenant, get_tenant_by_slug
from leadflow.user import service as users
from leadflow.user.schemas import UserCreate

cli = typer.Typer(
    help="leadflow: capture every lead with its context and follow it to the close.", no_args_is_help=True
)
tenants_cli = typer.Typer(help="Manage tenants.", no_args_is_help=True)
users_cli = typer.Typer(help="Manage users.", no_args_is_help=True)
keys_cli = typer.Typer(help="Manage API keys.", no_args_is_help=True)
cli.add_typer(tenants_cli, name="tenants")
cli.add_typer(users_cli, name="users")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(audit_commands.app, name="audit")
cli.add_typer(retention_commands.app, name="retention")

Port = Annotated[int | None, typer.Option("--port", help="Port to listen on (default LEADFLOW_PORT or 8000).")]
Host = Annotated[str | None, typer.Option("--host", help="Address to bind (default LEADFLOW_HOST).")]


def _database(settings: Settings) -> Database:
    return Database(create_engine(settings.effective_database_url))


def _migrate(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # As the owner; the app's own login (LEADFLOW_DATABASE_URL) is then let in as a non-owner member.
    upgrade(settings.effective_migration_url, app_url=settings.effective_database_url)


def _serve(settings: Settings, host: str | None, port: int | None) -> None:
    uvicorn.run(
        "leadflow.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        access_log=False,  # our middleware logs each request, without query strings that may carry tokens
        proxy_headers=True,
    )


@cli.command()
def serve(host: Host = None, port: Port = None) -> None:
    """Serve the API, console and hooks over HTTP."""
    _serve(get_settings(), host, port)


@cli.command()
def migrate() -> None:
    """Upgrade the database to the latest schema."""
    settings = get_settings()
    _migrate(settings)
    typer.echo(f"database migrated: {settings.effective_migration_url.split('@')[-1]}")


@cli.command()
def demo(host: Host = None, port: Port = None, serve: bool = typer.Option(True, help="Serve after seeding.")) -> None:
    """Migrate, load the demo tenants and serve (the embedded default, one process that also works the bus)."""
    os.environ.setdefault("LEADFLOW_DEFAULT_TENANT", "demo")
    os.environ["LEADFLOW_WORKER_IN_PROCESS"] = "true"  # read again by create_app() in uvicorn's factory call
    get_settings.cache_clear()
    settings = get_settings()
    _migrate(settings)
    asyncio.run(_seed(settings))
    port = port or settings.port
    typer.echo(
        f"\nleadflow demo ready on http://localhost:{port} (also http://demo.localhost:{port}; "
        f"other tenant: http://outra.localhost:{port})\n"
        "  logins (password leadflow-demo): dona@demo.example.com (owner), gestor@demo.example.com (manager),\n"
        "  ana@, bruno@, carla@demo.example.com (brokers); dona@outra.example.com, gestor@outra.example.com\n"
        "  the bus worker runs in this process (no separate `leadflow worker` needed)\n"
    )
    if serve:
        _serve(settings, host, port)


async def _seed(settings: Settings) -> None:
    from leadflow.demo.seed import seed_demo  # the demo dataset is only loaded by this command

    db = _database(settings)
    try:
        await seed_demo(db)
    finally:
        await db.dispose()


@tenants_cli.command("create")
def tenants_create(
    slug: str,
    name: str,
    time_zone: str = "America/Sao_Paulo",
    locale: str = "pt-BR",
    host: Annotated[list[str] | None, typer.Option(help="A custom host for this tenant (repeatable).")] = None,
) -> None:
    """Create a tenant reachable at <slug>.<base domain> and at its custom hosts."""

    async def run() -> uuid.UUID:
        db = _database(get_settings())
        try:
            async with db.session(Scope.system()) as session:
                tenant = await create_tenant(
                    session, slug=slug, name=name, time_zone=time_zone, locale=locale, hosts=host or []
                )
            owner = Scope(tenant_id=tenant.id, actor_type="system", role=Role.OWNER.value)
            async with db.session(owner) as session:
                await ensure_default_pipelines(session, owner)  # a new tenant can take leads at once
                await retention_commands.schedule_first(session, owner)  # the worker's daily retention, from tomorrow
            return tenant.id
        finally:
            await db.dispose()

    typer.echo(f"tenant {slug} created: {asyncio.run(run())}")


@users_cli.command("create")
def users_create(
    tenant: Annotated[str, typer.Option(help="Tenant slug.")],
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    role: Annotated[Role, typer.Option()] = Role.BROKER,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
) -> None:
    """Create a user in a tenant."""

    async def run() -> uuid.UUID:
        db = _database(get_settings())
        try:
            tenant_id = await _tenant_id(db, tenant)
            scope = Scope(tenant_id=tenant_id, actor_type="system", role=Role.OWNER.value)
            async with db.session(scope) as session:
                data = UserCreate(email=email, name=name, role=role, password=password)
                return (await users.create_user(session, scope, data=data)).id
        finally:
            await db.dispose()

    typer.echo(f"user {email} created: {asyncio.run(run())}")


@keys_cli.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(help="Tenant slug.")],
    name: Annotated[str, typer.Option()],
    kind: Annotated[ApiKeyKind, typer.Option()] = ApiKeyKind.SECRET,
    scope_names: Annotated[
        list[str] | None, typer.Option("--scope", help="Scope of a secret key (repeatable).")
    ] = None,
    origin: Annotated[list[str] | None, typer.Option(help="Allowed origin of a write key (repeatable).")] = None,
) -> None:
    """Create an API key; the key is printed once and cannot be shown again."""

    async def run() -> str:
        db = _database(get_settings())
        try:
            tenant_id = await _tenant_id(db, tenant)
            scope = Scope(tenant_id=tenant_id, actor_type="system", role=Role.OWNER.value)
            async with db.session(scope) as session:
                data = ApiKeyCreate(name=name, kind=kind, scopes=scope_names or [], allowed_origins=origin or [])
                return (await auth.create_api_key(session, scope, data=data))[1]
        finally:
            await db.dispose()

    typer.echo(asyncio.run(run()))


async def _tenant_id(db: Database, slug: str) -> uuid.UUID:
    async with db.session(Scope.system()) as session:
        return (await get_tenant_by_slug(session, slug)).id


def main() -> None:
    cli()


@cli.command()
def worker(
    poll_interval: Annotated[float, typer.Option(help="Seconds between polls when nothing wakes the worker.")] = 1.0,
    batch_size: Annotated[int, typer.Option(help="Messages claimed per round.")] = 50,
    lease: Annotated[float, typer.Option(help="Seconds a claim lasts before another worker may take over.")] = 60.0,
    max_attempts: Annotated[int, typer.Option(help="Failed deliveries before a message is dead-lettered.")] = 8,
    retry_base: Annotated[float, typer.Option(help="Seconds of the first retry delay (doubling, jittered).")] = 2.0,
) -> None:
    """Deliver the outbox to its handlers until stopped (SIGINT/SIGTERM finish the current batch)."""
    import signal
    from datetime import timedelta

    from leadflow.bus import crash
    from leadflow.bus.dispatcher import Dispatcher, RetryPolicy
    from leadflow.bus.registry import load_handlers
    from leadflow.bus.streams import StreamDispatcher, streamed
    from leadflow.bus.worker import Worker
    from leadflow.kit.logging import configure_logging

    settings = get_settings()
    configure_logging(fmt=settings.log_format, level=settings.log_level)
    modules = load_handlers(settings.extra_handler_modules)
    crash.arm(settings.crash_at)
    retry = RetryPolicy(max_attempts=max_attempts, base=timedelta(seconds=retry_base))

    async def run() -> None:
        from leadflow.app import bounded_waits

        waits = bounded_waits(settings, statement_timeout=settings.worker_statement_timeout_seconds)
        db = Database(create_engine(settings.effective_database_url, **waits))
        options: dict[str, Any] = {"batch_size": batch_size, "lease": timedelta(seconds=lease), "retry": retry}
        redis = streamed(settings)
        dispatcher = (
            Dispatcher(db, **options)
            if redis is None
            else StreamDispatcher(db, redis=redis, stream=settings.bus_stream, **options)
        )
        loop = Worker(dispatcher, poll_interval=poll_interval)
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, loop.stop)
        try:
            await loop.run()
        finally:
            await db.dispose()
            if redis is not None:
                await redis.aclose()

    typer.echo(f"worker started ({settings.bus_transport} transport), handlers from: {', '.join(modules) or 'none'}")
    asyncio.run(run())


@cli.command()
def replay(
    tenant: Annotated[str, typer.Option(help="Tenant slug.")],
    received_from: Annotated[
        str | None, typer.Option("--from", help="Events received at or after this moment (ISO 8601; no offset: UTC).")
    ] = None,
    received_to: Annotated[
        str | None, typer.Option("--to", help="Events received before this moment (ISO 8601; no offset: UTC).")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Only events from this source (form, segment, …).")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Change the leads (default: only report).")] = False,
) -> None:
    """Run logged conversions through the current rules again and print the report as JSON (a dry run by default)."""
    from pydantic import ValidationError

    from leadflow.tenant.service import TenantNotFound

    try:
        request = ReplayRequest(
            received_from=_moment(received_from, "--from"),
            received_to=_moment(received_to, "--to"),
            source=source,
            dry_run=not apply,
        )
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from None

    async def run() -> ReplayReport:
        db = _database(get_settings())
        try:
            return await replay_tenant(db, tenant=tenant, request=request)
        finally:
            await db.dispose()

    try:
        report = asyncio.run(run())
    except TenantNotFound as exc:
        typer.echo(exc.detail or str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(report.model_dump_json(indent=2))


async def replay_tenant(db: Database, *, tenant: str, request: ReplayRequest) -> ReplayReport:
    """``leadflow replay``: one transaction scoped to the tenant, acting as its owner (a dry run changes nothing)."""
    from leadflow.kit.time import utcnow
    from leadflow.pipeline.replay import replay as replay_conversions

    scope = Scope(tenant_id=await _tenant_id(db, tenant), actor_type="system", role=Role.OWNER.value)
    async with db.session(scope) as session:
        return await replay_conversions(session, scope, request=request, now=utcnow())


def _moment(text: str | None, option: str) -> datetime | None:
    """An ISO 8601 moment from the command line; without an offset it is UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 date or moment: {text!r}", param_hint=option) from None
    return as_utc(moment)
