"""Crash points: where the crash tests kill a worker (SIGKILL, no clean-up) to prove delivery survives it.

A worker arms at most one point at start (``LEADFLOW_CRASH_AT``, read once by ``leadflow.config``); every other
call is a string comparison. Unarmed, :func:`crash_point` does nothing.
"""

from __future__ import annotations

import os
import signal
from typing import Literal

CrashPoint = Literal[
    "after_claim",
    "after_handler_before_commit",
    "after_commit_before_settle",
    "after_side_effect",  # a handler's call to a partner or CRM returned; its outcome is not committed yet
]

_armed: str | None = None


def arm(point: str | None) -> None:
    """Make this process kill itself at ``point`` (``None`` disarms)."""
    global _armed
    _armed = point


def crash_point(name: CrashPoint) -> None:
    if name == _armed:
        os.kill(os.getpid(), signal.SIGKILL)
