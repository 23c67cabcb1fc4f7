"""Data carried through migrations: findings closed before 0004 get their closed-on-time flag."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from alembic import command
from api.db import create_engine
from api.migrations import alembic_config
from tests.conftest import _drop_pg_database, _pg_database, make_settings


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_closed_on_time_is_backfilled_from_the_rectification_day(backend: str, tmp_path: Path) -> None:
    name = f"safegrid_mig_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = await _pg_database(name) if backend == "postgresql" else None
    settings = make_settings(tmp_path, url)
    cfg = alembic_config(settings)
    try:
        await asyncio.to_thread(command.upgrade, cfg, "0003")
        engine = create_engine(settings)
        # Rectified at 23:30 in Shanghai on its deadline day (15:30 UTC): on time. Rectified at 00:30 the
        # next Shanghai day (16:30 UTC the same UTC day): late.
        later = "2026-03-15 02:00:00"
        rows = [
            ("on_time", "2026-03-10", "2026-03-10 15:30:00"),
            ("late", "2026-03-10", "2026-03-10 16:30:00"),
            ("open", "2026-03-10", None),
        ]
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO areas (code, name, parent_code, path, level) "
                    "VALUES ('t', 'T', NULL, '/t/', 'town')"
                )
            )
            for title, deadline, closed in rows:
                await conn.execute(
                    text(
                        "INSERT INTO findings (id, area_code, source, title, severity, status, deadline, "
                        "escalation_level, photo_ids, created_at, updated_at, rectified_at, closed_at) "
                        "VALUES (:id, 't', 'manual', :title, 'general', :status, :deadline, 0, '[]', "
                        ":created, :created, :rectified, :closed)"
                    ),
                    {
                        "id": uuid.uuid4().hex if backend == "sqlite" else str(uuid.uuid4()),
                        "title": title,
                        "status": "closed" if closed else "open",
                        "deadline": deadline if backend == "sqlite" else date.fromisoformat(deadline),
                        "created": "2026-03-01 00:00:00"
                        if backend == "sqlite"
                        else _utc("2026-03-01 00:00:00"),
                        "rectified": (closed if backend == "sqlite" else _utc(closed)) if closed else None,
                        # Verified days later: what counts is when the rectification came.
                        "closed": (later if backend == "sqlite" else _utc(later)) if closed else None,
                    },
                )
        await engine.dispose()
        await asyncio.to_thread(command.upgrade, cfg, "head")
        engine = create_engine(settings)
        async with engine.connect() as conn:
            got = dict((await conn.execute(text("SELECT title, closed_on_time FROM findings"))).all())
        await engine.dispose()
        assert {k: (None if v is None else bool(v)) for k, v in got.items()} == {
            "on_time": True,
            "late": False,
            "open": None,
        }
    finally:
        if backend == "postgresql":
            await _drop_pg_database(name)


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)
