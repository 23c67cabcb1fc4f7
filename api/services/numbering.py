"""Readable finding numbers (FX-2026-000123): the year of creation in Asia/Shanghai and a serial per year.

Every new finding gets its number in the flush that inserts it, whichever path created it (an inspection,
a report, by hand), so no creator can forget it. The serials come from one counter row per year, raised
by an upsert in the same transaction: the row lock (PostgreSQL) or the write lock (SQLite) makes two
transactions take different numbers, and a transaction rolled back gives its numbers back. The counter is
raised once per flush for all its findings, so an inspection with many failed items costs one statement.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from api.models import Finding, FindingCounter
from api.timeutil import LOCAL_TZ, utcnow

PREFIX = "FX"


def format_number(year: int, serial: int) -> str:
    return f"{PREFIX}-{year}-{serial:06d}"


def year_of(created_at: datetime) -> int:
    """The year a finding created at this moment is numbered in (Asia/Shanghai)."""
    return created_at.astimezone(LOCAL_TZ).year


def in_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """New findings of one year in the order their serials are given: by creation, then by id."""
    return sorted(rows, key=lambda r: (r.get("created_at") or utcnow(), str(r.get("id"))))


def number_sql(year: str, serial: str) -> str:
    """`format_number` in PostgreSQL's SQL, for a statement that numbers findings as it inserts them."""
    return (
        f"'{PREFIX}-' || {year} || '-' || "
        f"CASE WHEN {serial} < 1000000 THEN lpad(({serial})::text, 6, '0') ELSE ({serial})::text END"
    )


def _reserve(session: Session, year: int, count: int) -> int:
    """Raises the year's counter by `count`; returns the last serial reserved."""
    table = FindingCounter.__table__
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .values(year=year, last=count)
        .on_conflict_do_update(index_elements=[table.c.year], set_={"last": table.c.last + count})
        .returning(table.c.last)
    )
    last: int = session.connection().execute(stmt).scalar_one()
    return last


def _assign(session: Session, rows: list[dict[str, Any]]) -> None:
    by_year: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_year[year_of(row.get("created_at") or utcnow())].append(row)
    for year, unordered in sorted(by_year.items()):
        group = in_order(unordered)
        last = _reserve(session, year, len(group))
        for offset, row in enumerate(group):
            row["number"] = format_number(year, last - len(group) + 1 + offset)


async def number_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Sets "number" on finding rows about to be inserted without the ORM (a bulk insert), which the
    flush hook below does not see. Call it in the inserting transaction, just before the insert."""
    fresh = [r for r in rows if not r.get("number")]
    if fresh:
        await session.run_sync(_assign, fresh)


@event.listens_for(Session, "before_flush")
def _number_new_findings(session: Session, _context: UOWTransaction, _instances: Any) -> None:
    fresh = [o for o in session.new if isinstance(o, Finding) and o.number is None]
    if not fresh:
        return
    rows: list[dict[str, Any]] = [{"id": f.id, "created_at": f.created_at} for f in fresh]
    _assign(session, rows)
    for finding, row in zip(fresh, rows, strict=True):
        finding.number = row["number"]
