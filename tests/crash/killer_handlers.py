"""A handler that kills its own worker (SIGKILL, like a segfault or the OOM killer) on every delivery.

Loaded by the crash tests' workers through ``LEADFLOW_EXTRA_HANDLER_MODULES=tests.crash.killer_handlers``, next
to ``tests.bus.probe_handlers`` (whose ``PoisonSent`` always raises and whose ``PingSent`` always succeeds).
"""

from __future__ import annotations

import os
import signal

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.events import DomainEvent
from leadflow.bus.registry import subscribe
from leadflow.kit.scope import Scope


class KillerSent(DomainEvent):
    name = "test.killer_sent"


@subscribe(KillerSent.name, name="probe.killer")
async def kills_the_worker(session: AsyncSession, scope: Scope, event: DomainEvent) -> None:
    os.kill(os.getpid(), signal.SIGKILL)
