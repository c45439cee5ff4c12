"""What every bench shares: a free loopback port and a real `leadflow serve` run for the length of a block.

Not a bench itself (`make bench` skips files starting with an underscore).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

LEADFLOW = str(Path(sys.executable).with_name("leadflow"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, server: subprocess.Popen[bytes]) -> None:
    for _ in range(400):
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit("the server did not start listening")


@contextmanager
def serving(command: list[str], port: int, env: dict[str, str]) -> Iterator[int]:
    """Run a server until the block ends; yields its pid. Its output goes to a file, shown if it fails."""
    with tempfile.TemporaryFile() as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            _wait_listening(port, server)
            yield server.pid
        except BaseException:
            output.seek(0)
            sys.stderr.write(output.read().decode(errors="replace")[-4000:])
            raise
        finally:
            server.terminate()
            server.wait(timeout=20)


@contextmanager
def leadflow_served(env: dict[str, str]) -> Iterator[str]:
    """`leadflow serve` on a free port with ``env``, ready (``/readyz`` answers 200); yields its base URL."""
    port = free_port()
    with serving([LEADFLOW, "serve", "--port", str(port)], port, env):
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        else:
            raise SystemExit("the server did not become ready")
        yield base
