"""Checking a tenant's audit hash chain: the rules ``leadflow audit verify`` applies, entry by entry.

A chain holds when its entries are numbered 1, 2, 3, … without a gap, each entry's ``prev_hash`` is the hash of
the entry before it, each entry's ``hash`` is the hash of its own fields (:func:`leadflow.kit.audit.entry_hash`),
and the last entry is the one the tenant's chain head names. A retention purge deletes the oldest entries; its
``audit.purged`` entry (itself chained) names the last purged sequence and that entry's hash, the anchor, so the
chain may start after a purged range when the first remaining entry links to that anchor.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leadflow.kit.audit import changes_digest, entry_hash

PURGE_ACTION = "audit.purged"


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first entry where the chain does not hold, and what is wrong there."""

    seq: int | None
    entry_id: uuid.UUID | None
    problem: str


@dataclass(frozen=True, slots=True)
class Anchor:
    """What a purge left behind: entries up to ``to_seq`` may be gone; entry ``to_seq`` hashed to ``hash``."""

    to_seq: int
    hash: str | None


class ChainChecker:
    """Fed a tenant's entries in sequence order, one at a time; keeps only the previous link in memory."""

    def __init__(self, anchors: Mapping[int, Anchor]) -> None:
        self.anchors = anchors
        self.purged_up_to = max(anchors, default=0)
        self.entries = 0
        self.redacted = 0
        self.first_seq: int | None = None
        self.last_seq: int | None = None
        self.last_hash: str | None = None
        self.broken: ChainBreak | None = None

    def feed(self, entry: Mapping[str, Any]) -> bool:
        """Check one entry; False (and ``broken`` set) at the first one that breaks the chain."""
        problem = self._problem(entry)
        if problem is not None:
            self.broken = ChainBreak(entry["seq"], entry["id"], problem)
            return False
        self.entries += 1
        self.redacted += entry["redacted_at"] is not None
        self.first_seq = self.first_seq or entry["seq"]
        self.last_seq, self.last_hash = entry["seq"], entry["hash"]
        return True

    def _problem(self, entry: Mapping[str, Any]) -> str | None:
        seq = entry["seq"]
        if entry["hash"] != entry_hash(entry):
            return "its hash does not match its contents: the entry was changed after it was written"
        if entry["redacted_at"] is None and changes_digest(entry["changes"] or {}) != entry["changes_hash"]:
            return "its recorded changes do not match their hash: they were changed after they were written"
        link = self._first_link(entry) if self.last_seq is None else self._next_link(entry)
        if link is not None:
            return link
        anchor = self.anchors.get(seq)
        if anchor is not None and anchor.hash != entry["hash"]:
            return f"its hash differs from the anchor the purge of entries up to {seq} recorded"
        return None

    def _first_link(self, entry: Mapping[str, Any]) -> str | None:
        seq = entry["seq"]
        if seq == 1:
            return None if entry["prev_hash"] is None else "the first entry links to a predecessor"
        if seq - 1 > self.purged_up_to:
            covered = f"purges cover entries up to {self.purged_up_to}" if self.purged_up_to else "no purge covers them"
            return f"entries {self.purged_up_to + 1} to {seq - 1} are missing and {covered}"
        anchor = self.anchors.get(seq - 1)
        if anchor is not None and entry["prev_hash"] != anchor.hash:
            return f"it does not link to the anchor of the purge of entries up to {seq - 1}"
        return None  # inside a purged range whose deletion was interrupted: the rest is checked link by link

    def _next_link(self, entry: Mapping[str, Any]) -> str | None:
        assert self.last_seq is not None
        expected = self.last_seq + 1
        if entry["seq"] != expected:
            return f"entry {expected} is missing (the chain jumps from {self.last_seq} to {entry['seq']})"
        if entry["prev_hash"] != self.last_hash:
            return f"its prev_hash is not the hash of entry {self.last_seq}"
        return None

    def finish(self, head_seq: int | None, head_hash: str | None) -> ChainBreak | None:
        """After the last entry: the chain must end where the tenant's head says."""
        if self.broken is not None:
            return self.broken
        if head_seq is None:
            if self.entries:
                self.broken = ChainBreak(self.last_seq, None, "the tenant's chain head is missing")
            return self.broken
        if self.last_seq == head_seq and self.last_hash == head_hash:
            return None
        if head_seq == 0 and self.last_seq is None:
            return None
        last = self.last_seq or 0
        if last == head_seq:
            self.broken = ChainBreak(last, None, "the last entry's hash is not the one the chain head recorded")
        elif last < head_seq:
            problem = f"entries {last + 1} to {head_seq} are missing: the chain head says it ends at {head_seq}"
            self.broken = ChainBreak(last + 1, None, problem)
        else:
            self.broken = ChainBreak(last, None, f"the chain ends at {last} but its head names entry {head_seq}")
        return self.broken
