"""CRM list latency over the HTTP API with a large tenant among others (issue: p95 < 50 ms on PostgreSQL, < 100 ms
on SQLite on a 2-core machine). Prints figures and query plans; asserts nothing.

    BENCH_LEADS=200000 python bench/crm_list.py                    # embedded SQLite (default 200 000 leads)
    LEADFLOW_DATABASE_URL=postgresql+asyncpg://… python bench/crm_list.py   # PostgreSQL (default 1 000 000 leads)

Rows are bulk-inserted with Core statements (the ORM's per-row work would dominate the setup), one tenant holding
the leads and two small tenants beside it; then `leadflow serve` runs as a separate process and this process
measures the main queries of the lead list, the phone search and the timeline.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import tempfile
import time
from datetime import timedelta
from typing import Any

import httpx
from _serving import leadflow_served
from sqlalchemy import insert, select, text

from leadflow.demo.crm import SMALL
from leadflow.demo.seed import DEMO_PASSWORD, seed_demo
from leadflow.kit.br import phone_match_key
from leadflow.kit.db import Database, create_engine, is_sqlite
from leadflow.kit.ids import new_id
from leadflow.kit.migrate import upgrade
from leadflow.kit.scope import Scope
from leadflow.kit.time import utcnow
from leadflow.models import Lead, Person, PersonIdentity, Stage, Tenant, User
from leadflow.models.person import phone_tail

SAMPLES = int(os.environ.get("BENCH_SAMPLES", "200"))
CAMPAIGNS = [f"campanha-{n}" for n in range(40)]


async def _tenant_rows(db: Database) -> tuple[Any, list[Any], list[Any]]:
    async with db.session(Scope.system()) as session:
        tenant = (await session.execute(select(Tenant).where(Tenant.slug == "demo"))).scalar_one()
    async with db.session(Scope.for_tenant(tenant.id)) as session:
        stages = list((await session.execute(select(Stage.id, Stage.pipeline_id))).all())
        owners = list((await session.execute(select(User.id).where(User.role == "broker"))).scalars())
    return tenant.id, stages, owners


async def _bulk_leads(db: Database, count: int) -> None:
    tenant_id, stages, owners = await _tenant_rows(db)
    rnd = random.Random(7)
    now = utcnow()
    batch = 5_000
    async with db.engine.begin() as conn:
        for start in range(0, count, batch):
            people, identities, leads = [], [], []
            for n in range(start, min(start + batch, count)):
                person_id, created = new_id(), now - timedelta(minutes=n)
                phone = f"+55119{n % 100_000_000:08d}"
                people.append(
                    {
                        "id": person_id,
                        "tenant_id": tenant_id,
                        "name": f"Cliente {n}",
                        "name_key": f"cliente {n}",
                        "tags": [],
                        "custom_fields": {},
                        "created_at": created,
                        "updated_at": created,
                    }
                )
                identities.append(
                    {
                        "id": new_id(),
                        "tenant_id": tenant_id,
                        "person_id": person_id,
                        "kind": "phone",
                        "value": phone,
                        "match_key": phone_match_key(phone),
                        "phone_tail": phone_tail(phone),
                        "is_primary": True,
                        "created_at": created,
                        "updated_at": created,
                    }
                )
                stage_id, pipeline_id = rnd.choice(stages)
                leads.append(
                    {
                        "id": new_id(),
                        "tenant_id": tenant_id,
                        "person_id": person_id,
                        "pipeline_id": pipeline_id,
                        "stage_id": stage_id,
                        "owner_id": rnd.choice(owners),
                        "status": "open",
                        "score": 0,
                        "tags": [],
                        "custom_fields": {},
                        "first_touch": {},
                        "last_touch": {},
                        "utm_campaign": rnd.choice(CAMPAIGNS),
                        "created_at": created,
                        "updated_at": created,
                    }
                )
            await conn.execute(insert(Person.__table__), people)
            await conn.execute(insert(PersonIdentity.__table__), identities)
            await conn.execute(insert(Lead.__table__), leads)
            print(f"  loaded {min(start + batch, count):,} leads", end="\r", flush=True)
    print()


async def _explain(db: Database, sql: str, params: dict[str, Any]) -> None:
    prefix = "EXPLAIN QUERY PLAN " if is_sqlite(str(db.engine.url)) else "EXPLAIN "
    async with db.engine.connect() as conn:
        rows = (await conn.execute(text(prefix + sql), params)).all()
    print("    " + "\n    ".join(" ".join(str(c) for c in row) for row in rows))


async def _prepare(url: str, count: int) -> None:
    db = Database(create_engine(url))
    try:
        await seed_demo(db, size=SMALL)
        await _bulk_leads(db, count)
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
        tenant_id, stages, owners = await _tenant_rows(db)
        # SQLite stores UUIDs as 32 hex characters, PostgreSQL natively.
        tid, stage, owner = ((u.hex if is_sqlite(url) else u) for u in (tenant_id, stages[0][0], owners[0]))
        live = "deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 51"
        print("  plan: leads by stage and owner")
        await _explain(
            db,
            f"SELECT id FROM leads WHERE tenant_id = :t AND stage_id = :s AND owner_id = :o AND {live}",
            {"t": tid, "s": stage, "o": owner},
        )
        print("  plan: leads by campaign")
        await _explain(
            db,
            f"SELECT id FROM leads WHERE tenant_id = :t AND utm_campaign = :c AND {live}",
            {"t": tid, "c": "campanha-7"},
        )
    finally:
        await db.dispose()


async def _measure(base: str) -> None:
    async with httpx.AsyncClient(base_url=base, headers={"Host": "demo.localhost"}, timeout=30) as c:
        login = await c.post("/v1/auth/login", json={"email": "gestor@demo.example.com", "password": DEMO_PASSWORD})
        c.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        pipelines = (await c.get("/v1/pipelines")).json()["items"]
        stage = pipelines[0]["stages"][1]["id"]
        users = (await c.get("/v1/users", params={"role": "broker"})).json()["items"]
        sample = (await c.get("/v1/leads", params={"limit": 1})).json()["items"][0]
        cases = {
            "leads by stage + owner": ("/v1/leads", {"stage_id": stage, "owner_id": users[0]["id"], "limit": 50}),
            "leads by campaign": ("/v1/leads", {"campaign": "campanha-7", "limit": 50}),
            "search by phone": ("/v1/leads", {"q": "(11) 90001-2345", "limit": 50}),
            "lead timeline": (f"/v1/leads/{sample['id']}/timeline", {"limit": 50}),
        }
        for name, (path, params) in cases.items():
            latencies = []
            for _ in range(SAMPLES):
                started = time.perf_counter()
                response = await c.get(path, params=params)
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{name}: {response.status_code} {response.text[:300]}")
            cuts = statistics.quantiles(latencies, n=100)
            print(f"  {name:<24} p50={cuts[49]:7.2f} ms  p95={cuts[94]:7.2f} ms  (n={SAMPLES})")


def main() -> None:
    url = os.environ.get("LEADFLOW_DATABASE_URL")
    count = int(os.environ.get("BENCH_LEADS", "200000" if not url or is_sqlite(url) else "1000000"))
    with tempfile.TemporaryDirectory() as data_dir:
        url = url or f"sqlite+aiosqlite:///{data_dir}/leadflow.db"
        print(f"crm_list: {count:,} leads on {url.split('://')[0]}")
        upgrade(url)  # Alembic runs its own event loop: outside ours
        asyncio.run(_prepare(url, count))
        env = {
            **os.environ,
            "LEADFLOW_DATA_DIR": data_dir,
            "LEADFLOW_DATABASE_URL": url,
            "LEADFLOW_LOG_LEVEL": "WARNING",
        }
        with leadflow_served(env) as base:
            asyncio.run(_measure(base))


if __name__ == "__main__":
    main()
