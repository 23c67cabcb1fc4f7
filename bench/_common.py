"""Helpers shared by the benchmarks: a throwaway PostgreSQL database and a real server process."""

from __future__ import annotations

import asyncio
import contextlib
import io
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


@contextlib.contextmanager
def server(database_url: str, workers: int = 1) -> Iterator[str]:
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
        yield base
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


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]
