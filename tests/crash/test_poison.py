"""Poison messages end dead-lettered after the attempt limit, and the rest of the queue keeps flowing (plan §2,
test 34): one message whose handler always raises, one whose handler kills the worker process every time.

A worker killed by a message cannot record a failure: the attempt is counted when the next worker takes the
stalled message over (see ``leadflow.bus.dispatcher``), so after ``MAX_ATTEMPTS`` more crashes the message is
dead-lettered instead of killing workers forever (bee-queue #106). The test restarts the worker whenever it dies,
as a process supervisor would.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from leadflow.bus.dispatcher import STALLED_ERROR
from leadflow.bus.events import DomainEvent
from leadflow.bus.outbox import publish
from leadflow.kit.scope import Scope
from leadflow.models import HandlerRun, OutboxMessage, OutboxStatus
from tests.bus.probe_handlers import PingSent, PoisonSent
from tests.crash.conftest import Account
from tests.crash.harness import Deployment, Process, deployment
from tests.crash.killer_handlers import KillerSent

pytestmark = pytest.mark.slow

MAX_ATTEMPTS = 3
PINGS = 4
MAX_RESTARTS = 10
DEADLINE = 90.0


@pytest.fixture(scope="module")
def site(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    modules = ("tests.bus.probe_handlers", "tests.crash.killer_handlers")
    with deployment(backend, tmp_path_factory.mktemp("poison"), extra_handler_modules=modules) as made:
        yield made


async def publish_all(site: Deployment, events: list[DomainEvent]) -> None:
    db = site.database()
    try:
        for event in events:  # one transaction each: they queue in this order
            async with db.session(Scope.for_tenant(event.tenant_id)) as session:
                await publish(session, event)
    finally:
        await db.dispose()


async def outcome(site: Deployment, account: Account) -> tuple[dict[str, OutboxMessage], dict[str, datetime]]:
    db = site.database()
    try:
        async with db.session(Scope.for_tenant(account.tenant.id)) as session:
            messages = {str(m.id): m for m in (await session.scalars(select(OutboxMessage))).all()}
            runs = (await session.execute(select(HandlerRun.message_id, HandlerRun.finished_at))).all()
        return messages, {str(message_id): finished for message_id, finished in runs if finished is not None}
    finally:
        await db.dispose()


class TestPoisonMessages:
    def test_both_are_dead_lettered_while_the_others_are_delivered(
        self, site: Deployment, account: Account, logs: Path
    ) -> None:
        tenant_id = account.tenant.id
        killer, raiser = KillerSent(tenant_id=tenant_id), PoisonSent(tenant_id=tenant_id)
        before = [PingSent(tenant_id=tenant_id) for _ in range(PINGS)]
        after = [PingSent(tenant_id=tenant_id) for _ in range(PINGS)]
        asyncio.run(publish_all(site, [*before, killer, raiser, *after]))

        log = logs / "worker.log"
        options = ("--lease", "1", "--max-attempts", str(MAX_ATTEMPTS), "--retry-base", "0.05")
        kills = 0
        while (code := run_until_settled_or_dead(site, account, site.worker(log, *options))) is not None:
            assert code == -signal.SIGKILL
            kills += 1
            assert kills <= MAX_RESTARTS, "the killer keeps killing workers"

        messages, finished = asyncio.run(outcome(site, account))
        dead_killer, dead_raiser = messages.pop(str(killer.id)), messages.pop(str(raiser.id))
        assert (dead_killer.status, dead_killer.attempts, dead_killer.last_error) == (
            OutboxStatus.DEAD,
            MAX_ATTEMPTS,
            STALLED_ERROR,
        )
        assert (dead_raiser.status, dead_raiser.attempts) == (OutboxStatus.DEAD, MAX_ATTEMPTS)
        assert "this message can never be handled" in (dead_raiser.last_error or "")
        assert kills == MAX_ATTEMPTS + 1  # the first crash in a batch, then one per attempt charged to it
        assert {m.status for m in messages.values()} == {OutboxStatus.DONE}
        assert {m.attempts for m in messages.values()} == {0}  # the pings are not charged for the crashes
        assert dead_killer.dead_at is not None
        queued_behind = [finished[str(ping.id)] for ping in after]
        assert max(queued_behind) < dead_killer.dead_at, "the pings behind the killer waited for it to die"


def run_until_settled_or_dead(site: Deployment, account: Account, worker: Process) -> int | None:
    """The worker's exit code if it died, or None once every message of the account is settled (it is then
    stopped cleanly)."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if not worker.alive():
            return worker.wait()
        messages, _ = asyncio.run(outcome(site, account))
        if all(m.status != OutboxStatus.PENDING for m in messages.values()):
            assert worker.stop() == 0, worker.output()
            return None
        time.sleep(0.2)
    worker.popen.kill()
    pytest.fail(f"neither settled nor dead in time:\n{worker.output()}")
