"""Content-addressed photo storage.

Files are addressed by the SHA-256 of their bytes (64 lowercase hex digits). The same bytes
always map to the same key, so ``put`` is idempotent and concurrent writers of the same
content cannot conflict.

:class:`LocalPhotoStorage` keeps files on local disk as ``root/ab/cd/<key>.jpg``. Writes
are atomic and durable (temporary file in the target directory, fsync, ``os.replace``,
fsync of the directory) and every blocking filesystem call runs in a worker thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import anyio.to_thread

from api.timeutil import local_midnight, local_today

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)

__all__ = [
    "InvalidPhotoKey",
    "LocalPhotoStorage",
    "PhotoNotFound",
    "PhotoStorage",
    "is_valid_key",
    "photo_key",
]

_KEY = re.compile(r"[0-9a-f]{64}")


class InvalidPhotoKey(ValueError):
    """The key is not 64 lowercase hex digits (also guards against path traversal)."""


class PhotoNotFound(KeyError):
    """No photo is stored under the key. A KeyError, so ``except KeyError`` catches it."""


def photo_key(data: bytes) -> str:
    """The storage key of ``data``: its SHA-256 as lowercase hex."""
    return hashlib.sha256(data).hexdigest()


def is_valid_key(key: object) -> bool:
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


def _check_key(key: str) -> str:
    if not is_valid_key(key):
        raise InvalidPhotoKey(f"invalid photo key: {key!r:.80}")
    return key


@runtime_checkable
class PhotoStorage(Protocol):
    async def put(self, data: bytes) -> str:
        """Store ``data``; return its key (sha256 hex). Idempotent and atomic."""
        ...

    async def get(self, key: str) -> bytes:
        """Return the stored bytes. Raises PhotoNotFound (a KeyError) when absent and
        InvalidPhotoKey (a ValueError) for a malformed key."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether a photo is stored under ``key`` (InvalidPhotoKey for a malformed key)."""
        ...

    def local_path(self, key: str) -> Path | None:
        """Filesystem path of the photo for FileResponse, or None when the storage is not a
        local disk. The path is computed, not checked: call ``exists`` first."""
        ...


class LocalPhotoStorage:
    """PhotoStorage on a local directory: ``root/ab/cd/<key>.jpg``."""

    suffix = ".jpg"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        _check_key(key)
        return self.root / key[:2] / key[2:4] / f"{key}{self.suffix}"

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    async def put(self, data: bytes) -> str:
        return await anyio.to_thread.run_sync(self._put_sync, bytes(data))

    async def put_many(self, *blobs: bytes) -> list[str]:
        """``put`` of each blob, in one trip to a worker thread (a photo and its thumbnail)."""
        return await anyio.to_thread.run_sync(self.put_many_sync, *blobs)

    def put_many_sync(self, *blobs: bytes, keys: Sequence[str | None] = ()) -> list[str]:
        """``put_many`` for a caller already in a worker thread. Blocking: never on the event loop.

        ``keys[i]``, where given, is ``photo_key(blobs[i])`` that the caller has already computed (a photo
        stored as it was uploaded has the upload's digest): a SHA-256 of 300 KB less per photo."""
        return [self._put_sync(bytes(b), keys[i] if i < len(keys) else None) for i, b in enumerate(blobs)]

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await anyio.to_thread.run_sync(path.read_bytes)
        except FileNotFoundError:
            raise PhotoNotFound(key) from None

    async def exists(self, key: str) -> bool:
        path = self._path(key)
        return await anyio.to_thread.run_sync(path.is_file)

    # -- blocking helpers, run in worker threads only

    def _put_sync(self, data: bytes, key: str | None = None) -> str:
        # Every system call here lets the event loop take the interpreter lock, and taking it back costs a
        # thread switch or two under load: the sequence is kept to the calls that durability, the files'
        # times and their mode need (a dozen per file).
        key = photo_key(data) if key is None else _check_key(key)
        path = self._path(key)
        try:
            if path.stat().st_size == len(data):
                return key  # same content already stored
        except FileNotFoundError:
            pass
        directory = path.parent
        # Files and their folders carry the start of the day as their time, never the second of the
        # upload: a public report's photo must not date the report more precisely than its record does.
        day = local_midnight(local_today()).timestamp()
        tmp_name = f"{directory}{os.sep}.{key[:16]}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp_name, _CREATE, 0o644)
        except FileNotFoundError:  # the first file of its folder
            _make_dirs(directory, day)
            fd = os.open(tmp_name, _CREATE, 0o644)
        try:
            try:
                os.fchmod(fd, 0o644)  # whatever the process's umask
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.utime(fd, (day, day))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            _date_folder(directory, day)  # the unlink dated it to the second
            raise
        # A new file changes its folder's time (the folder above changes only when a folder is made in it,
        # and _make_dirs dates it then).
        _date_folder(directory, day)
        _fsync_dir(directory)
        return key


def _make_dirs(directory: Path, day: float) -> None:
    """mkdir -p that also dates the parent of every directory it creates to ``day`` and fsyncs it, so the
    new entry and the parent's time are stored together: a write that fails after this leaves no folder
    with the exact second of its making."""
    if directory.is_dir():
        return
    _make_dirs(directory.parent, day)
    try:
        directory.mkdir()
    except FileExistsError:
        return
    _date_folder(directory.parent, day)
    _fsync_dir(directory.parent)


def _date_folder(directory: Path, day: float) -> None:
    """Sets a folder's times back to the start of the day after an entry in it changed them."""
    with contextlib.suppress(OSError):
        os.utime(directory, (day, day))


def _fsync_dir(directory: Path) -> None:
    """Persist a directory entry change (no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
