"""Real `leadflow serve` and `leadflow worker` processes on a database of their own, for the crash tests.

A :class:`Deployment` is a migrated database (a SQLite file, or a fresh PostgreSQL database reached as the
non-owner app login) and a data directory. It starts the server and workers as subprocesses with the environment
a deployment would give them, and hands the test a :class:`Database` on the same data (as the owner) to look at
what they stored. A process is killed with SIGKILL: no clean-up, no flush, exactly like a power cut.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from leadflow.kit.db import Database, create_engine
from leadflow.kit.migrate import ROOT, upgrade
from tests.conftest import as_app_login, drop_postgres_database, new_postgres_database

START_TIMEOUT = 180.0  # seconds for a process to come up: imports alone take 40 s on a loaded 2-core machine
EXIT_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Process:
    """A leadflow subprocess and the file its output goes to."""

    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-20_000:]

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL, then wait so the port and the file locks are free when this returns."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(EXIT_TIMEOUT)

    def stop(self) -> int:
        """SIGTERM and the exit code (the process finishes its batch or its requests first)."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
        return self.wait()

    def wait(self, timeout: float = EXIT_TIMEOUT) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            pytest.fail(f"the process did not exit; its output:\n{self.output()}")


@dataclass
class Server(Process):
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not self.alive():
                pytest.fail(f"the server exited ({self.popen.returncode}); its output:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.popen.kill()
        pytest.fail(f"the server did not come up; its output:\n{self.output()}")


@dataclass
class Deployment:
    """A migrated database and a data directory that processes share; ``url`` is what the app logs in with."""

    backend: str
    url: str
    owner_url: str
    data_dir: Path
    extra_handler_modules: tuple[str, ...] = ()

    def environment(self, *, database_url: str | None = None, **settings: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("LEADFLOW_")}
        env |= {
            "LEADFLOW_ENV": "test",
            "LEADFLOW_DATABASE_URL": database_url or self.url,
            "LEADFLOW_DATA_DIR": str(self.data_dir),
            "LEADFLOW_BASE_DOMAIN": "localhost",
            "LEADFLOW_LOG_FORMAT": "json",
            "LEADFLOW_EXTRA_HANDLER_MODULES": ",".join(self.extra_handler_modules),
            "PYTHONPATH": str(ROOT),
        }
        return env | {f"LEADFLOW_{name.upper()}": value for name, value in settings.items()}

    def serve(self, log: Path, *, port: int | None = None, database_url: str | None = None, **settings: str) -> Server:
        """Start `leadflow serve` and return once it answers /healthz."""
        port = port or free_port()
        command = [sys.executable, "-m", "leadflow", "serve", "--host", "127.0.0.1", "--port", str(port)]
        server = Server(self._spawn(command, log, self.environment(database_url=database_url, **settings)), log, port)
        server.wait_until_up()
        return server

    def worker(self, log: Path, *args: str, crash_at: str | None = None, **settings: str) -> Process:
        """Start `leadflow worker` (polling fast, so a test does not wait on the poll interval)."""
        if crash_at is not None:
            settings["crash_at"] = crash_at
        command = [sys.executable, "-m", "leadflow", "worker", "--poll-interval", "0.2", *args]
        return Process(self._spawn(command, log, self.environment(**settings)), log)

    def database(self) -> Database:
        """The test's own view of the data, as the owner (row-level security does not hide what a test checks)."""
        return Database(create_engine(self.owner_url))

    @staticmethod
    def _spawn(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
        with log.open("ab") as output:
            return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)


@contextmanager
def deployment(backend: str, folder: Path, *, extra_handler_modules: tuple[str, ...] = ()) -> Iterator[Deployment]:
    """A fresh, migrated database for one backend, dropped afterwards (PostgreSQL)."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{folder / 'leadflow.db'}"
        upgrade(url)
        yield Deployment(backend, url, url, folder, extra_handler_modules)
        return
    owner_url = new_postgres_database()
    app_url = as_app_login(owner_url)
    upgrade(owner_url, app_url=app_url)
    try:
        yield Deployment(backend, app_url, owner_url, folder, extra_handler_modules)
    finally:
        drop_postgres_database(owner_url)


def eventually(condition: Callable[[], bool], *, timeout: float, message: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s: {message()}")
        time.sleep(0.1)
