"""`leadflow serve` killed (SIGKILL) in the middle of ingestion loses no acknowledged event and stores none twice.

Client threads post Segment batches and single tracks, each event with its own ``messageId``, and retry a request
that got no answer or a 5xx with the very same body, as Segment's SDKs do. The server is killed while they
post and started again on the same port. Promises checked (reliability plan §2, test 31):

- at each kill, every event acknowledged (2xx) so far is already in the database: nothing is acknowledged before
  its commit;
- at the end every request was acknowledged, and each of its events is stored exactly once: a retry of a request
  whose commit landed just before the kill is answered as duplicates, not stored again.
"""

from __future__ import annotations

import asyncio
import base64
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from leadflow.kit.scope import Scope
from leadflow.models import Event
from tests.crash.conftest import Account
from tests.crash.harness import Deployment, Server

pytestmark = pytest.mark.slow

CLIENTS = 4
REQUESTS_PER_CLIENT = 60  # every other one a batch of 5, the others single tracks: 720 events in all
KILLS_AFTER = (0.4,)  # fractions of the requests acknowledged when the server is killed
CLIENT_DEADLINE = 90.0


def event(message_id: str) -> dict[str, Any]:
    return {
        "type": "track",
        "messageId": message_id,
        "anonymousId": f"anon-{message_id}",
        "event": "Formulário enviado",
        "properties": {"imovel": "AP-1024"},
        "timestamp": "2026-05-04T13:21:07.412Z",
    }


@dataclass
class Ledger:
    """What the clients were told: the message ids of every acknowledged request."""

    acknowledged: set[str] = field(default_factory=set)
    requests_acknowledged: int = 0
    retries: int = 0
    refusals: list[str] = field(default_factory=list)  # 4xx answers: a test failure, kept for the message
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acknowledge(self, ids: list[str]) -> None:
        with self.lock:
            self.acknowledged.update(ids)
            self.requests_acknowledged += 1

    def snapshot(self) -> set[str]:
        with self.lock:
            return set(self.acknowledged)


class Client(threading.Thread):
    """A site's SDK: posts its requests in order and retries each until it is acknowledged."""

    def __init__(self, number: int, server_url: str, account: Account, ledger: Ledger) -> None:
        super().__init__(name=f"client-{number}", daemon=True)
        self.number = number
        self.url = server_url
        self.account = account
        self.ledger = ledger
        self.rng = random.Random(number)
        self.sent: set[str] = set()

    def requests(self) -> list[tuple[str, dict[str, Any], list[str]]]:
        made = []
        for n in range(REQUESTS_PER_CLIENT):
            ids = [f"c{self.number}-r{n}-e{i}" for i in range(5 if n % 2 == 0 else 1)]
            if len(ids) == 1:
                made.append(("/v1/track", event(ids[0]), ids))
            else:
                made.append(("/v1/batch", {"batch": [event(i) for i in ids]}, ids))
        return made

    def run(self) -> None:
        key = base64.b64encode(f"{self.account.write_key}:".encode()).decode()
        headers = {"Authorization": f"Basic {key}", "Host": self.account.host}
        deadline = time.monotonic() + CLIENT_DEADLINE
        with httpx.Client(base_url=self.url, headers=headers, timeout=5.0) as http:
            for path, body, ids in self.requests():
                self.sent.update(ids)
                while time.monotonic() < deadline:
                    try:
                        response = http.post(path, json=body)
                    except httpx.TransportError:
                        response = None
                    if response is not None and response.status_code < 300:
                        self.ledger.acknowledge(ids)
                        break
                    if response is not None and response.status_code < 500:
                        self.ledger.refusals.append(f"{path} {response.status_code} {response.text}")
                        return
                    with self.ledger.lock:
                        self.ledger.retries += 1
                    time.sleep(self.rng.uniform(0.05, 0.2))  # jittered, as SDKs back off
                else:
                    return


def stored_ids(site: Deployment, account: Account) -> Counter[str]:
    async def read() -> Counter[str]:
        db = site.database()
        try:
            async with db.session(Scope.for_tenant(account.tenant.id)) as session:
                return Counter((await session.scalars(select(Event.message_id))).all())
        finally:
            await db.dispose()

    return asyncio.run(read())


def wait_for_acknowledgements(ledger: Ledger, count: int, server: Server) -> None:
    deadline = time.monotonic() + CLIENT_DEADLINE
    while ledger.requests_acknowledged < count:
        if time.monotonic() > deadline or ledger.refusals:
            pytest.fail(
                f"only {ledger.requests_acknowledged} requests acknowledged: {ledger.refusals}\n{server.output()}"
            )
        time.sleep(0.02)


class TestTheServerKilledDuringIngestion:
    def test_every_acknowledged_event_is_stored_once(self, site: Deployment, account: Account, logs: Path) -> None:
        ledger = Ledger()
        server = site.serve(logs / "serve.log")
        clients = [Client(n, server.url, account, ledger) for n in range(CLIENTS)]
        for client in clients:
            client.start()
        total = CLIENTS * REQUESTS_PER_CLIENT
        for fraction in KILLS_AFTER:
            wait_for_acknowledgements(ledger, int(total * fraction), server)
            server.kill()
            acknowledged = ledger.snapshot()
            missing = acknowledged - set(stored_ids(site, account))
            assert not missing, f"acknowledged but not committed when the server died: {sorted(missing)[:10]}"
            server = site.serve(logs / "serve.log", port=server.port)
        for client in clients:
            client.join(CLIENT_DEADLINE)
        server.stop()

        assert not ledger.refusals
        sent = set().union(*(client.sent for client in clients))
        assert len(sent) == CLIENTS * REQUESTS_PER_CLIENT * 3
        assert ledger.acknowledged == sent, "some requests were never acknowledged"
        stored = stored_ids(site, account)
        assert set(stored) == sent
        assert [message_id for message_id, count in stored.items() if count > 1] == []
        assert ledger.retries > 0, "the kills should have cut off some requests"
