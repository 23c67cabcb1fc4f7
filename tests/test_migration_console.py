"""Migration 0006 gives findings that existed before it their console fields: numbers in creation order per
year (Asia/Shanghai), the note from the inspection's answer or the report, the place, a suspected major
status from the severity, and the verification deadline of a submitted rectification; 0007 then refuses
unknown statuses. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from alembic import command
from api.db import create_engine
from api.migrations import alembic_config
from api.models.base import UTCDateTime
from tests.conftest import _drop_pg_database, _pg_database, make_settings

JSON = sa.JSON()
T = {
    "areas": sa.table(
        "areas",
        sa.column("code"),
        sa.column("name"),
        sa.column("parent_code"),
        sa.column("path"),
        sa.column("level"),
    ),
    "users": sa.table(
        "users",
        sa.column("id", sa.Uuid()),
        sa.column("username"),
        sa.column("display_name"),
        sa.column("role"),
        sa.column("password_hash"),
        sa.column("active", sa.Boolean()),
        sa.column("created_at", UTCDateTime()),
    ),
    "venues": sa.table(
        "venues",
        sa.column("id", sa.Uuid()),
        sa.column("name"),
        sa.column("kind"),
        sa.column("area_code"),
        sa.column("risk_level"),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
    ),
    "inspections": sa.table(
        "inspections",
        sa.column("id", sa.Uuid()),
        sa.column("venue_id", sa.Uuid()),
        sa.column("area_code"),
        sa.column("checklist_code"),
        sa.column("checklist_version", sa.Integer()),
        sa.column("inspector_id", sa.Uuid()),
        sa.column("submitted_at", UTCDateTime()),
        sa.column("lat", sa.Float()),
        sa.column("lng", sa.Float()),
        sa.column("answers", JSON),
        sa.column("body_sha256"),
        sa.column("created_at", UTCDateTime()),
    ),
    "reports": sa.table(
        "reports",
        sa.column("id", sa.Uuid()),
        sa.column("receipt_hash"),
        sa.column("category"),
        sa.column("description"),
        sa.column("location_text"),
        sa.column("lat", sa.Float()),
        sa.column("lng", sa.Float()),
        sa.column("status"),
        sa.column("photo_ids", JSON),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
    ),
    "findings": sa.table(
        "findings",
        sa.column("id", sa.Uuid()),
        sa.column("venue_id", sa.Uuid()),
        sa.column("area_code"),
        sa.column("inspection_id", sa.Uuid()),
        sa.column("report_id", sa.Uuid()),
        sa.column("source"),
        sa.column("item_code"),
        sa.column("title"),
        sa.column("description"),
        sa.column("severity"),
        sa.column("status"),
        sa.column("deadline", sa.Date()),
        sa.column("escalation_level", sa.Integer()),
        sa.column("photo_ids", JSON),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
        sa.column("rectified_at", UTCDateTime()),
    ),
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_existing_findings_get_their_console_fields(backend: str, tmp_path: Path) -> None:
    name = f"safegrid_mig_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = await _pg_database(name) if backend == "postgresql" else None
    settings = make_settings(tmp_path, url)
    cfg = alembic_config(settings)
    user, venue, inspection, report = (uuid.uuid4() for _ in range(4))
    # Created in this order (UTC); 2025-12-31 16:30 UTC is already 2026 in Shanghai.
    f_old, f_insp, f_report, f_major = (uuid.uuid4() for _ in range(4))
    t0 = utc("2025-12-31 10:00:00")
    try:
        await asyncio.to_thread(command.upgrade, cfg, "0005")
        engine = create_engine(settings)
        async with engine.begin() as conn:
            await conn.execute(
                T["areas"].insert(),
                [{"code": "t", "name": "T", "parent_code": None, "path": "/t/", "level": "town"}],
            )
            await conn.execute(
                T["users"].insert(),
                [
                    {
                        "id": user,
                        "username": "u",
                        "display_name": "U",
                        "role": "inspector",
                        "password_hash": "x",
                        "active": True,
                        "created_at": t0,
                    }
                ],
            )
            await conn.execute(
                T["venues"].insert(),
                [
                    {
                        "id": venue,
                        "name": "V",
                        "kind": "small_retail",
                        "area_code": "t",
                        "risk_level": "normal",
                        "created_at": t0,
                        "updated_at": t0,
                    }
                ],
            )
            await conn.execute(
                T["inspections"].insert(),
                [
                    {
                        "id": inspection,
                        "venue_id": venue,
                        "area_code": "t",
                        "checklist_code": "small_venue_fire",
                        "checklist_version": 1,
                        "inspector_id": user,
                        "submitted_at": t0,
                        "lat": 31.5,
                        "lng": 109.5,
                        "answers": [
                            {"item_code": "A", "result": "pass", "note": "好", "photo_ids": []},
                            {"item_code": "B", "result": "fail", "note": "插座烧焦", "photo_ids": []},
                        ],
                        "body_sha256": "0" * 64,
                        "created_at": t0,
                    }
                ],
            )
            await conn.execute(
                T["reports"].insert(),
                [
                    {
                        "id": report,
                        "receipt_hash": "r" * 64,
                        "category": "RPT-10",
                        "description": "楼道堵塞",
                        "location_text": "桥头",
                        "lat": 31.6,
                        "lng": 109.6,
                        "status": "accepted",
                        "photo_ids": [],
                        "created_at": t0,
                        "updated_at": t0,
                    }
                ],
            )
            base = {
                "venue_id": None,
                "area_code": "t",
                "inspection_id": None,
                "report_id": None,
                "item_code": None,
                "title": "x",
                "description": None,
                "severity": "general",
                "status": "open",
                "deadline": date(2026, 1, 10),
                "escalation_level": 0,
                "photo_ids": [],
                "rectified_at": None,
            }
            await conn.execute(
                T["findings"].insert(),
                [
                    {
                        **base,
                        "id": f_major,
                        "source": "manual",
                        "severity": "major",
                        "created_at": utc("2026-01-02 01:00:00"),
                        "updated_at": t0,
                        "status": "submitted",
                        "rectified_at": utc("2026-01-05 16:30:00"),
                    },
                    {**base, "id": f_old, "source": "manual", "created_at": t0, "updated_at": t0},
                    {
                        **base,
                        "id": f_insp,
                        "source": "inspection",
                        "inspection_id": inspection,
                        "venue_id": venue,
                        "item_code": "B",
                        "created_at": utc("2025-12-31 16:30:00"),
                        "updated_at": t0,
                    },
                    {
                        **base,
                        "id": f_report,
                        "source": "report",
                        "report_id": report,
                        "description": "楼道堵塞（住址已删去）",
                        "created_at": utc("2026-01-01 00:00:00"),
                        "updated_at": t0,
                    },
                ],
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO finding_events (finding_id, seq, action, at, photo_ids, data) "
                    "VALUES (:f, 1, 'create', :at, '[]', '{}')"
                ).bindparams(sa.bindparam("f", type_=sa.Uuid()), sa.bindparam("at", type_=UTCDateTime())),
                {"f": f_old, "at": t0},
            )
        await engine.dispose()
        await asyncio.to_thread(command.upgrade, cfg, "head")
        engine = create_engine(settings)
        cols = sa.table(
            "findings",
            sa.column("id", sa.Uuid()),
            sa.column("number"),
            sa.column("note"),
            sa.column("location_text"),
            sa.column("lat", sa.Float()),
            sa.column("lng", sa.Float()),
            sa.column("major_status"),
            sa.column("verification_due", sa.Date()),
        )
        async with engine.connect() as conn:
            got = {row.id: row for row in (await conn.execute(sa.select(cols))).all()}
            counters = dict((await conn.execute(sa.text("SELECT year, last FROM finding_counters"))).all())
            # Nothing rebuilt the findings table: its events are still there.
            events = await conn.scalar(sa.text("SELECT count(*) FROM finding_events"))
        await engine.dispose()
        assert got[f_old].number == "FX-2025-000001"
        assert got[f_insp].number == "FX-2026-000001"
        assert got[f_report].number == "FX-2026-000002"
        assert got[f_major].number == "FX-2026-000003"
        assert counters == {2025: 1, 2026: 3}
        assert events == 1
        assert (got[f_insp].note, got[f_insp].lat, got[f_insp].lng, got[f_insp].location_text) == (
            "插座烧焦",
            31.5,
            109.5,
            None,
        )
        # The words triage released, never the reporter's own.
        assert (got[f_report].note, got[f_report].location_text, got[f_report].lat) == (
            "楼道堵塞（住址已删去）",
            "桥头",
            31.6,
        )
        assert (got[f_old].note, got[f_old].major_status, got[f_old].verification_due) == (None, None, None)
        # Rectified 00:30 on 6 January in Shanghai: to be verified by the 9th.
        assert (got[f_major].major_status, got[f_major].verification_due) == ("suspected", date(2026, 1, 9))

        # 0007: the database itself refuses a status no state machine knows.
        engine = create_engine(settings)
        try:
            with pytest.raises(DBAPIError):
                async with engine.begin() as conn:
                    await conn.execute(
                        sa.update(T["findings"]).where(T["findings"].c.id == f_old).values(status="lost")
                    )
            with pytest.raises(DBAPIError):
                async with engine.begin() as conn:
                    await conn.execute(sa.update(T["reports"]).values(status="lost"))
            async with engine.begin() as conn:
                await conn.execute(
                    sa.update(T["findings"]).where(T["findings"].c.id == f_old).values(status="void")
                )
        finally:
            await engine.dispose()
    finally:
        if backend == "postgresql":
            await _drop_pg_database(name)
