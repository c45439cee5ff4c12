"""Speed to lead: form submits at a steady rate against a real `leadflow serve` whose worker runs in-process;
for each submit, the time from the form's 2xx (client clock) to the lead assigned by the roleta and its
`lead.assigned` committed (same machine, same clock). Target (issue 4): p99 <= 250 ms on both databases.
Prints figures; asserts nothing.

    python bench/speed_to_lead.py                                   # embedded SQLite
    LEADFLOW_BENCH_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres python bench/speed_to_lead.py
    BENCH_RATE=20 BENCH_SECONDS=60 …                                # the issue's run (defaults: 20/s for 20 s)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime

import httpx
from _serving import LEADFLOW, leadflow_served
from sqlalchemy import select

from leadflow.demo.crm import SMALL
from leadflow.demo.seed import seed_demo
from leadflow.kit.db import Database, create_engine
from leadflow.kit.migrate import upgrade
from leadflow.kit.scope import Scope
from leadflow.models import LeadAssignment, LeadConversion, Tenant

RATE = float(os.environ.get("BENCH_RATE", "20"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
HOST = "demo.localhost"
TARGET_P99_MS = 250.0
PG_WORKERS = int(os.environ.get("BENCH_PG_WORKERS", "1"))  # worker processes beside the server, second PG run


def _fresh_postgres(admin_url: str) -> str:
    name = f"leadflow_bench_{uuid.uuid4().hex[:8]}"
    plain = admin_url.replace("+asyncpg", "")
    subprocess.run(["psql", plain, "-qc", f"CREATE DATABASE {name}"], check=True)
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def _drop_postgres(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    subprocess.run(["psql", admin_url.replace("+asyncpg", ""), "-qc", f"DROP DATABASE IF EXISTS {name}"], check=False)


async def _seed(url: str) -> None:
    db = Database(create_engine(url))
    try:
        await seed_demo(db, size=SMALL)
    finally:
        await db.dispose()


async def _submit_all(base: str) -> list[tuple[uuid.UUID, datetime]]:
    """Open loop: one submit every 1/RATE s whatever the answers take; returns (event id, time of the 2xx)."""
    acked: list[tuple[uuid.UUID, datetime]] = []
    async with httpx.AsyncClient(base_url=base, headers={"Host": HOST}, timeout=10) as client:

        async def one(n: int) -> None:
            form = {
                "name": f"Cliente {n}",
                "email": f"cliente{n}.{uuid.uuid4().hex[:6]}@example.com",
                "utm_source": "google",
                "utm_medium": "cpc",
                "utm_campaign": "speed-to-lead",
                "lf_tracking_id": uuid.uuid4().hex,
            }
            response = await client.post("/v1/forms/contato", json=form)
            if response.status_code == 202:
                acked.append((uuid.UUID(response.json()["event_id"]), datetime.now(UTC)))

        tasks = []
        start = time.perf_counter()
        for n in range(int(RATE * SECONDS)):
            await asyncio.sleep(max(0.0, start + n / RATE - time.perf_counter()))
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return acked


async def _latencies(url: str, acked: list[tuple[uuid.UUID, datetime]]) -> tuple[list[float], int]:
    """Milliseconds from each 2xx to the roleta's assignment of the lead it created (waits for stragglers)."""
    db = Database(create_engine(url))
    try:
        async with db.session(Scope.system()) as session:
            tenant = (await session.execute(select(Tenant).where(Tenant.slug == "demo"))).scalar_one()
        deadline = time.monotonic() + 15
        while True:
            async with db.session(Scope.for_tenant(tenant.id)) as session:
                rows = (
                    await session.execute(
                        select(LeadConversion.event_id, LeadAssignment.assigned_at)
                        .join(LeadAssignment, LeadAssignment.lead_id == LeadConversion.lead_id)
                        .where(LeadAssignment.reason == "roleta")
                    )
                ).all()
            assigned = {row[0]: row[1] for row in rows}
            if all(event_id in assigned for event_id, _ in acked) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    finally:
        await db.dispose()
    latencies = []
    for event_id, ack in acked:
        if (at := assigned.get(event_id)) is not None:
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
            latencies.append(max(0.0, (at - ack).total_seconds() * 1000))
    return latencies, len(acked) - len(latencies)


def _run(label: str, url: str, data_dir: str, *, workers: int = 0) -> None:
    """``workers`` = 0: the worker inside the server process (the embedded shape); n > 0: n ``leadflow worker``
    processes beside ``leadflow serve`` (the production shape on PostgreSQL, ARCHITECTURE §2)."""
    upgrade(url)
    asyncio.run(_seed(url))
    env = {
        **os.environ,
        "LEADFLOW_DATA_DIR": data_dir,
        "LEADFLOW_DATABASE_URL": url,
        "LEADFLOW_LOG_LEVEL": "WARNING",
        "LEADFLOW_WORKER_IN_PROCESS": "false" if workers else "true",
        "LEADFLOW_FORM_POSTS_PER_IP_PER_MINUTE": "1000000",
        "LEADFLOW_FORM_POSTS_PER_FORM_PER_MINUTE": "1000000",
    }
    started = [
        subprocess.Popen([LEADFLOW, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    try:
        with leadflow_served(env) as base:
            acked = asyncio.run(_submit_all(base))
            latencies, missing = asyncio.run(_latencies(url, acked))
    finally:
        for process in started:
            process.terminate()
            process.wait(timeout=30)
    label = f"{label} ({workers} worker process{'es' if workers > 1 else ''})" if workers else label
    if len(latencies) < 2:
        print(f"  {label}: {len(acked)} submits acknowledged, only {len(latencies)} leads assigned")
        return
    cuts = statistics.quantiles(latencies, n=100)
    verdict = "met" if cuts[98] <= TARGET_P99_MS and not missing else "NOT met"
    print(
        f"  {label:<10} submits={len(acked)} assigned={len(latencies)} not-assigned={missing}  "
        f"2xx→assigned p50={cuts[49]:6.1f} ms  p95={cuts[94]:6.1f} ms  p99={cuts[98]:6.1f} ms  "
        f"max={max(latencies):6.1f} ms  (target p99 <= {TARGET_P99_MS:g} ms: {verdict})"
    )


def main() -> None:
    print(f"speed_to_lead: {RATE:g} form submits/s for {SECONDS:g} s (worker in the server process unless said)")
    with tempfile.TemporaryDirectory() as data_dir:
        _run("sqlite", f"sqlite+aiosqlite:///{data_dir}/leadflow.db", data_dir)
    admin = os.environ.get("LEADFLOW_BENCH_POSTGRES_URL")
    if admin:
        url = _fresh_postgres(admin)
        try:
            with tempfile.TemporaryDirectory() as data_dir:
                _run("postgresql", url, data_dir)
        finally:
            _drop_postgres(admin, url)
        # The production shape: the API and `leadflow worker` in processes of their own (one core each here).
        url = _fresh_postgres(admin)
        try:
            with tempfile.TemporaryDirectory() as data_dir:
                _run("postgresql", url, data_dir, workers=PG_WORKERS)
        finally:
            _drop_postgres(admin, url)
    else:
        print("  postgresql: skipped (set LEADFLOW_BENCH_POSTGRES_URL to an admin URL of a local server)")


if __name__ == "__main__":
    main()
