"""A TCP fault proxy on loopback, in the spirit of Toxiproxy (which cannot be installed here): the app connects to
it instead of its dependency (PostgreSQL, Redis, a vendor fake), and the test switches the link's behaviour.

Modes:
- ``pass``: bytes flow both ways untouched;
- ``latency``: every chunk, in either direction, waits ``latency`` seconds first;
- ``reset``: every open connection is reset (TCP RST) and every new one is reset as soon as it is accepted;
- ``blackhole``: connections stay open but nothing flows (new ones are accepted and never answered) — a network
  partition, the case that hangs clients without timeouts. Leaving it resets the connections it held: their
  streams lost bytes and cannot be trusted, as after a real partition.

The proxy runs its own event loop in a thread, so a synchronous test and the subprocesses it drives can both use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["pass", "latency", "reset", "blackhole"]
CHUNK = 65536


@dataclass(eq=False)
class _Link:
    """One client connection and, once opened, its upstream connection."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    blackholed: bool = False

    def reset(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                _reset(writer)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), not FIN: the peer sees "connection reset by peer"."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass
class FaultProxy:
    upstream_host: str
    upstream_port: int
    mode: Mode = "pass"
    latency: float = 0.0
    accepted: int = 0  # connections accepted so far (tests read it)
    _links: set[_Link] = field(default_factory=set)
    _loop: asyncio.AbstractEventLoop | None = None
    _server: asyncio.Server | None = None
    _thread: threading.Thread | None = None
    _mode_changed: asyncio.Event | None = None
    port: int = 0

    def start(self) -> FaultProxy:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="fault-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def set(self, mode: Mode, *, latency: float = 0.0) -> None:
        """Switch the link's behaviour; returns once open connections have been dealt with."""
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._switch(mode, latency), self._loop).result(10)

    def stop(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._mode_changed = asyncio.Event()
        self._server = self._loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _switch(self, mode: Mode, latency: float) -> None:
        leaving_blackhole = self.mode == "blackhole" and mode != "blackhole"
        self.mode, self.latency = mode, latency
        for link in list(self._links):
            if mode == "reset" or (leaving_blackhole and link.blackholed):
                link.reset()
                self._links.discard(link)
            elif mode == "blackhole":
                link.blackholed = True
        assert self._mode_changed is not None
        self._mode_changed.set()
        self._mode_changed = asyncio.Event()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for link in list(self._links):
            link.reset()
        self._links.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        link = _Link(writer)
        if self.mode == "reset":
            link.reset()
            return
        self._links.add(link)
        try:
            if self.mode == "blackhole":
                link.blackholed = True
                await self._swallow(reader, link)
                return
            up_reader, link.upstream = await asyncio.open_connection(self.upstream_host, self.upstream_port)
            await asyncio.gather(self._pump(reader, link.upstream, link), self._pump(up_reader, writer, link))
        except OSError:
            link.reset()
        finally:
            self._links.discard(link)
            for end in (writer, link.upstream):
                if end is not None and not end.is_closing():
                    end.close()

    async def _swallow(self, reader: asyncio.StreamReader, link: _Link) -> None:
        """A connection made during a blackhole: read and drop until the link is reset."""
        while link in self._links and await reader.read(CHUNK):
            pass

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: _Link) -> None:
        while data := await reader.read(CHUNK):
            if link.blackholed:
                continue  # swallowed
            if self.mode == "latency" and self.latency:
                await asyncio.sleep(self.latency)
            writer.write(data)
            await writer.drain()
        if not writer.is_closing():
            writer.close()


@contextmanager
def fault_proxy(host: str, port: int) -> Iterator[FaultProxy]:
    proxy = FaultProxy(host, port).start()
    try:
        yield proxy
    finally:
        proxy.stop()
