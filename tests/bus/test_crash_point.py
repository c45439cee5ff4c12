"""Crash points are inert unless the one setting arms one, and then they kill the process outright."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from pydantic import ValidationError

from leadflow.bus import crash
from leadflow.config import Settings


class TestCrashPoint:
    def test_the_armed_point_kills_the_process_on_the_spot(self) -> None:
        script = (
            "from leadflow.bus import crash; crash.arm('after_claim'); crash.crash_point('after_claim'); print('alive')"
        )
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
        assert (result.returncode, result.stdout) == (-signal.SIGKILL, "")

    def test_every_other_point_does_nothing(self) -> None:
        crash.arm("after_claim")
        try:
            crash.crash_point("after_commit_before_settle")
        finally:
            crash.arm(None)
        crash.crash_point("after_claim")  # disarmed

    def test_the_setting_names_a_known_point_and_is_refused_in_production(self) -> None:
        assert Settings(_env_file=None, crash_at="after_claim").crash_at == "after_claim"
        with pytest.raises(ValidationError):
            Settings(_env_file=None, crash_at="before_lunch")
        with pytest.raises(ValidationError, match="production"):
            Settings(_env_file=None, env="prod", crash_at="after_claim")
