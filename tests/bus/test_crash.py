"""Real worker processes killed (SIGKILL) at the worst moments lose nothing and apply no database effect twice.

Each scenario publishes probes, starts ``python -m leadflow worker`` with ``LEADFLOW_CRASH_AT=<point>`` until it
kills itself there, checks the database shows the crash where it was meant to be, then restarts the worker
without the crash point and checks the outcome. Semantics under test (docs/capture/bus.md):

- every message ends ``done``: delivery is at least once;
- every (message, handler) database effect exists exactly once: it commits with its ``handler_runs`` row;
- an outside effect (the partner log) may repeat when the crash falls between it and the commit; keyed by the
  message id, the partner sees each message once after deduplication.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, text

from leadflow.bus.outbox import publish
from leadflow.kit.db import Database, create_engine
from leadflow.kit.migrate import ROOT, upgrade
from leadflow.kit.scope import Scope
from leadflow.models import HandlerRun, OutboxMessage, OutboxStatus, Tenant
from tests import factories
from tests.bus.probe_handlers import CREATE_EFFECTS_TABLE, EFFECTS_TABLE, PROBE_HANDLERS, PoisonSent, ProbeSent
from tests.conftest import IN_CI, REDIS_URL, drop_postgres_database, new_postgres_database

pytestmark = pytest.mark.slow

PROBES = 5
LEASE = "1"  # seconds: the restarted worker takes over the dead one's claims this soon
PROCESS_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database of this module's own: its workers deliver every pending message they find."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('crash') / 'leadflow.db'}"
    else:
        url = new_postgres_database()
    upgrade(url)
    asyncio.run(_create_effects_table(url))
    yield url
    if backend == "postgresql":
        drop_postgres_database(url)


async def _create_effects_table(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(CREATE_EFFECTS_TABLE))
    finally:
        await engine.dispose()


@dataclass
class Probes:
    """Probes published for one tenant, and what the database and the partner show of them."""

    db: Database
    tenant: Tenant
    partner_log: Path
    ids: set[uuid.UUID]

    async def publish(self, count: int) -> None:
        for _ in range(count):  # one transaction each, so they queue in publishing order
            event = ProbeSent(tenant_id=self.tenant.id, payload={"partner_log": str(self.partner_log)})
            async with self.db.session(Scope.for_tenant(self.tenant.id)) as session:
                await publish(session, event)
            self.ids.add(event.id)

    async def messages(self) -> list[OutboxMessage]:
        async with self.db.session(Scope.for_tenant(self.tenant.id)) as session:
            return list((await session.scalars(select(OutboxMessage))).all())

    async def snapshot(self) -> Snapshot:
        async with self.db.session(Scope.for_tenant(self.tenant.id)) as session:
            runs = (await session.execute(select(HandlerRun.message_id, HandlerRun.handler))).all()
            effects = (await session.execute(text(f"SELECT message_id, handler FROM {EFFECTS_TABLE}"))).all()
        lines = self.partner_log.read_text().split() if self.partner_log.exists() else []
        return Snapshot(
            messages=await self.messages(),
            runs=Counter((message_id, handler) for message_id, handler in runs),
            effects=Counter(
                (uuid.UUID(message_id), handler)
                for message_id, handler in effects
                if uuid.UUID(message_id) in self.ids  # the table is shared by the module's tests
            ),
            partner_calls=Counter(uuid.UUID(line) for line in lines),
        )

    def handled_once(self, *message_ids: uuid.UUID) -> Counter[tuple[uuid.UUID, str]]:
        return Counter({(message_id, handler): 1 for message_id in message_ids for handler in PROBE_HANDLERS})


@dataclass(frozen=True)
class Snapshot:
    messages: list[OutboxMessage]
    runs: Counter[tuple[uuid.UUID, str]]  # (message, handler) -> handler_runs rows
    effects: Counter[tuple[uuid.UUID, str]]  # (message, handler) -> database effects
    partner_calls: Counter[uuid.UUID]  # idempotency key (message id) -> calls the partner received


@dataclass(frozen=True)
class Recovery:
    crash_at: str
    probes: Probes
    at_crash: Snapshot
    after: Snapshot


async def make_probes(database_url: str, partner_log: Path) -> Probes:
    db = Database(create_engine(database_url))
    tenant = await factories.make_tenant(db, f"crash-{uuid.uuid4().hex[:8]}")
    return Probes(db, tenant, partner_log, set())


@pytest.fixture
async def probes(database_url: str, tmp_path: Path) -> AsyncIterator[Probes]:
    made = await make_probes(database_url, tmp_path / "partner.log")
    yield made
    await made.db.dispose()


def start_worker(
    database_url: str, log: Path, *args: str, crash_at: str | None = None, **settings: str
) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LEADFLOW_")}
    env |= {
        "LEADFLOW_ENV": "test",
        "LEADFLOW_DATABASE_URL": database_url,
        "LEADFLOW_DATA_DIR": str(log.parent),
        "LEADFLOW_EXTRA_HANDLER_MODULES": "tests.bus.probe_handlers",
        "LEADFLOW_LOG_FORMAT": "json",
        "PYTHONPATH": str(ROOT),
    }
    if crash_at:
        env["LEADFLOW_CRASH_AT"] = crash_at
    env |= {f"LEADFLOW_{name.upper()}": value for name, value in settings.items()}
    command = [sys.executable, "-m", "leadflow", "worker", "--poll-interval", "0.2", "--lease", LEASE, *args]
    with log.open("ab") as output:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)


def output(log: Path) -> str:
    """The worker's log, for a failure message (small; read only when a test fails)."""
    return log.read_text()


