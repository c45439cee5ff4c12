"""Local file storage: atomic writes, streamed reads, and keys that cannot leave the root."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from leadflow.kit.storage import InvalidKey, LocalStorage, ObjectMissing, storage_from_settings, tenant_key


async def _read(storage: LocalStorage, key: str) -> bytes:
    return b"".join([chunk async for chunk in storage.open(key)])


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def _files(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file())


class TestLocalStorage:
    async def test_bytes_and_streams_are_stored_and_read_back(self, tmp_path: Path) -> None:
        storage = LocalStorage(tmp_path)
        key = tenant_key(uuid.uuid4(), "attachments", "a1")
        await storage.put(key, b"primeira versao")
        await storage.put(key, _chunks(b"segunda ", b"versao"))
        assert await _read(storage, key) == b"segunda versao"
        assert _files(tmp_path) == ["a1"]  # no partial file left behind

    async def test_delete_and_exists(self, tmp_path: Path) -> None:
        storage = LocalStorage(tmp_path)
        await storage.put("t/a", b"x")
        assert await storage.exists("t/a")
        await storage.delete("t/a")
        await storage.delete("t/a")
        assert not await storage.exists("t/a")
        with pytest.raises(ObjectMissing):
            await _read(storage, "t/a")

    @pytest.mark.parametrize(
        "key", ["../escape", "a/../../escape", "/etc/passwd", "a//b", "a\\b", "", ".hidden", "a/./b", "a/"]
    )
    async def test_a_key_that_could_leave_the_root_is_refused(self, tmp_path: Path, key: str) -> None:
        storage = LocalStorage(tmp_path / "files")
        with pytest.raises(InvalidKey):
            await storage.put(key, b"x")
        assert _files(tmp_path) == []

    def test_tenant_keys_refuse_path_parts(self) -> None:
        with pytest.raises(InvalidKey):
            tenant_key(uuid.uuid4(), "..", "x")

    def test_the_default_storage_lives_under_the_data_dir(self, tmp_path: Path) -> None:
        class Config:
            data_dir = tmp_path

        storage = storage_from_settings(Config())
        assert isinstance(storage, LocalStorage)
        assert storage.root == (tmp_path / "files").resolve()
