"""Readable finding numbers (FX-2026-000123): the year of creation in Asia/Shanghai and a serial per year.

Every new finding gets its number in the flush that inserts it, whichever path created it (an inspection,
a report, by hand), so no creator can forget it. The serials come from one counter row per year, raised
by an upsert in the same transaction: the row lock (PostgreSQL) or the write lock (SQLite) makes two
transactions take different numbers, and a transaction rolled back gives its numbers back. The counter is
raised once per flush for all its findings, so an inspection with many failed items costs one statement.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, UOWTransaction

from api.models import Finding, FindingCounter
from api.timeutil import LOCAL_TZ, utcnow

PREFIX = "FX"


def format_number(year: int, serial: int) -> str:
    return f"{PREFIX}-{year}-{serial:06d}"


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


@event.listens_for(Session, "before_flush")
def _number_new_findings(session: Session, _context: UOWTransaction, _instances: Any) -> None:
    fresh = [o for o in session.new if isinstance(o, Finding) and o.number is None]
    if not fresh:
        return
    by_year: dict[int, list[Finding]] = defaultdict(list)
    for finding in fresh:
        created = finding.created_at or utcnow()
        by_year[created.astimezone(LOCAL_TZ).year].append(finding)
    for year, findings in sorted(by_year.items()):
        findings.sort(key=lambda f: (f.created_at or utcnow(), str(f.id)))
        last = _reserve(session, year, len(findings))
        for offset, finding in enumerate(findings):
            finding.number = format_number(year, last - len(findings) + 1 + offset)
