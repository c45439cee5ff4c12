"""Ingestion throughput and acknowledgement latency against a real `leadflow serve` on loopback (issue 4).

For the embedded default (a fresh SQLite file) and, with ``--postgres [URL]`` or LEADFLOW_BENCH_POSTGRES_URL, a
fresh PostgreSQL database on that server: migrate, create a tenant and a write key with the CLI, start
`leadflow serve`, and drive it from a separate load-generator process:

  (a) POST /v1/track, one event per request, many keep-alive connections, as fast as acknowledged (events/s);
  (b) POST /v1/track at a fixed 1,000 events/s open-loop rate: p50/p99 from each request's scheduled send time,
      so a stall counts for every request it delays (no coordinated omission);
  (c) POST /v1/batch with 100 events per request (events/s);
  (d) the same as (a) against a bare ASGI hello-world served by uvicorn with the flags `leadflow serve` uses:
      the ceiling of this server and load generator on this machine; the ratio is printed.

Before them, (e): the CPU cost per event of sealing its personal part (LGPD crypto-shredding: split, JSON,
AES-GCM) and of opening it again, measured in process on the same events (``--sealing`` runs only that).

After (a) and (c) the rows are counted in the database: every acknowledged event must be there. Also printed:
requests per transaction (group commit), from the server's /metrics. Prints figures; asserts nothing.

The load generator is a minimal HTTP/1.1 keep-alive client on asyncio (uvloop when installed): httpx spends
more CPU per request than the server under test, so it would measure itself. Environment: BENCH_SECONDS (per
measurement, default 10), BENCH_CONNECTIONS (default 64), BENCH_BATCH_CONNECTIONS (default 8), BENCH_RATE
(default 1000), BENCH_CLIENTS (load-generator processes, default 1).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _serving import free_port, serving

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
BATCH_CONNECTIONS = int(os.environ.get("BENCH_BATCH_CONNECTIONS", "8"))
RATE = float(os.environ.get("BENCH_RATE", "1000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "1"))
BATCH_SIZE = 100
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/"
TENANT = "bench"
HOST_HEADER = f"{TENANT}.localhost"
TARGET_SINGLE, TARGET_P99_MS, TARGET_BATCH = 4000, 30.0, 30000
# One tenant drives the whole server here: its walls are raised so the figures are the server's, not the wall's
# (`python bench/limits.py` measures what the wall itself costs per request).
UNWALLED = {"LEADFLOW_TENANT_INGEST_REQUESTS_PER_MINUTE": "1000000000", "LEADFLOW_TENANT_EVENTS_PER_DAY": "1000000000"}

# ---------------------------------------------------------------- load generator (its own process)


def _event(message_id: str) -> dict[str, Any]:
    return {
        "type": "track",
        "messageId": message_id,
        "anonymousId": "trk_01HZX5R8Q2W9K3M7N4P6T1V0Y2",
        "event": "Viewed Property",
        "properties": {"imovel": "AP-1024", "preco": 85000000},
        "context": {
            "campaign": {"source": "facebook", "medium": "paid", "name": "aurora-lancamento"},
            "page": {"url": "https://aurora.exemplo.com.br/residencial-aurora", "referrer": "https://l.facebook.com/"},
            "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)",
            "library": {"name": "analytics.js", "version": "5.2.0"},
        },
        "timestamp": "2026-05-04T13:21:07.412Z",
    }


class Requests:
    """Ready-to-send request bytes, each with fresh message ids."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.path, self.batch, self.prefix = spec["path"], spec.get("batch", 0), spec["prefix"]
        auth = base64.b64encode(f"{spec.get('key', '')}:".encode()).decode()
        self.head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {spec['host_header']}\r\nAuthorization: Basic {auth}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()
        self.sequence = 0

    def next(self) -> tuple[bytes, int]:
        """The request bytes and the number of events they carry."""
        count = self.batch or 1
        ids = [f"{self.prefix}-{self.sequence + i}" for i in range(count)]
        self.sequence += count
        events = [_event(i) for i in ids]
        body = {"batch": events, "sentAt": "2026-05-04T13:21:08Z"} if self.batch else events[0]
        raw = json.dumps(body, separators=(",", ":")).encode()
        return self.head + str(len(raw)).encode() + b"\r\n\r\n" + raw, count


LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes) -> int:
    writer.write(data)
    head = await reader.readuntil(b"\r\n\r\n")
    found = LENGTH.search(head)
    if found is None:
        raise RuntimeError(f"response without Content-Length: {head[:200]!r}")
    await reader.readexactly(int(found.group(1)))
    return int(head[9:12])


