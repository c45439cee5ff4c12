"""Worker throughput: form conversions through enrich → identify → rules → roleta → assignment in ONE worker, and
the replay dry run over the same events (issue 4). Prints figures; asserts nothing.

For the embedded default (a fresh SQLite file) and, with ``--postgres [URL]`` or LEADFLOW_BENCH_POSTGRES_URL, a
fresh PostgreSQL database on that server: migrate, create the demo tenant's sales setup (its users in team "Vendas"
with the demo's roleta settings, form ``contato`` routed to that team, rule set v1; no CRM sample data), then

  (0) baseline on the same database, so figures compare across machines: sessions per second that run a bare
      ``SELECT 1``, and committed one-row write transactions per second;
  (1) load BENCH_EVENTS form posts (default 1,000, distinct people) into the event log through the real capture
      service (``capture.forms.submit``, what ``POST /v1/forms/{key}`` calls), 100 per transaction; nothing runs
      them yet;
  (2) start one worker (``bus.worker.Worker`` with the dispatcher ``leadflow worker`` builds, batch 50) in this
      process and time it until no due message is left (the conversions and every message they publish):
      conversions/s, and where the time went per stage (wall time inside each stage's function);
  (3) ``leadflow replay``'s service (``cli.replay_tenant``, a dry run) over the processed events: events/s.

BENCH_SECONDS (default 15) caps the worker's run per database: what it did by then is reported, and the replay runs
over the events it processed.

    python bench/worker.py                                          # embedded SQLite
    python bench/worker.py --postgres                               # also postgresql+asyncpg://postgres@127.0.0.1/
    BENCH_EVENTS=5000 BENCH_SECONDS=120 python bench/worker.py …
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher, profiles
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url

from leadflow.bus.dispatcher import Dispatcher
from leadflow.bus.registry import load_handlers
from leadflow.bus.worker import Worker
from leadflow.capture import forms
from leadflow.cli import replay_tenant
from leadflow.demo.pipeline import seed_demo_pipeline
from leadflow.demo.seed import DEMO_PASSWORD, DEMO_USERS
from leadflow.kit.crypto import use_hasher
from leadflow.kit.db import Database, create_engine
from leadflow.kit.logging import configure_logging
from leadflow.kit.migrate import upgrade
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.lead.funnel import ensure_default_pipelines
from leadflow.models import LeadAssignment, LeadConversion, OutboxMessage, OutboxStatus, Role
from leadflow.pipeline.schemas import ReplayRequest
from leadflow.tenant.service import create_tenant
from leadflow.user import service as users
from leadflow.user.schemas import TeamCreate, UserCreate

EVENTS = int(os.environ.get("BENCH_EVENTS", "1000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
BASELINE_SECONDS = 1.5
LOAD_BATCH = 100
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
TENANT = "demo"
FORM = "contato"
USER_AGENT = "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36"
REPLAY_LIMIT = 10_000  # ReplayRequest's maximum
# Measured on main before the conversion's hot path was cut (docs/pipeline/conversions.md), for comparison.
BEFORE = {
    "SQLite file (embedded default)": "48 statements and 94-99 ms of CPU per conversion (load average ~12)",
    "PostgreSQL": "49 statements and 126 ms of CPU per conversion (load average ~12)",
}

# (stage, module, function): the functions the conversion handler calls through module globals, timed by wrapping.
STAGES = [
    ("enrich", "leadflow.pipeline.service", "read_submission"),
    ("identify", "leadflow.pipeline.service", "identify"),
    ("rules", "leadflow.pipeline.service", "rule_set_of"),
    ("rules", "leadflow.pipeline.service", "run_rules"),
    ("lead", "leadflow.pipeline.service", "create_lead"),
    ("roleta+assignment", "leadflow.pipeline.service", "route_new_lead"),
    ("handler", "leadflow.pipeline.handlers", "process_conversion"),
]


# ---------------------------------------------------------------- databases


@contextmanager
def fresh_database(backend: str, data_dir: str, admin_url: str | None) -> Iterator[str]:
    """A new empty database for one run, dropped afterwards (PostgreSQL) or left in the temporary dir (SQLite)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{data_dir}/bench.db"
        return
    assert admin_url
    admin = make_url(admin_url)
    plain = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"leadflow_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg(plain, f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg(plain, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _pg(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def seed_tenant(db: Database) -> uuid.UUID:
    """The demo tenant's sales setup and nothing else (no CRM sample data): created as `leadflow tenants create`
    does, the demo's users in team "Vendas", then the demo's forms, roleta settings and rule set v1."""
    async with db.session(Scope.system()) as session:
        tenant_id = (await create_tenant(session, slug=TENANT, name="Imobiliária Demo")).id
    owner = Scope(tenant_id=tenant_id, actor_type="system", role=Role.OWNER.value)
    async with db.session(owner) as session:
        await ensure_default_pipelines(session, owner)
        members = [
            await users.create_user(
                session, owner, data=UserCreate(email=u.email, name=u.name, role=u.role, password=DEMO_PASSWORD)
            )
            for u in DEMO_USERS
        ]
        await users.create_team(session, owner, data=TeamCreate(name="Vendas", member_ids=[m.id for m in members]))
    await seed_demo_pipeline(db, tenant_id)
    return tenant_id


