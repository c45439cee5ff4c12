"""Group commit: concurrent callers share transactions, each learns its own outcome, and a failure acknowledges none.

The mechanism is generic over its unit of work; here the unit is a small ledger whose writes become visible only
when the unit's block ends normally, which is all GroupCommit relies on. Its use with the real databases is
specified in tests/capture/test_group_commit.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy.exc import OperationalError
from structlog.testing import CapturingLogger

from leadflow.kit import groupcommit
from leadflow.kit.groupcommit import GroupCommit, GroupCommitFailed, GroupCommitOverloaded

POISON = "poison"


class Ledger:
    """Writes are staged in a unit and kept only when the unit commits; each commit is one recorded group."""

    def __init__(self) -> None:
        self.kept: list[tuple[str, str]] = []
        self.groups: list[tuple[str, list[str]]] = []
        self.fail_commits_with: Exception | None = None
        self.open = asyncio.Event()
        self.open.set()

    @asynccontextmanager
    async def begin(self, key: str) -> AsyncIterator[tuple[str, list[str]]]:
        await self.open.wait()
        staged: list[str] = []
        yield key, staged
        if self.fail_commits_with is not None:
            raise self.fail_commits_with
        self.kept.extend((key, item) for item in staged)
        self.groups.append((key, staged))

    @staticmethod
    async def write(unit: tuple[str, list[str]], items: list[str]) -> list[str]:
        if POISON in items:
            raise ValueError("a value the store refuses")
        unit[1].extend(items)
        return [f"stored {item}" for item in items]


def group_commit(
    ledger: Ledger, *, max_weight: int = 5000, max_waiting: int = 200_000
) -> GroupCommit[str, tuple[str, list[str]], str, str]:
    return GroupCommit(begin=ledger.begin, write=ledger.write, max_weight=max_weight, max_waiting=max_waiting)


async def submit_all(
    committer: GroupCommit[str, tuple[str, list[str]], str, str], items: list[str], key: str = "acme"
) -> list[str | BaseException]:
    return await asyncio.gather(*(committer.submit(key, item) for item in items), return_exceptions=True)


class TestSharedTransactions:
    async def test_callers_arriving_together_share_one_transaction_and_each_gets_its_own_result(self) -> None:
        ledger = Ledger()
        committer = group_commit(ledger)
        results = await submit_all(committer, [f"e{n}" for n in range(10)])
        assert results == [f"stored e{n}" for n in range(10)]
        assert [len(items) for _, items in ledger.groups] == [10]
        assert (committer.stats.transactions, committer.stats.items) == (1, 10)

    async def test_a_lone_caller_is_written_at_once_without_waiting_for_company(self) -> None:
        ledger = Ledger()
        committer = group_commit(ledger)
        assert await asyncio.wait_for(committer.submit("acme", "e1"), timeout=1) == "stored e1"
        assert ledger.groups == [("acme", ["e1"])]

    async def test_callers_arriving_during_a_commit_form_the_next_group(self) -> None:
        ledger = Ledger()
        committer = group_commit(ledger)
        ledger.open.clear()  # the first transaction is slow to start
        first = asyncio.create_task(committer.submit("acme", "e1"))
        await asyncio.sleep(0)
        later = [asyncio.create_task(committer.submit("acme", f"e{n}")) for n in range(2, 6)]
        await asyncio.sleep(0)
        ledger.open.set()
        await asyncio.gather(first, *later)
        assert [items for _, items in ledger.groups] == [["e1"], ["e2", "e3", "e4", "e5"]]

    async def test_a_group_holds_at_most_max_weight(self) -> None:
        ledger = Ledger()
        await submit_all(group_commit(ledger, max_weight=4), [f"e{n}" for n in range(10)])
        assert [len(items) for _, items in ledger.groups] == [4, 4, 2]

    async def test_an_item_heavier_than_the_bound_is_written_alone(self) -> None:
        ledger = Ledger()
        committer = group_commit(ledger, max_weight=4)
        await asyncio.gather(committer.submit("acme", "light"), committer.submit("acme", "heavy", weight=9))
        assert [items for _, items in ledger.groups] == [["light"], ["heavy"]]

    async def test_keys_never_share_a_transaction(self) -> None:
        ledger = Ledger()
        committer = group_commit(ledger)
        await asyncio.gather(*(committer.submit(key, f"{key}-{n}") for n in range(3) for key in ("acme", "rival")))
        assert sorted(ledger.groups) == [
            ("acme", ["acme-0", "acme-1", "acme-2"]),
            ("rival", ["rival-0", "rival-1", "rival-2"]),
        ]


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> CapturingLogger:
    """What the group commit logs, as called (the app's logging configuration caches its loggers)."""
    capturing = CapturingLogger()
    monkeypatch.setattr(groupcommit, "log", capturing)
    return capturing


class TestFailures:
    async def test_a_commit_that_fails_answers_every_caller_with_an_error_and_keeps_nothing(self) -> None:
        ledger = Ledger()
        ledger.fail_commits_with = OperationalError("COMMIT", {}, Exception("disk I/O error"))
        committer = group_commit(ledger)
        results = await submit_all(committer, [f"e{n}" for n in range(5)])
        assert all(isinstance(result, GroupCommitFailed) for result in results)
        assert ledger.kept == []
        assert (committer.stats.transactions, committer.stats.failures) == (0, 1)  # a database failure is not retried

    async def test_an_outage_is_logged_as_one_line_without_a_traceback_or_the_drivers_text(
        self, logged: CapturingLogger
    ) -> None:
        ledger = Ledger()
        ledger.fail_commits_with = OperationalError("INSERT", {"email": "maria@example.com"}, Exception("gone"))
        await submit_all(group_commit(ledger), ["e1", "e2"])
        assert [(call.method_name, call.args, call.kwargs) for call in logged.calls] == [
            ("warning", ("group write failed: database unavailable",), {"items": 2, "error": "OperationalError"})
        ]

    async def test_an_unexpected_failure_keeps_its_traceback(self, logged: CapturingLogger) -> None:
        ledger = Ledger()
        ledger.fail_commits_with = RuntimeError("a bug")
        await submit_all(group_commit(ledger), ["e1"])
        assert [(call.method_name, call.args, "exc_info" in call.kwargs) for call in logged.calls] == [
            ("error", ("group write failed",), True)
        ]

    async def test_the_error_is_a_503_with_retry_after(self) -> None:
        ledger = Ledger()
        ledger.fail_commits_with = OperationalError("COMMIT", {}, Exception("disk I/O error"))
        [error] = await submit_all(group_commit(ledger), ["e1"])
        assert isinstance(error, GroupCommitFailed)
        assert (error.status, error.headers) == (503, {"Retry-After": "1"})

    async def test_one_bad_item_is_retried_alone_so_its_neighbours_still_commit(self) -> None:
        ledger = Ledger()
        results = await submit_all(group_commit(ledger), ["e1", POISON, "e3"])
        assert (results[0], results[2]) == ("stored e1", "stored e3")
        assert isinstance(results[1], GroupCommitFailed)
        assert ledger.kept == [("acme", "e1"), ("acme", "e3")]

    async def test_a_full_queue_refuses_before_queueing(self) -> None:
        ledger = Ledger()
        committer = group_commit(ledger, max_waiting=3)
        ledger.open.clear()
        waiting = [asyncio.create_task(committer.submit("acme", f"e{n}")) for n in range(3)]
        await asyncio.sleep(0)
        with pytest.raises(GroupCommitOverloaded):
            await committer.submit("acme", "one too many")
        ledger.open.set()
        assert await asyncio.gather(*waiting) == ["stored e0", "stored e1", "stored e2"]

    async def test_a_caller_that_gives_up_does_not_cancel_its_group(self) -> None:
        ledger = Ledger()
        committer = group_commit(ledger)
        ledger.open.clear()
        impatient = asyncio.create_task(committer.submit("acme", "e1"))
        patient = asyncio.create_task(committer.submit("acme", "e2"))
        await asyncio.sleep(0)
        impatient.cancel()
        ledger.open.set()
        assert await patient == "stored e2"
        assert ledger.kept == [("acme", "e1"), ("acme", "e2")]  # written anyway: a re-send would be a duplicate