async def exit_code(process: subprocess.Popen[bytes], log: Path) -> int:
    try:
        return await asyncio.to_thread(process.wait, PROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"the worker did not exit; its output:\n{output(log)}")


async def stop(process: subprocess.Popen[bytes], log: Path) -> None:
    process.send_signal(signal.SIGTERM)
    assert await exit_code(process, log) == 0, output(log)


async def eventually(condition: Callable[[], Awaitable[bool]], log: Path) -> None:
    deadline = asyncio.get_running_loop().time() + PROCESS_TIMEOUT
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out; the worker's output:\n{output(log)}")
        await asyncio.sleep(0.1)


@pytest.fixture(scope="module", params=["after_claim", "after_handler_before_commit", "after_commit_before_settle"])
async def recovery(
    request: pytest.FixtureRequest, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Recovery]:
    """One scenario per crash point, shared by the tests that read it: publish, crash there, restart, drain."""
    crash_at: str = request.param
    folder = tmp_path_factory.mktemp(crash_at)
    probes, log = await make_probes(database_url, folder / "partner.log"), folder / "worker.log"
    await probes.publish(PROBES)

    crashing = start_worker(database_url, log, crash_at=crash_at)
    assert await exit_code(crashing, log) == -signal.SIGKILL, output(log)
    at_crash = await probes.snapshot()

    async def all_settled() -> bool:
        return all(message.status != OutboxStatus.PENDING for message in await probes.messages())

    recovering = start_worker(database_url, log)
    try:
        await eventually(all_settled, log)
    finally:
        await stop(recovering, log)
    yield Recovery(crash_at, probes, at_crash, await probes.snapshot())
    await probes.db.dispose()