# ---------------------------------------------------------------- (0) baseline


async def baseline(db: Database) -> tuple[float, float]:
    """(SELECT 1 sessions/s, committed one-row write transactions/s) on this database, through the same engine."""
    reads = await _rate(db, "SELECT 1")
    # A write the tenant row can take any number of times: the commit (WAL append, fsync policy) is what costs.
    writes = await _rate(db, "UPDATE tenants SET updated_at = updated_at WHERE slug = 'outra'")
    return reads, writes


async def _rate(db: Database, statement: str) -> float:
    done, deadline = 0, time.perf_counter() + BASELINE_SECONDS
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        async with db.session(Scope.system()) as session:
            await session.execute(text(statement))
        done += 1
    return done / (time.perf_counter() - started)


# ---------------------------------------------------------------- (1) load


def _post(n: int, run: str) -> dict[str, str]:
    """The n-th visitor's contact form, with the hidden fields t.js fills (a Google ad click)."""
    return {
        "name": f"Cliente {n}",
        "email": f"cliente{n}.{run}@example.com",
        "phone": f"+55 11 9{n % 10_000:04d}-{(n // 10_000) % 10_000:04d}",
        "message": "Quero agendar uma visita.",
        "lf_tracking_id": f"trk_{run}_{n:06d}",
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "lancamento-jardins",
        "gclid": f"EAIaIQobChMI{n:06d}",
        "page_url": "https://demo.localhost:8000/empreendimentos/jardins",
        "referrer": "https://www.google.com/",
    }


async def load_conversions(db: Database, tenant_id: uuid.UUID, count: int) -> tuple[datetime, float]:
    """Log ``count`` form posts as the forms endpoint does; returns (when loading began, seconds it took)."""
    scope = Scope.for_tenant(tenant_id)
    run = uuid.uuid4().hex[:6]
    began, started = utcnow(), time.perf_counter()
    for first in range(0, count, LOAD_BATCH):
        async with db.session(scope) as session:
            for n in range(first, min(count, first + LOAD_BATCH)):
                visit = forms.Visit(received_at=utcnow(), ip="203.0.113.7", user_agent=USER_AGENT)
                await forms.submit(session, scope, form_key=FORM, fields=_post(n, run), visit=visit)
    return began, time.perf_counter() - started


async def due_messages(db: Database) -> int:
    async with db.session(Scope.system()) as session:
        stmt = select(func.count(OutboxMessage.id)).where(
            OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.available_at <= utcnow()
        )
        return int((await session.execute(stmt)).scalar_one())


async def drain(db: Database) -> None:
    """Work off what seeding published, so the measured run starts from an empty queue."""
    dispatcher = Dispatcher(db)
    while await dispatcher.dispatch_once():
        pass


# ---------------------------------------------------------------- (2) the worker, with stage timers


