"""File storage behind one small interface: local files by default, S3-compatible later.

Keys are relative, slash-separated names such as ``<tenant id>/attachments/<attachment id>`` (build them with
:func:`tenant_key`); a key never comes from user input, and :class:`LocalStorage` refuses any key that could
leave its root (``..``, absolute paths, backslashes, empty segments), so no path traversal is possible.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Protocol

import anyio

CHUNK_BYTES = 64 * 1024
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class InvalidKey(ValueError):
    """A key that is not a plain relative name (it could escape the storage root)."""


class ObjectMissing(LookupError):
    """No object is stored under the key."""


class Storage(Protocol):
    """Where files live. Implementations must be safe to share between concurrent requests."""

    async def put(self, key: str, data: bytes | AsyncIterable[bytes]) -> None:
        """Store ``data`` under ``key`` atomically: readers see the old object or the whole new one."""
        ...

    def open(self, key: str) -> AsyncIterator[bytes]:
        """The object's bytes in chunks; raises :class:`ObjectMissing` when iterated if there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""
        ...

    async def exists(self, key: str) -> bool: ...


class StorageSettings(Protocol):
    """The settings a storage is built from (``leadflow.config.Settings`` satisfies it)."""

    @property
    def data_dir(self) -> Path: ...


def tenant_key(tenant_id: uuid.UUID, *parts: str) -> str:
    """A key namespaced by tenant: ``<tenant id>/<part>/…``; every part must be a plain name."""
    key = "/".join((str(tenant_id), *parts))
    check_key(key)
    return key


def check_key(key: str) -> None:
    segments = key.split("/")
    if not key or len(key) > 512 or not all(_SEGMENT.match(s) for s in segments):
        raise InvalidKey(f"invalid storage key {key!r}")


class LocalStorage:
    """Files under ``root``, one file per key; writes go to a temporary file that is then renamed."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path_of(self, key: str) -> Path:
        check_key(key)
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):  # belt and braces: check_key already refuses ".."
            raise InvalidKey(f"invalid storage key {key!r}")
        return path

    async def put(self, key: str, data: bytes | AsyncIterable[bytes]) -> None:
        path = self.path_of(key)
        await anyio.Path(path.parent).mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        try:
            async with await anyio.open_file(partial, "wb") as out:
                if isinstance(data, bytes):
                    await out.write(data)
                else:
                    async for chunk in data:
                        await out.write(chunk)
            await anyio.to_thread.run_sync(os.replace, partial, path)
        finally:
            await anyio.Path(partial).unlink(missing_ok=True)

    async def open(self, key: str) -> AsyncIterator[bytes]:
        path = self.path_of(key)
        try:
            source = await anyio.open_file(path, "rb")
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc
        async with source:
            while chunk := await source.read(CHUNK_BYTES):
                yield chunk

    async def delete(self, key: str) -> None:
        await anyio.Path(self.path_of(key)).unlink(missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await anyio.Path(self.path_of(key)).is_file()


def storage_from_settings(settings: StorageSettings) -> Storage:
    """The configured storage: files under ``<data_dir>/files`` (an S3-compatible backend comes later)."""
    return LocalStorage(settings.data_dir / "files")