class TestAWorkerKilledMidDelivery:
    def test_it_died_where_it_was_told_to(self, recovery: Recovery) -> None:
        state, probes = recovery.at_crash, recovery.probes
        assert {m.id for m in state.messages} == probes.ids
        assert all(m.status == OutboxStatus.PENDING and m.claimed_until is not None for m in state.messages)
        if recovery.crash_at == "after_claim":
            assert (state.runs, state.effects, state.partner_calls) == (Counter(), Counter(), Counter())
        elif recovery.crash_at == "after_handler_before_commit":  # the partner was called, the database kept nothing
            assert (state.runs, state.effects, state.partner_calls.total()) == (Counter(), Counter(), 1)
        else:  # after_commit_before_settle: the first message fully handled and committed, nothing settled
            [first] = state.partner_calls
            assert (state.runs, state.effects) == (probes.handled_once(first), probes.handled_once(first))

    def test_the_restarted_worker_delivers_every_message(self, recovery: Recovery) -> None:
        assert {(m.id, m.status, m.attempts) for m in recovery.after.messages} == {
            (message_id, OutboxStatus.DONE, 0) for message_id in recovery.probes.ids
        }

    def test_each_handler_ran_once_per_message(self, recovery: Recovery) -> None:
        assert recovery.after.runs == recovery.probes.handled_once(*recovery.probes.ids)

    def test_each_database_effect_was_applied_once(self, recovery: Recovery) -> None:
        assert recovery.after.effects == recovery.probes.handled_once(*recovery.probes.ids)

    def test_the_partner_deduplicating_by_message_id_saw_each_message(self, recovery: Recovery) -> None:
        assert set(recovery.after.partner_calls) == recovery.probes.ids

    def test_only_a_partner_call_cut_off_before_its_commit_was_repeated(self, recovery: Recovery) -> None:
        repeated = 1 if recovery.crash_at == "after_handler_before_commit" else 0
        calls = sorted(recovery.after.partner_calls.values())
        assert calls == [1] * (PROBES - repeated) + [2] * repeated  # at least once, never lost


class TestAPoisonMessage:
    async def test_it_is_dead_lettered_after_its_attempts_while_the_others_are_delivered(
        self, probes: Probes, database_url: str, tmp_path: Path
    ) -> None:
        poison = PoisonSent(tenant_id=probes.tenant.id)
        async with probes.db.session(Scope.for_tenant(probes.tenant.id)) as session:
            await publish(session, poison)
        await probes.publish(3)
        log = tmp_path / "worker.log"
        worker = start_worker(database_url, log, "--max-attempts", "3", "--retry-base", "0.05")

        async def settled() -> bool:
            return all(m.status != OutboxStatus.PENDING for m in await probes.messages())

        try:
            await eventually(settled, log)
        finally:
            await stop(worker, log)
        after = await probes.snapshot()
        outcome = {m.id: (m.status, m.attempts) for m in after.messages}
        assert outcome.pop(poison.id) == (OutboxStatus.DEAD, 3)
        assert outcome == dict.fromkeys(probes.ids, (OutboxStatus.DONE, 0))
        assert after.effects == probes.handled_once(*probes.ids)


class TestAWorkerOnTheRedisTransportKilledMidDelivery:
    """The same promise with Redis Streams carrying the messages: the entry the dead worker held is dropped, the
    outbox hands the message out again, and each effect still happens once."""

    async def test_the_restarted_worker_delivers_each_message_once(
        self, probes: Probes, database_url: str, tmp_path: Path
    ) -> None:
        if not REDIS_URL:
            if IN_CI:
                pytest.fail("CI=true requires LEADFLOW_TEST_REDIS_URL")
            pytest.skip("set LEADFLOW_TEST_REDIS_URL to run workers on the redis transport")
        redis = {"bus_transport": "redis", "redis_url": REDIS_URL, "bus_stream": f"leadflow:test:{uuid.uuid4().hex}"}
        await probes.publish(PROBES)
        log = tmp_path / "worker.log"
        crashing = start_worker(database_url, log, crash_at="after_handler_before_commit", **redis)
        assert await exit_code(crashing, log) == -signal.SIGKILL, output(log)
        assert (await probes.snapshot()).runs == Counter()  # the handler's transaction never committed

        async def all_settled() -> bool:
            return all(message.status != OutboxStatus.PENDING for message in await probes.messages())

        recovering = start_worker(database_url, log, **redis)
        try:
            await eventually(all_settled, log)
        finally:
            await stop(recovering, log)
        after = await probes.snapshot()
        assert {(m.id, m.status, m.attempts) for m in after.messages} == {
            (message_id, OutboxStatus.DONE, 0) for message_id in probes.ids
        }
        assert after.runs == after.effects == probes.handled_once(*probes.ids)
        assert "redis transport" in output(log)
