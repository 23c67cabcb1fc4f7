"""LocalPhotoStorage tests (no database)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from api import storage as storage_module
from api.storage import (
    InvalidPhotoKey,
    LocalPhotoStorage,
    PhotoNotFound,
    PhotoStorage,
    is_valid_key,
    photo_key,
)

DATA = b"\xff\xd8\xff\xe0 pretend this is a jpeg \xff\xd9"


def all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


async def test_put_get_roundtrip(tmp_path: Path) -> None:
    store = LocalPhotoStorage(tmp_path)
    assert isinstance(store, PhotoStorage)
    key = await store.put(DATA)
    assert key == hashlib.sha256(DATA).hexdigest() == photo_key(DATA)
    assert await store.get(key) == DATA
    assert await store.exists(key)
    path = store.local_path(key)
    assert path == tmp_path / key[:2] / key[2:4] / f"{key}.jpg"
    assert path is not None and path.read_bytes() == DATA


async def test_put_is_idempotent(tmp_path: Path) -> None:
    store = LocalPhotoStorage(tmp_path)
    first = await store.put(DATA)
    path = store.local_path(first)
    assert path is not None
    before = path.stat()
    second = await store.put(bytearray(DATA))  # type: ignore[arg-type]
    assert first == second
    assert all_files(tmp_path) == [path]
    assert path.stat().st_ino == before.st_ino  # not rewritten
    other = await store.put(DATA + b"x")
    assert other != first
    assert len(all_files(tmp_path)) == 2


async def test_put_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = LocalPhotoStorage(tmp_path)
    keys = [await store.put(DATA + bytes([i])) for i in range(5)]
    assert [p.name for p in all_files(tmp_path)] == sorted(f"{k}.jpg" for k in keys)
    path = store.local_path(keys[0])
    assert path is not None and path.stat().st_mode & 0o777 == 0o644


async def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_replace(src: str, dst: str) -> None:
        assert Path(src).exists()  # the temporary file was written next to the target
        assert Path(src).parent == Path(dst).parent
        raise OSError("disk full")

    monkeypatch.setattr(storage_module.os, "replace", broken_replace)
    store = LocalPhotoStorage(tmp_path)
    with pytest.raises(OSError, match="disk full"):
        await store.put(DATA)
    assert all_files(tmp_path) == []
    assert not await store.exists(photo_key(DATA))


async def test_blocking_io_runs_in_worker_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[threading.Thread] = []
    real_replace, real_fsync = os.replace, os.fsync

    def spy_replace(src: str, dst: str) -> None:
        threads.append(threading.current_thread())
        real_replace(src, dst)

    def spy_fsync(fd: int) -> None:
        threads.append(threading.current_thread())
        real_fsync(fd)

    monkeypatch.setattr(storage_module.os, "replace", spy_replace)
    monkeypatch.setattr(storage_module.os, "fsync", spy_fsync)
    await LocalPhotoStorage(tmp_path).put(DATA)
    assert len(threads) >= 3  # file fsync, replace, directory fsync
    assert threading.main_thread() not in threads


async def test_missing_key(tmp_path: Path) -> None:
    store = LocalPhotoStorage(tmp_path)
    key = photo_key(b"never stored")
    assert not await store.exists(key)
    with pytest.raises(PhotoNotFound):
        await store.get(key)
    with pytest.raises(KeyError):
        await store.get(key)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "abc",
        "../" + "a" * 61,
        "A" * 64,
        "g" * 64,
        "a" * 63,
        "a" * 65,
        "a" * 62 + "/b",
        "a" * 64 + "\n",
        "../../etc/passwd",
    ],
)
async def test_bad_keys_are_rejected(tmp_path: Path, key: str) -> None:
    store = LocalPhotoStorage(tmp_path / "photos")
    assert not is_valid_key(key)
    with pytest.raises(InvalidPhotoKey):
        await store.get(key)
    with pytest.raises(InvalidPhotoKey):
        await store.exists(key)
    with pytest.raises(ValueError):
        store.local_path(key)
