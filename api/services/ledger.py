"""The findings ledger (隐患台账) as an Excel workbook, for the office's desk work and reporting upwards."""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import anyio.to_thread
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Unprocessable
from api.models import Area, Finding, Venue
from api.services.auth import Principal
from api.services.findings import FindingFilters, is_overdue, list_findings
from api.services.pagination import MAX_LIMIT
from api.timeutil import LOCAL_TZ, local_today

MAX_ROWS = 50_000

SOURCES = {"inspection": "检查", "report": "举报", "manual": "手工录入"}
SEVERITIES = {"general": "一般隐患", "major": "疑似重大隐患"}
STATUSES = {"open": "待整改", "submitted": "待复查", "closed": "已销号", "void": "已作废"}
COLUMNS = [
    ("编号", 38),
    ("场所", 24),
    ("区域", 18),
    ("来源", 10),
    ("检查项", 12),
    ("隐患描述", 60),
    ("等级", 14),
    ("状态", 10),
    ("整改期限", 12),
    ("是否逾期", 10),
    ("督办级别", 10),
    ("发现时间", 18),
    ("销号时间", 18),
]


async def export_xlsx(session: AsyncSession, user: Principal, filters: FindingFilters) -> bytes:
    """Every finding the list would give for these filters (in scope, newest first), as one sheet."""
    rows: list[Finding] = []
    cursor: str | None = None
    while True:
        page, cursor = await list_findings(session, user, filters, MAX_LIMIT, cursor)
        rows.extend(page)
        if len(rows) > MAX_ROWS:
            raise Unprocessable(
                f"More than {MAX_ROWS} findings match; narrow the filters (area, status, severity).",
                code="export_too_large",
            )
        if cursor is None:
            break
    venue_ids = list({f.venue_id for f in rows if f.venue_id})
    venues: dict[uuid.UUID, str] = {}
    # In chunks: PostgreSQL takes at most 32,767 parameters in one statement.
    for start in range(0, len(venue_ids), 5_000):
        chunk = venue_ids[start : start + 5_000]
        venues.update((await session.execute(select(Venue.id, Venue.name).where(Venue.id.in_(chunk)))).all())
    areas = dict((await session.execute(select(Area.code, Area.name))).all())
    # Building the workbook is blocking work: it runs off the event loop.
    return await anyio.to_thread.run_sync(_workbook, rows, venues, areas, local_today())


def _text(sheet: Any, value: str) -> WriteOnlyCell:
    # Typed text, always: a title such as "=HYPERLINK(...)" written by anyone must not become a live
    # formula on the supervisor's desk.
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def _local(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if moment else ""


def _workbook(
    rows: Sequence[Finding], venues: dict[uuid.UUID, str], areas: dict[str, str], today: date
) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("隐患台账")
    for index, (_, width) in enumerate(COLUMNS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"
    header = []
    for title, _ in COLUMNS:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for f in rows:
        description = f.title if not f.description else f"{f.title}\n{f.description}"
        sheet.append(
            [
                _text(sheet, value) if isinstance(value, str) else value
                for value in (
                    str(f.id),
                    venues.get(f.venue_id, "") if f.venue_id else "",
                    areas.get(f.area_code, f.area_code),
                    SOURCES.get(f.source, f.source),
                    f.item_code or "",
                    description,
                    SEVERITIES.get(f.severity, f.severity),
                    STATUSES.get(f.status, f.status),
                    f.deadline.isoformat(),
                    "是" if is_overdue(f, today) else "否",
                    f.escalation_level,
                    _local(f.created_at),
                    _local(f.closed_at),
                )
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
