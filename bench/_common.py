"""Helpers shared by the benchmarks: a throwaway PostgreSQL database and a real server process."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
from PIL import Image

PG_ADMIN = os.environ.get("SAFEGRID_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
PASSWORD = "bench-password-1"
ROOT = Path(__file__).resolve().parent.parent


def pg_url(database: str) -> str:
    base = PG_ADMIN.rsplit("/", 1)[0]
    return f"{base}/{database}"


async def fresh_database(name: str) -> str:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return pg_url(name)


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server(str):
    """The base URL of a running server, with the pid of its `safegrid serve` process."""

    pid: int


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (the uvicorn workers of a multi-process server)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """utime + stime of each live process (threads included), from /proc/<pid>/stat."""
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    return out


async def backend_pids(database: str) -> list[int]:
    """The PostgreSQL backends connected to `database` (asked from the admin database, so the asking
    connection is not among them)."""
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    finally:
        await conn.close()
    return [int(r["pid"]) for r in rows]


class CpuMeter:
    """CPU used by a server's processes and by the PostgreSQL backends serving its database, between
    `start()` and `stop()`. A backend that appears in between counts whole; one that ends in between
    is lost (the pool keeps its connections, so that is rare and only undercounts by its last moments)."""

    def __init__(self, server_pid: int, database: str) -> None:
        self.server_pid = server_pid
        self.database = database

    async def _sample(self) -> tuple[dict[int, float], dict[int, float]]:
        return cpu_seconds(descendants(self.server_pid)), cpu_seconds(await backend_pids(self.database))

    async def start(self) -> None:
        self._before = await self._sample()

    async def stop(self) -> tuple[float, float]:
        """Returns (server seconds, database seconds)."""
        after = await self._sample()
        totals = []
        for before, now in zip(self._before, after, strict=True):
            totals.append(sum(v - before.get(pid, 0.0) for pid, v in now.items()))
        return totals[0], totals[1]


@contextlib.contextmanager
def server(database_url: str, workers: int = 1) -> Iterator[Server]:
    """Migrates, loads the demo town and runs `safegrid serve` in a subprocess; yields its base URL."""
    data_dir = tempfile.mkdtemp(prefix="safegrid-bench-")
    env = {
        **os.environ,
        "SAFEGRID_DATABASE_URL": database_url.replace("postgresql://", "postgresql+asyncpg://"),
        "SAFEGRID_DATA_DIR": data_dir,
        "SAFEGRID_ESCALATION_SWEEP_SECONDS": "0",
        "SAFEGRID_LOGIN_MAX_FAILURES": "1000",
    }
    cli = [sys.executable, "-m", "api.cli"]
    subprocess.run([*cli, "demo", "--password", PASSWORD], env=env, check=True, cwd=ROOT, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("the server did not start")
        running = Server(base)
        running.pid = proc.pid
        yield running
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def token(client: httpx.AsyncClient, username: str) -> str:
    r = await client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    r.raise_for_status()
    return str(r.json()["access_token"])


def phone_jpeg(width: int, height: int, quality: int = 85, seed: int = 1) -> bytes:
    """A photo-like JPEG (gradients and noise compress like a real scene, unlike a flat colour)."""
    rnd = random.Random(seed)
    small = Image.new("RGB", (64, 48))
    small.putdata([(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)) for _ in range(64 * 48)])
    img = small.resize((width, height), Image.Resampling.BICUBIC)
    noise = Image.effect_noise((width, height), 40).convert("RGB")
    img = Image.blend(img, noise, 0.25)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def pixel_variant(jpeg: bytes, k: int) -> bytes:
    """The same JPEG with other pixels: the luminance quantisation table's DC and two lowest AC steps
    are changed, so every decoded pixel shifts while the file stays valid and the same size. A
    content-addressed store cannot deduplicate it, and the server does the same work as for a new photo.
    """
    data = bytearray(jpeg)
    pos = 2
    while pos < len(data):
        marker, length = data[pos + 1], int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDB and data[pos + 4] & 0xF0 == 0:  # 8-bit table; the first one is luminance
            table = pos + 5
            data[table] = 1 + k % 250
            data[table + 1] = 1 + (k // 250) % 250
            data[table + 2] = 1 + (k // 62500) % 250
            return bytes(data)
        if marker == 0xDA:
            break
        pos += 2 + length
    raise ValueError("no 8-bit quantisation table")


def reference_cpu_ms(rounds: int = 20) -> float:
    """CPU milliseconds this machine takes, now, for a fixed piece of work like a submission's: a full
    decode of the yardstick photo, its SHA-256 and a JSON round trip of an inspection-sized body (the
    median of ``rounds``). A shared machine's speed varies by the hour (here by up to 1.7x): a figure in
    milliseconds means little without this one beside it, measured in the same run."""
    photo = phone_jpeg(1600, 1200, quality=62)
    body = {"answers": [{"item_code": f"item-{i}", "result": "pass", "note": None} for i in range(25)]}
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        Image.open(io.BytesIO(photo)).load()
        hashlib.sha256(photo).digest()
        json.loads(json.dumps(body))
        samples.append((time.process_time() - start) * 1000)
    return sorted(samples)[len(samples) // 2]


class RawConnection:
    """One keep-alive HTTP/1.1 connection that writes requests put together as bytes, the way wrk does.

    httpx spends about 8 ms of CPU per full submission building and parsing messages; on two cores shared
    with the server that is CPU taken from the server under test, and it takes more of it the faster the
    server is. This client spends about 1 ms per full submission (most of it on the photo's pixel
    variant), so the rate it measures is the server's.
    """

    def __init__(self, base: str, authorization: str) -> None:
        host_port = base.split("://", 1)[1]
        self.host, _, port = host_port.partition(":")
        self.port = int(port or 80)
        self.fixed = f"Host: {host_port}\r\nAuthorization: {authorization}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, content_type: str, *body: bytes) -> tuple[int, bytes]:
        """Sends one request whose body is the concatenation of ``body``; returns (status, response body).
        A connection the server closed while idle (its keep-alive timeout) is opened again and the request
        sent once more: the benchmark's PUTs are idempotent by their client-made ids."""
        for attempt in (1, 2):
            if self.writer is None or self.reader is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            length = sum(len(part) for part in body)
            head = f"{method} {path} HTTP/1.1\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n"
            try:
                self.writer.writelines([head.encode(), self.fixed, b"\r\n", *body])
                await self.writer.drain()
                header = await self.reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                partial = getattr(exc, "partial", b"")
                await self.close()
                if attempt == 2 or partial:
                    raise
                continue
            return await self._response(header)
        raise AssertionError("unreachable")

    async def _response(self, header: bytes) -> tuple[int, bytes]:
        assert self.reader is not None
        status = int(header[9:12])
        lowered = header.lower()
        if b"transfer-encoding: chunked" in lowered:
            raise RuntimeError("chunked responses are not expected here")
        start = lowered.find(b"content-length:")
        if start < 0:
            if status in (204, 304):
                return status, b""
            raise RuntimeError("a response without Content-Length would leave the connection out of step")
        size = int(lowered[start + 15 : lowered.index(b"\r\n", start)])
        content = await self.reader.readexactly(size)
        if b"connection: close" in lowered:
            await self.close()
        return status, content

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


def multipart_files(*fields: tuple[str, str]) -> tuple[str, list[bytes]]:
    """(Content-Type, the bytes between the files) of a form of JPEG file fields (name, filename): the
    body is separators[0] + file 0 + separators[1] + file 1 + ... + separators[-1]."""
    boundary = "sgbench" + os.urandom(12).hex()
    separators = [
        (
            ("\r\n" if i else "")
            + f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            + "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        for i, (field, filename) in enumerate(fields)
    ]
    return f"multipart/form-data; boundary={boundary}", [*separators, f"\r\n--{boundary}--\r\n".encode()]


def multipart_file(field: str, filename: str, content_type: str = "image/jpeg") -> tuple[str, bytes, bytes]:
    """(Content-Type, the bytes before the file, the bytes after it) of a form with one file field."""
    boundary = "sgbench" + os.urandom(12).hex()
    before = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    return f"multipart/form-data; boundary={boundary}", before, f"\r\n--{boundary}--\r\n".encode()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]