async def _closed_loop(spec: dict[str, Any]) -> dict[str, Any]:
    """Each connection sends its next request as soon as the previous one is answered."""
    requests, warmup = Requests(spec), spec["warmup"]
    started = time.perf_counter()
    measure_from, deadline = started + warmup, started + warmup + spec["seconds"]
    counted = {"events": 0, "requests": 0, "errors": 0}
    latencies: list[float] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(spec["host"], spec["port"])
        try:
            while (now := time.perf_counter()) < deadline:
                data, events = requests.next()
                status = await _exchange(reader, writer, data)
                done = time.perf_counter()
                if now >= measure_from and done <= deadline:
                    if status == 200:
                        counted["events"] += events
                        counted["requests"] += 1
                        latencies.append(done - now)
                    else:
                        counted["errors"] += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(spec["connections"])))
    return {**counted, "seconds": spec["seconds"], "latencies": latencies, "sent": requests.sequence}


async def _open_loop(spec: dict[str, Any]) -> dict[str, Any]:
    """Requests scheduled at a fixed rate; latency runs from the scheduled time, whatever delayed the send."""
    requests, rate = Requests(spec), spec["rate"]
    total = int(rate * spec["seconds"])
    slots = iter(range(total))
    latencies: list[float] = []
    errors = 0
    begin = time.perf_counter() + 0.2

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(spec["host"], spec["port"])
        try:
            for slot in slots:
                due = begin + slot / rate
                if (wait := due - time.perf_counter()) > 0:
                    await asyncio.sleep(wait)
                data, _ = requests.next()
                status = await _exchange(reader, writer, data)
                latencies.append(time.perf_counter() - due)
                errors += status != 200
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(spec["connections"])))
    elapsed = time.perf_counter() - begin
    return {"requests": total, "errors": errors, "seconds": elapsed, "latencies": latencies, "sent": total}


def load_main(spec: dict[str, Any]) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    runner = _open_loop if spec["mode"] == "open" else _closed_loop
    print(json.dumps(asyncio.run(runner(spec))))


# ---------------------------------------------------------------- the servers under test


async def hello_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A bare ASGI app: reads the body, answers a small JSON (what the collect endpoint answers)."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    body = b'{"success":true,"accepted":1,"duplicates":0,"rejected":[]}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def hello_main(port: int) -> None:
    import uvicorn

    # The flags of `leadflow serve` (leadflow.cli._serve); loop and parser "auto" pick uvloop and httptools.
    uvicorn.run(hello_app, host="127.0.0.1", port=port, access_log=False, proxy_headers=True, log_level="warning")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _leadflow(*args: str, env: dict[str, str]) -> str:
    command = [str(Path(sys.executable).with_name("leadflow")), *args]
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout.strip()


# ---------------------------------------------------------------- databases


def _plain(url: str) -> str:
    return re.sub(r"^postgresql\+asyncpg://", "postgresql://", url)


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def _pg(url: str, statement: str) -> Any:
    import asyncpg

    conn = await asyncpg.connect(_plain(url))
    try:
        return await conn.fetchval(statement)
    finally:
        await conn.close()


