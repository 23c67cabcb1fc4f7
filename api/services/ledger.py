"""The findings ledger (隐患台账) as an Excel workbook, for the office's desk work and reporting upwards."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Unprocessable
from api.models import Area, Finding, FindingEvent, Venue
from api.services.auth import Principal
from api.services.findings import FindingFilters, is_overdue, list_findings, user_names
from api.services.pagination import MAX_LIMIT
from api.services.spreadsheet import ESCALATION_LEVELS, FINDING_STATUSES, local_minute, workbook
from api.timeutil import local_today

MAX_ROWS = 50_000
CHUNK = 5_000

# The console's words (labels.js SOURCE), so the sheet and the screen can be read side by side.
SOURCES = {"inspection": "检查发现", "report": "群众举报", "manual": "人工登记"}
SEVERITIES = {"general": "一般隐患", "major": "疑似重大隐患"}
MAJOR_STATUSES = {"suspected": "疑似重大隐患", "confirmed": "重大事故隐患"}
COLUMNS = [
    ("隐患编号", 16),
    ("系统ID", 38),
    ("场所", 24),
    ("负责人", 12),
    ("联系电话", 14),
    ("区域", 18),
    ("来源", 10),
    ("检查项", 40),
    ("隐患描述", 60),
    ("等级", 14),
    ("状态", 10),
    ("整改期限", 12),
    ("是否逾期", 10),
    ("督办级别", 18),
    ("整改措施", 40),
    ("整改人", 14),
    ("复查人", 14),
    ("发现时间", 18),
    ("销号时间", 18),
]


@dataclass
class LedgerRow:
    finding: Finding
    venue: Venue | None
    rectifier: str
    verifier: str


async def export_xlsx(session: AsyncSession, user: Principal, filters: FindingFilters) -> bytes:
    """Every finding the list would give for these filters (in scope, newest first), as one sheet."""
    found: list[tuple[Finding, Venue | None]] = []
    cursor: str | None = None
    while True:
        page, cursor = await list_findings(session, user, filters, MAX_LIMIT, cursor)
        found.extend(page)
        if len(found) > MAX_ROWS:
            raise Unprocessable(
                f"More than {MAX_ROWS} findings match; narrow the filters (area, status, severity).",
                code="export_too_large",
            )
        if cursor is None:
            break
    # Who verified each closed finding: the actor of its accepting verification. In chunks: PostgreSQL
    # takes at most 32,767 parameters in one statement.
    closed = [f.id for f, _ in found if f.status == "closed"]
    verified_by: dict[uuid.UUID, uuid.UUID] = {}
    for start in range(0, len(closed), CHUNK):
        rows = await session.execute(
            select(FindingEvent.finding_id, FindingEvent.actor_id).where(
                FindingEvent.finding_id.in_(closed[start : start + CHUNK]),
                FindingEvent.action == "verify_pass",
            )
        )
        verified_by.update({fid: actor for fid, actor in rows.all() if actor is not None})
    people = list({f.rectified_by for f, _ in found if f.rectified_by} | set(verified_by.values()))
    names: dict[uuid.UUID, str] = {}
    for start in range(0, len(people), CHUNK):
        names.update(await user_names(session, people[start : start + CHUNK]))
    rows_out = [
        LedgerRow(
            finding=f,
            venue=v,
            rectifier=names.get(f.rectified_by, "") if f.rectified_by else "",
            verifier=names.get(verified_by[f.id], "") if f.id in verified_by else "",
        )
        for f, v in found
    ]
    areas = dict((await session.execute(select(Area.code, Area.name))).all())
    # Building the workbook is blocking work: it runs off the event loop.
    return await anyio.to_thread.run_sync(_workbook, rows_out, areas, local_today())


def _severity(f: Finding) -> str:
    if f.major_status in MAJOR_STATUSES:
        return MAJOR_STATUSES[f.major_status or ""]
    return SEVERITIES.get(f.severity, f.severity)


def _workbook(rows: Sequence[LedgerRow], areas: dict[str, str], today: date) -> bytes:
    return workbook("隐患台账", COLUMNS, (_values(row, areas, today) for row in rows), len(rows))


def _values(row: LedgerRow, areas: dict[str, str], today: date) -> list[Any]:
    f, venue = row.finding, row.venue
    description = f.title if not f.description else f"{f.title}\n{f.description}"
    values: list[Any] = [
        f.number or "",
        str(f.id),
        venue.name if venue else "",
        (venue.owner_name or "") if venue else "",
        (venue.owner_phone or "") if venue else "",
        areas.get(f.area_code, f.area_code),
        SOURCES.get(f.source, f.source),
        # The item's text as the inspector saw it (an inspection's finding is titled with it).
        f.title if f.source == "inspection" and f.item_code else "",
        description,
        _severity(f),
        FINDING_STATUSES.get(f.status, f.status),
        f.deadline.isoformat(),
        "是" if is_overdue(f, today) else "否",
        ESCALATION_LEVELS.get(f.escalation_level, str(f.escalation_level)),
        f.rectification_note or "",
        row.rectifier,
        row.verifier,
        local_minute(f.created_at),
        local_minute(f.closed_at),
    ]
    return values
