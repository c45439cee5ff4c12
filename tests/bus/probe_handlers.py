"""Handlers for the bus tests that run a real worker (a subprocess, or the server's in-process worker).

The worker imports this module at start through ``LEADFLOW_EXTRA_HANDLER_MODULES=tests.bus.probe_handlers``.

A probe goes to two handlers, in this order:
- ``probe.call_partner`` makes an outside effect first (a call to a partner's API, here a line appended to the
  file named in the payload, carrying the message id as its idempotency key), then records a database effect;
- ``probe.record`` records a database effect only.
Database effects are rows of ``bus_probe_effects``, a table only the crash tests create, without a unique key:
a handler that ran twice shows up as two rows.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.events import DomainEvent
from leadflow.bus.registry import subscribe
from leadflow.kit.scope import Scope

EFFECTS_TABLE = "bus_probe_effects"
CREATE_EFFECTS_TABLE = f"CREATE TABLE {EFFECTS_TABLE} (message_id VARCHAR(36) NOT NULL, handler VARCHAR(64) NOT NULL)"
PROBE_HANDLERS = ("probe.call_partner", "probe.record")


class ProbeSent(DomainEvent):
    name = "test.probe_sent"


class PoisonSent(DomainEvent):
    name = "test.poison_sent"


class PingSent(DomainEvent):
    name = "test.ping_sent"


@subscribe(ProbeSent.name, name="probe.call_partner")
async def call_partner(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    # Leaves the process at once, keyed by the message id: no rollback can take it back.
    await asyncio.to_thread(_append_line, Path(event.payload["partner_log"]), str(event.id))
    await _record_effect(session, event, "probe.call_partner")


@subscribe(ProbeSent.name, name="probe.record")
async def record(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    await _record_effect(session, event, "probe.record")


@subscribe(PoisonSent.name, name="probe.poison")
async def always_fails(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    raise RuntimeError("this message can never be handled")


@subscribe(PingSent.name, name="probe.ping")
async def ping(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    return None  # its handler_runs row is the proof it ran


async def _record_effect(session: AsyncSession, event: DomainEvent, handler: str) -> None:
    await session.execute(
        text(f"INSERT INTO {EFFECTS_TABLE} (message_id, handler) VALUES (:message_id, :handler)"),
        {"message_id": str(event.id), "handler": handler},
    )


def _append_line(path: Path, line: str) -> None:
    with path.open("a") as file:
        file.write(f"{line}\n")
