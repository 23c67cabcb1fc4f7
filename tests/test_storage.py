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


async def test_a_failed_first_write_leaves_its_new_folders_dated_to_the_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Folders carry the start of the day, never the second a photo came (a public report's photo must not
    date the report): also when the first write into a new folder fails, and the folder above is never
    dated again by later writes into that folder."""
    from api.timeutil import local_midnight, local_today

    real_replace = os.replace

    def full_disk(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage_module.os, "replace", full_disk)
    store = LocalPhotoStorage(tmp_path / "photos")
    with pytest.raises(OSError, match="No space"):
        await store.put(DATA)
    path = store.local_path(photo_key(DATA))
    assert path is not None and not path.exists()
    day = local_midnight(local_today()).timestamp()
    for folder in (path.parent, path.parent.parent, tmp_path / "photos"):
        assert folder.is_dir() and folder.stat().st_mtime == day, folder

    monkeypatch.setattr(storage_module.os, "replace", real_replace)
    assert await store.put(DATA) == photo_key(DATA)
    for folder in (path.parent, path.parent.parent):
        assert folder.stat().st_mtime == day, folder


async def test_files_are_readable_by_all_whatever_the_umask(tmp_path: Path) -> None:
    """Stored photos are 0644 (a web server or a backup under another user reads them), also in a process
    whose umask would make new files private."""
    previous = os.umask(0o077)
    try:
        key = await LocalPhotoStorage(tmp_path).put(DATA)
    finally:
        os.umask(previous)
    path = LocalPhotoStorage(tmp_path).local_path(key)
    assert path is not None and path.stat().st_mode & 0o777 == 0o644


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