@dataclass
class StageClock:
    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    _originals: list[tuple[Any, str, Any]] = field(default_factory=list)

    def install(self) -> None:
        for stage, module_name, name in STAGES:
            module = importlib.import_module(module_name)
            original = getattr(module, name, None)
            if original is None:  # renamed in the code under test: that stage is simply not broken out
                self.missing.append(f"{module_name}.{name}")
                continue
            setattr(module, name, self._timed(stage, original))
            self._originals.append((module, name, original))

    def uninstall(self) -> None:
        for module, name, original in self._originals:
            setattr(module, name, original)
        self._originals.clear()

    def _timed(self, stage: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def add(elapsed: float) -> None:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + elapsed
            self.calls[stage] = self.calls.get(stage, 0) + 1

        if inspect.iscoroutinefunction(original):

            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    add(time.perf_counter() - started)

            return timed_async

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                add(time.perf_counter() - started)

        return timed


@dataclass
class StatementCounter:
    """SQL statements the engine sends (each one a round trip), while counting."""

    count: int = 0

    def __call__(self, *_: Any) -> None:
        self.count += 1


async def run_worker(db: Database, clock: StageClock, statements: StatementCounter) -> tuple[float, float, bool]:
    """One worker until no due message is left (or BENCH_SECONDS); returns (seconds, CPU seconds of this process,
    drained)."""
    worker = Worker(Dispatcher(db))  # the defaults of `leadflow worker`
    clock.install()
    event.listen(db.engine.sync_engine, "before_cursor_execute", statements)
    started, cpu = time.perf_counter(), time.process_time()
    task = asyncio.create_task(worker.run(), name="bench.worker")
    deadline = started + SECONDS
    finished, drained = started, False
    try:
        while (left := deadline - time.perf_counter()) > 0:
            try:  # the worker says when it found its queue drained; only then look (SQLite has one writer)
                await asyncio.wait_for(worker.idle.wait(), left)
            except TimeoutError:
                break
            finished = time.perf_counter()
            if await due_messages(db) == 0:
                drained = True
                break
            await asyncio.sleep(0.01)
    finally:
        worker.stop()
        await asyncio.wait_for(task, 60)  # a stopped worker finishes its batch: counted, and its time with it
        if not drained:
            finished = time.perf_counter()
        clock.uninstall()
        event.remove(db.engine.sync_engine, "before_cursor_execute", statements)
    return finished - started, time.process_time() - cpu, drained


async def outcome(db: Database, tenant_id: uuid.UUID, since: datetime) -> tuple[int, int, int]:
    """(conversions processed, of which leads assigned by the roleta, outbox messages delivered since ``since``)."""
    async with db.session(Scope.for_tenant(tenant_id)) as session:
        converted = (
            await session.execute(select(func.count(LeadConversion.id)).where(LeadConversion.occurred_at >= since))
        ).scalar_one()
        assigned = (
            await session.execute(
                select(func.count(func.distinct(LeadAssignment.lead_id)))
                .join(LeadConversion, LeadConversion.lead_id == LeadAssignment.lead_id)
                .where(LeadConversion.occurred_at >= since, LeadAssignment.reason == "roleta")
            )
        ).scalar_one()
    async with db.session(Scope.system()) as session:
        delivered = (
            await session.execute(
                select(func.count(OutboxMessage.id)).where(
                    OutboxMessage.status == OutboxStatus.DONE, OutboxMessage.occurred_at >= since
                )
            )
        ).scalar_one()
    return int(converted), int(assigned), int(delivered)


# ---------------------------------------------------------------- (3) replay dry run


async def replay_dry_run(db: Database, since: datetime, count: int) -> tuple[int, int, float]:
    """(events considered, leads that would change, seconds) of `leadflow replay --tenant demo --from <since>` over
    the first ``count`` events (those the worker processed: the rest would only be skipped)."""
    request = ReplayRequest(received_from=since, dry_run=True, limit=max(1, min(count, REPLAY_LIMIT)))
    started = time.perf_counter()
    report = await replay_tenant(db, tenant=TENANT, request=request)
    return report.events_considered, report.leads_changed, time.perf_counter() - started


# ---------------------------------------------------------------- running and printing


def _print_stages(clock: StageClock, seconds: float, converted: int) -> None:
    if not converted:
        return
    handler = clock.seconds.get("handler", 0.0)
    for stage in ("enrich", "identify", "rules", "lead", "roleta+assignment"):
        spent = clock.seconds.get(stage)
        if spent is None:
            continue
        print(
            f"      {stage:<18} {spent / converted * 1000:7.2f} ms/event  {converted / spent:>9,.0f} events/s alone"
            f"  {spent / seconds:5.1%} of the run"
        )
    stages = sum(v for k, v in clock.seconds.items() if k != "handler")
    print(
        f"      {'other in handler':<18} {(handler - stages) / converted * 1000:7.2f} ms/event"
        f"  (reading the event, form and pipeline, conversion row, message, notices)"
    )
    print(
        f"      {'bus + commit':<18} {(seconds - handler) / converted * 1000:7.2f} ms/event"
        f"  (claim, run record, flush/commit, settle, the follow-on messages' handlers)"
    )
    if clock.missing:
        print(f"      not broken out (not found): {', '.join(clock.missing)}")


async def measure(label: str, url: str) -> None:
    db = Database(create_engine(url))
    try:
        started = time.perf_counter()
        tenant_id = await seed_tenant(db)
        await drain(db)
        setup = time.perf_counter() - started
        reads, writes = await baseline(db)
        print(f"\n{label} (demo tenant's sales setup created in {setup:.1f} s)")
        print(f"(0) baseline: {reads:,.0f} SELECT 1 sessions/s   {writes:,.0f} committed one-row writes/s")
        since, load_seconds = await load_conversions(db, tenant_id, EVENTS)
        print(
            f"(1) loaded {EVENTS:,} form posts through capture.forms.submit in {load_seconds:.1f} s"
            f" ({EVENTS / load_seconds:,.0f}/s, {LOAD_BATCH} per transaction); {await due_messages(db):,} messages due"
        )
        clock, statements = StageClock(), StatementCounter()
        seconds, cpu, drained = await run_worker(db, clock, statements)
        converted, assigned, delivered = await outcome(db, tenant_id, since)
        rate = converted / seconds
        state = "queue drained" if drained else f"stopped after BENCH_SECONDS={SECONDS:g}"
        print(
            f"(2) one worker: {converted:,} conversions in {seconds:.1f} s = {rate:,.0f} conversions/s"
            f"  ({rate / writes:.3f} per committed write of the baseline); {state}"
        )
        print(
            f"      {assigned:,} leads assigned by the roleta; {delivered:,} outbox messages delivered"
            f" ({delivered / seconds:,.0f} messages/s); {statements.count / max(converted, 1):,.0f} SQL statements"
            " per conversion (the worker's polls included)"
        )
        per_event = cpu / max(converted, 1)
        print(
            f"      worker process CPU {per_event * 1000:.1f} ms per conversion: at most {1 / per_event:,.0f}"
            " conversions/s on one free core (the database server's own CPU not counted)"
        )
        print(f"      before the hot path was cut (issue 4, same machine): {BEFORE[label]}")
        _print_stages(clock, seconds, converted)
        considered, changed, replay_seconds = await replay_dry_run(db, since, converted)
        print(
            f"(3) replay dry run: {considered:,} events in {replay_seconds:.2f} s ="
            f" {considered / replay_seconds:,.0f} events/s ({changed:,} leads would change)"
        )
    finally:
        await db.dispose()


def run_backend(backend: str, admin_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as data_dir, fresh_database(backend, data_dir, admin_url) as url:
        upgrade(url)  # runs its own event loop
        label = "SQLite file (embedded default)" if backend == "sqlite" else "PostgreSQL"
        asyncio.run(measure(label, url))


def _load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", nargs="?", const=DEFAULT_POSTGRES, default=None, help="also on PostgreSQL")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
    args = parser.parse_args()
    postgres_url = args.postgres or os.environ.get("LEADFLOW_BENCH_POSTGRES_URL")
    configure_logging(fmt="json", level="WARNING")
    # Throwaway users of a throwaway database: production argon2 would spend seconds of setup on their passwords.
    use_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))
    load_handlers()
    print(
        f"bench/worker.py: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {EVENTS:,} form conversions,"
        f" one worker in this process; load average before: {_load_average()}"
    )
    if not args.no_sqlite:
        run_backend("sqlite", None)
    if postgres_url:
        run_backend("postgresql", postgres_url)
    else:
        print("\nPostgreSQL: skipped (pass --postgres [URL] or set LEADFLOW_BENCH_POSTGRES_URL)")
    print(f"\nload average after: {_load_average()} (other work on this machine lowers every figure above)")


if __name__ == "__main__":
    main()
