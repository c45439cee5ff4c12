"""Latency and throughput of an authenticated read (/v1/me) against a real `leadflow serve` on loopback.

Starts the server on a fresh SQLite database (or LEADFLOW_DATABASE_URL), seeds the demo tenants, then sends
requests from this process with a fixed concurrency. Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import tempfile
import time

import httpx
from _serving import LEADFLOW, leadflow_served

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))


async def _run(base: str) -> None:
    headers = {"Host": "demo.localhost"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=httpx.Limits(max_connections=CONCURRENCY)) as c:
        login = await c.post("/v1/auth/login", json={"email": "gestor@demo.example.com", "password": "leadflow-demo"})
        c.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        latencies: list[float] = []
        queue = iter(range(REQUESTS))

        async def worker() -> None:
            for _ in queue:
                started = time.perf_counter()
                response = await c.get("/v1/me")
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    print(f"GET /v1/me  requests={REQUESTS} concurrency={CONCURRENCY} rps={REQUESTS / elapsed:,.0f}")
    print(f"  latency ms  p50={cuts[49] * 1000:.2f}  p95={cuts[94] * 1000:.2f}  p99={cuts[98] * 1000:.2f}")


def main() -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "LEADFLOW_DATA_DIR": data_dir, "LEADFLOW_LOG_LEVEL": "WARNING"}
        env["LEADFLOW_TENANT_API_REQUESTS_PER_MINUTE"] = "1000000000"  # the server's figures, not the tenant's wall
        subprocess.run([LEADFLOW, "demo", "--no-serve"], env=env, check=True, capture_output=True)
        with leadflow_served(env) as base:
            asyncio.run(_run(base))


if __name__ == "__main__":
    main()
