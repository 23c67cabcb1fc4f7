"""Test fixtures: the real app against real SQLite and real PostgreSQL, both built by the migrations.

Every test that takes `client` runs once per database. PostgreSQL is required: a missing server fails
the suite rather than skipping half of it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from api.app import create_app
from api.config import Settings
from api.db import create_engine, create_sessionmaker
from api.migrations import migrate
from api.services import demo

PG_ADMIN_URL = os.environ.get("SAFEGRID_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
PASSWORD = "demo-password-1"
BACKENDS = ["sqlite", "postgresql"]


@dataclass
class Env:
    backend: str
    settings: Settings
    app: Any
    client: httpx.AsyncClient
    tokens: dict[str, str]

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    async def session(self) -> Any:
        return self.app.state.sessionmaker()


async def _pg_database(name: str) -> str:
    url = make_url(PG_ADMIN_URL)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = await asyncpg.connect(dsn)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL is required for the test suite and is not reachable at {url.host}:{url.port}: {exc}"
        )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(database=name).render_as_string(hide_password=False)


async def _drop_pg_database(name: str) -> None:
    dsn = make_url(PG_ADMIN_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def make_settings(tmp: Path, database_url: str | None, **overrides: Any) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp,
        database_url=database_url,
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        escalation_sweep_seconds=0,
        **overrides,
    )


@pytest.fixture(scope="session", params=BACKENDS)
async def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    backend = request.param
    tmp = tmp_path_factory.mktemp(backend)
    db_name = f"safegrid_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    database_url = await _pg_database(db_name) if backend == "postgresql" else None
    settings = make_settings(tmp, database_url)
    await migrate(settings)
    engine = create_engine(settings)
    async with create_sessionmaker(engine)() as session:
        await demo.load(session, PASSWORD)
        await session.commit()
    await engine.dispose()

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            tokens = {}
            for username, *_ in demo.USERS:
                r = await client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
                assert r.status_code == 200, r.text
                tokens[username] = r.json()["access_token"]
            yield Env(backend, settings, app, client, tokens)
    if backend == "postgresql":
        await _drop_pg_database(db_name)


@pytest.fixture
async def client(env: Env) -> httpx.AsyncClient:
    return env.client


def venue_id(name: str) -> str:
    return str(demo.venue_id(name))


@pytest.fixture(autouse=True)
def fresh_login_guard(request: pytest.FixtureRequest) -> None:
    """Each test signs in as if to a fresh process: the in-memory sign-in counters of one test's deliberate
    failures (all from the test client's one address) must not lock the next test out."""
    if "env" in request.fixturenames:
        request.getfixturevalue("env").app.state.login_guard = None
