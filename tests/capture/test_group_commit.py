"""Concurrent collect requests share transactions: each is answered only after the commit holding its events, with
its own counts, and a commit that fails answers every one of them with an error while storing nothing.

Each test first posts one event: it warms the host and write-key caches, so the concurrent requests that follow
touch the database only through the shared writer (in these tests every session shares one connection).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from leadflow.capture.auth import WriteKey, WriteKeyCache
from leadflow.capture.service import event_log
from leadflow.kit.db import Database
from leadflow.kit.metrics import REGISTRY
from leadflow.models import ApiKey, ApiKeyKind, Tenant
from tests.capture.factories import counts, events_of, rejected_of, revoke, track

N = 20


async def post_together(segment: httpx.AsyncClient, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    return await asyncio.gather(*(segment.post("/v1/track", json=body) for body in bodies))


@contextmanager
def commits_failing() -> Iterator[None]:
    """Inside the block every commit fails, as a full disk would make it fail."""

    def refuse(session: Session) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    event.listen(Session, "before_commit", refuse)
    try:
        yield
    finally:
        event.remove(Session, "before_commit", refuse)


class TestConcurrentRequestsShareTransactions:
    async def test_every_request_is_acknowledged_and_stored_once_in_fewer_transactions(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        first = track()
        assert (await segment.post("/v1/track", json=first)).status_code == 200
        before = event_log(db).stats.transactions
        bodies = [track() for _ in range(N)]
        responses = await post_together(segment, bodies)
        assert [r.status_code for r in responses] == [200] * N
        assert all(r.json() == {"success": True, "accepted": 1, "duplicates": 0, "rejected": []} for r in responses)
        stored = [e.message_id for e in await events_of(db, tenant)]
        assert stored == sorted([first["messageId"], *(b["messageId"] for b in bodies)])
        assert 1 <= event_log(db).stats.transactions - before < N

    async def test_the_same_message_sent_concurrently_is_accepted_once_and_stored_once(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        assert (await segment.post("/v1/track", json=track())).status_code == 200
        same = track()
        responses = await post_together(segment, [same] * 8)
        answers = sorted((r.json()["accepted"], r.json()["duplicates"]) for r in responses)
        assert answers == [(0, 1)] * 7 + [(1, 0)]
        assert [e.message_id for e in await events_of(db, tenant)].count(same["messageId"]) == 1

    async def test_each_request_gets_its_own_rejections_while_sharing_the_transaction(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        assert (await segment.post("/v1/track", json=track())).status_code == 200
        valid, invalid = track(), track(event=None, messageId="sem-nome")
        batches = [{"batch": [valid]}, {"batch": [invalid]}]
        ok, refused = await asyncio.gather(*(segment.post("/v1/batch", json=b) for b in batches))
        assert ok.json() == {"success": True, "accepted": 1, "duplicates": 0, "rejected": []}
        assert (refused.json()["accepted"], refused.json()["rejected"][0]["messageId"]) == (0, "sem-nome")
        assert await counts(db, tenant) == (2, 1)
        assert [r.message_id for r in await rejected_of(db, tenant)] == ["sem-nome"]

    async def test_the_metrics_count_transactions_and_events(self, segment: httpx.AsyncClient) -> None:
        assert (await segment.post("/v1/track", json=track())).status_code == 200
        before = _samples()
        await post_together(segment, [track() for _ in range(N)])
        await segment.post("/v1/batch", json={"batch": [track(), {"type": "track"}]})
        after = _samples()
        assert after["leadflow_events_accepted_total"] - before["leadflow_events_accepted_total"] == N + 1
        assert after["leadflow_events_rejected_total"] - before["leadflow_events_rejected_total"] == 1
        transactions = after["leadflow_ingest_transactions_total"] - before["leadflow_ingest_transactions_total"]
        assert 2 <= transactions <= N


class TestAFailedCommitAcknowledgesNothing:
    async def test_every_waiting_request_gets_a_503_and_nothing_is_stored(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        assert (await segment.post("/v1/track", json=track())).status_code == 200
        failures = event_log(db).stats.failures
        with commits_failing():
            responses = await post_together(segment, [track() for _ in range(N)])
        assert [r.status_code for r in responses] == [503] * N
        problem, retry_after = responses[0].json(), responses[0].headers["retry-after"]
        assert (problem["type"], retry_after) == ("https://leadflow.dev/problems/write-failed", "1")
        assert await counts(db, tenant) == (1, 0)
        assert 1 <= event_log(db).stats.failures - failures < N

    async def test_the_re_send_after_a_failure_lands_once(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        assert (await segment.post("/v1/track", json=track())).status_code == 200
        bodies = [track() for _ in range(5)]
        with commits_failing():
            failed = await post_together(segment, bodies)
        assert {r.status_code for r in failed} == {503}
        again = await post_together(segment, bodies)
        assert [r.json()["accepted"] for r in again] == [1] * 5
        assert await counts(db, tenant) == (6, 0)

    async def test_a_body_that_would_be_kept_as_rejected_is_answered_503_too(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        assert (await segment.post("/v1/track", json=track())).status_code == 200
        with commits_failing():
            response = await segment.post("/v1/batch", content=b"{nope", headers={"content-type": "application/json"})
        assert response.status_code == 503
        assert await counts(db, tenant) == (1, 0)


class TestTheWriteKeyCache:
    async def test_a_known_key_is_not_read_again_while_cached(self, segment: httpx.AsyncClient, db: Database) -> None:
        assert (await segment.post("/v1/track", json=track())).status_code == 200
        with Statements(db) as seen:
            assert (await segment.post("/v1/track", json=track())).status_code == 200
        assert not [s for s in seen if "api_keys" in s]

    async def test_a_key_revoked_in_this_process_is_refused_at_once(
        self, segment: httpx.AsyncClient, db: Database, tenant: Tenant, write_key: tuple[ApiKey, str]
    ) -> None:
        assert (await segment.post("/v1/track", json=track())).status_code == 200
        await revoke(db, tenant, write_key[0])
        assert (await segment.post("/v1/track", json=track())).status_code == 401
        assert await counts(db, tenant) == (1, 0)

    def test_an_entry_is_forgotten_after_its_ttl(self) -> None:
        now = [100.0]
        cache = WriteKeyCache(ttl=10, clock=lambda: now[0])
        cache.put("hash", KEY)
        now[0] = 109.9
        assert cache.get("hash") == KEY
        now[0] = 110.0
        assert cache.get("hash") is None

    def test_the_oldest_entry_makes_room_when_full(self) -> None:
        cache = WriteKeyCache(max_entries=2)
        for name in ("a", "b", "c"):
            cache.put(name, KEY)
        assert [cache.get(name) is not None for name in ("a", "b", "c")] == [False, True, True]


KEY = WriteKey(uuid.uuid4(), uuid.uuid4(), ApiKeyKind.WRITE, (), None, None)


def _samples() -> dict[str, float]:
    names = ("leadflow_events_accepted_total", "leadflow_events_rejected_total", "leadflow_ingest_transactions_total")
    return {name: REGISTRY.get_sample_value(name) or 0.0 for name in names}


class Statements:
    """The SQL statements the engine runs inside the block."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine.sync_engine
        self.seen: list[str] = []

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.seen.append(statement)

    def __enter__(self) -> list[str]:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self.seen

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)