@contextmanager
def _database(backend: str, data_dir: str, postgres_url: str | None) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{data_dir}/bench.db"
        return
    assert postgres_url
    name = f"leadflow_bench_{uuid.uuid4().hex[:10]}"
    admin = _with_database(postgres_url, "postgres")
    asyncio.run(_pg(admin, f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(postgres_url, name)
    finally:
        asyncio.run(_pg(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _stored_events(url: str) -> int:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("///", 1)[1]) as conn:
            return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    return int(asyncio.run(_pg(url, "SELECT count(*) FROM events")))


def _metric(port: int, name: str) -> float:
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    found = re.search(rf"^{name} ([0-9.e+]+)$", b"".join(chunks).decode(), re.MULTILINE)
    return float(found.group(1)) if found else 0.0


# ---------------------------------------------------------------- running and printing


def _load(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the load in CLIENTS separate processes and merge what they measured."""
    share = {"connections": max(1, spec["connections"] // CLIENTS)}
    if spec["mode"] == "open":
        share["rate"] = spec["rate"] / CLIENTS
    specs = [{**spec, **share, "prefix": f"{spec['prefix']}-{n}"} for n in range(CLIENTS)]
    command = [sys.executable, str(Path(__file__).resolve()), "--load"]
    running = [subprocess.Popen([*command, json.dumps(s)], stdout=subprocess.PIPE) for s in specs]
    results = [json.loads(p.communicate()[0]) for p in running]
    merged: dict[str, Any] = {"latencies": [], "events": 0, "requests": 0, "errors": 0, "sent": 0}
    for result in results:
        for field in ("events", "requests", "errors", "sent"):
            merged[field] += result.get(field, 0)
        merged["latencies"] += result["latencies"]
    merged["seconds"] = max(r["seconds"] for r in results)
    return merged


def _spec(port: int, path: str, prefix: str, key: str = "", **extra: Any) -> dict[str, Any]:
    spec = {"host": "127.0.0.1", "port": port, "path": path, "host_header": HOST_HEADER, "key": key}
    return {"mode": "closed", "connections": CONNECTIONS, "seconds": SECONDS, "warmup": 1.0, "prefix": prefix} | {
        **spec,
        **extra,
    }


def _ms(latencies: list[float], cut: int) -> float:
    return statistics.quantiles(latencies, n=100)[cut - 1] * 1000 if len(latencies) > 1 else float("nan")


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def measure_hello() -> float:
    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "--hello", str(port)]
    with serving(command, port, dict(os.environ)):
        result = _load(_spec(port, "/v1/track", "hello"))
    rate = result["requests"] / result["seconds"]
    print(f"(d) bare ASGI hello-world, uvicorn with the flags of `leadflow serve`, {CONNECTIONS} connections")
    lat = result["latencies"]
    print(f"      {rate:>9,.0f} req/s   p50 {_ms(lat, 50):.2f} ms  p99 {_ms(lat, 99):.2f} ms")
    return rate


def measure_backend(backend: str, postgres_url: str | None, hello: float) -> None:
    with tempfile.TemporaryDirectory() as data_dir, _database(backend, data_dir, postgres_url) as url:
        env = {
            **os.environ,
            "LEADFLOW_DATA_DIR": data_dir,
            "LEADFLOW_DATABASE_URL": url,
            "LEADFLOW_LOG_LEVEL": "WARNING",
            "LEADFLOW_BASE_DOMAIN": "localhost",
            **UNWALLED,
        }
        env.pop("LEADFLOW_DEFAULT_TENANT", None)
        _leadflow("migrate", env=env)
        _leadflow("tenants", "create", TENANT, "Bench Imóveis", env=env)
        key = _leadflow("keys", "create", "--tenant", TENANT, "--name", "bench", "--kind", "write", env=env)
        port = free_port()
        command = [str(Path(sys.executable).with_name("leadflow")), "serve", "--port", str(port)]
        with serving(command, port, env) as pid:
            _report_backend(backend, url, port, pid, key, hello)


def _report_backend(backend: str, url: str, port: int, pid: int, key: str, hello: float) -> None:
    label = "SQLite file (embedded default)" if backend == "sqlite" else "PostgreSQL"
    print(f"\n{label}")
    before = _stored_events(url), _metric(port, "leadflow_ingest_transactions_total"), _cpu_seconds(pid)
    single = _load(_spec(port, "/v1/track", "single", key))
    after = _stored_events(url), _metric(port, "leadflow_ingest_transactions_total"), _cpu_seconds(pid)
    rate = single["events"] / single["seconds"]
    lat = single["latencies"]
    print(f"(a) POST /v1/track, 1 event per request, {CONNECTIONS} connections")
    print(
        f"      {rate:>9,.0f} ev/s    target >= {TARGET_SINGLE:,} ({_verdict(rate >= TARGET_SINGLE)})"
        f"   p50 {_ms(lat, 50):.2f} ms  p99 {_ms(lat, 99):.2f} ms   errors {single['errors']}"
        f"   {rate / hello:.0%} of hello-world"
    )
    groups = after[1] - before[1]
    print(
        f"      stored {after[0] - before[0]:,} rows for {single['sent']:,} sent "
        f"({single['events']:,} acknowledged in the window); {single['sent'] / max(groups, 1):.1f} requests "
        f"per transaction; server CPU {(after[2] - before[2]) / single['sent'] * 1e6:,.0f} us per event"
    )
    start = _metric(port, "leadflow_ingest_transactions_total"), _cpu_seconds(pid)
    steady = _load(_spec(port, "/v1/track", "steady", key, mode="open", rate=RATE))
    end = _metric(port, "leadflow_ingest_transactions_total"), _cpu_seconds(pid)
    p50, p99 = _ms(steady["latencies"], 50), _ms(steady["latencies"], 99)
    print(f"(b) POST /v1/track at {RATE:,.0f} events/s open loop for {SECONDS:.0f} s")
    print(
        f"      p50 {p50:.2f} ms  p99 {p99:.2f} ms  max {max(steady['latencies']) * 1000:.1f} ms"
        f"   target p99 <= {TARGET_P99_MS:.0f} ms ({_verdict(p99 <= TARGET_P99_MS)})   errors {steady['errors']}"
    )
    print(
        f"      {steady['sent'] / max(end[0] - start[0], 1):.1f} requests per transaction;"
        f" server CPU {(end[1] - start[1]) / steady['sent'] * 1e6:,.0f} us per event"
    )
    before_batch, cpu_before = _stored_events(url), _cpu_seconds(pid)
    batch = _load(_spec(port, "/v1/batch", "batch", key, batch=BATCH_SIZE, connections=BATCH_CONNECTIONS))
    cpu = (_cpu_seconds(pid) - cpu_before) / batch["sent"] * 1e6
    batch_rate = batch["events"] / batch["seconds"]
    print(f"(c) POST /v1/batch, {BATCH_SIZE} events per request, {BATCH_CONNECTIONS} connections")
    print(
        f"      {batch_rate:>9,.0f} ev/s    target >= {TARGET_BATCH:,} ({_verdict(batch_rate >= TARGET_BATCH)})"
        f"   p50 {_ms(batch['latencies'], 50):.2f} ms  p99 {_ms(batch['latencies'], 99):.2f} ms"
        f"   errors {batch['errors']}"
    )
    print(
        f"      stored {_stored_events(url) - before_batch:,} rows for {batch['sent']:,} sent;"
        f" server CPU {cpu:,.0f} us per event"
    )


def measure_sealing(events: int = 20_000, visitors: int = 200) -> None:
    """(e) The sealing step of the event-log writer alone, in process: what it adds per event to (a) and (c)."""
    from datetime import UTC, datetime

    from leadflow.capture import sealing
    from leadflow.capture.service import Arrival, Batch, prepare
    from leadflow.kit.scope import Scope
    from leadflow.kit.sealing import new_data_key
    from leadflow.models import Event
    from leadflow.privacy.sealing import SealingKeys

    items = [{**_event(f"seal-{n}"), "anonymousId": f"trk-{n % visitors}"} for n in range(events)]
    arrival = Arrival(datetime.now(UTC), uuid.uuid4(), "1.2.3.4", None)
    start = time.perf_counter()
    rows = prepare(Batch(items=items, context={}, sent_at=None), arrival).rows
    validating = time.perf_counter() - start
    scope = Scope.for_tenant(uuid.uuid4())
    start = time.perf_counter()
    pending = sealing.split_rows(rows)
    keys = SealingKeys(scope, {subject: new_data_key() for subject in sealing.subjects_to_seal(pending)})
    sealing.seal_split(keys, pending)
    sealed = time.perf_counter() - start
    stored = [Event(**{**row, "tenant_id": scope.tenant_id}) for row in rows]
    start = time.perf_counter()
    opened = [sealing._opened(keys, event) for event in stored]
    reading = time.perf_counter() - start
    assert all(o.payload["properties"] == items[0]["properties"] for o in opened)
    print(
        f"(e) sealing the personal part of {events:,} events of {visitors} visitors (split, JSON, AES-GCM), in process"
    )
    print(
        f"      seal {sealed / events * 1e6:.1f} us per event   open {reading / events * 1e6:.1f} us per event"
        f"   (validating and projecting the same events: {validating / events * 1e6:.1f} us per event)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", nargs="?", const=DEFAULT_POSTGRES, default=None, help="also on PostgreSQL")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--hello", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sealing", action="store_true", help="only (e), the in-process cost of sealing")
    args = parser.parse_args()
    if args.sealing:
        measure_sealing()
        return
    if args.load:
        load_main(json.loads(args.load))
        return
    if args.hello:
        hello_main(args.hello)
        return
    postgres_url = args.postgres or os.environ.get("LEADFLOW_BENCH_POSTGRES_URL")
    print(
        f"bench/ingest.py: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {SECONDS:.0f} s per measurement,"
        f" {CLIENTS} load-generator process(es), server and load generator on loopback;"
        f" load average before: {_load_average()}"
    )
    measure_sealing()
    hello = measure_hello()
    measure_backend("sqlite", None, hello)
    if postgres_url:
        measure_backend("postgresql", postgres_url, hello)
    else:
        print("\nPostgreSQL: skipped (pass --postgres [URL] or set LEADFLOW_BENCH_POSTGRES_URL)")
    print(f"\nload average after: {_load_average()} (other work on this machine lowers every figure above)")


if __name__ == "__main__":
    main()
