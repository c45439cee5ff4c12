"""Latency and throughput of an authenticated read (/v1/me) against a real `leadflow serve` on loopback.

Starts the server on a fresh SQLite database (or LEADFLOW_DATABASE_URL), seeds the demo tenants, then sends
requests from this process with a fixed concurrency. Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_ready(base: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise SystemExit("server did not become ready")


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
    port = _free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "LEADFLOW_DATA_DIR": data_dir, "LEADFLOW_LOG_LEVEL": "WARNING", "LEADFLOW_PORT": str(port)}
        leadflow = str(Path(sys.executable).with_name("leadflow"))
        subprocess.run([leadflow, "demo", "--no-serve"], env=env, check=True, capture_output=True)
        server = subprocess.Popen([leadflow, "serve", "--port", str(port)], env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            asyncio.run(_wait_ready(base))
            asyncio.run(_run(base))
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
