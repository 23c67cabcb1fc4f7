"""What every workbook the office downloads has in common: typed text cells, a bold frozen header with
column widths, and an autofilter over the table."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from api.timeutil import LOCAL_TZ


def text_cell(sheet: Any, value: str) -> WriteOnlyCell:
    # Typed text, always: what anyone wrote (a venue's name, a measure) never becomes a live formula.
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def _cell(sheet: Any, value: Any, number_format: str | None) -> Any:
    if isinstance(value, str):
        return text_cell(sheet, value)
    if number_format is None or value is None:
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = number_format
    return cell


def header_row(sheet: Any, columns: Sequence[tuple[str, int]]) -> list[WriteOnlyCell]:
    for index, (_, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    cells = []
    for title, _ in columns:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def autofilter(sheet: Any, columns: int, rows: int) -> None:
    sheet.auto_filter.ref = f"A1:{get_column_letter(columns)}{max(rows, 1) + 1}"


# Words the same in every workbook the office opens: a finding's status, and its 督办级别 (the days behind
# each level are ESCALATION_STEPS in api/services/findings.py).
FINDING_STATUSES = {"open": "待整改", "submitted": "待复查", "closed": "已销号", "void": "已作废"}
ESCALATION_LEVELS = {0: "未督办", 1: "一级督办(镇)", 2: "二级督办(逾期7天)", 3: "三级督办(逾期30天)"}


def local_minute(moment: datetime | None) -> str:
    """A moment as the office reads it: Asia/Shanghai, to the minute; empty when there is none."""
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if moment else ""


def workbook(
    title: str,
    columns: Sequence[tuple[str, int]],
    rows: Iterable[Sequence[Any]],
    count: int,
    number_formats: dict[int, str] | None = None,
) -> bytes:
    """One sheet: the header, then `count` rows of values (text typed as text; a number in a column of
    `number_formats`, by index, shown in that format, e.g. a rate as "0%"). Blocking: call it off the
    event loop."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])  # the longest sheet name Excel accepts
    autofilter(sheet, len(columns), count)
    sheet.append(header_row(sheet, columns))
    formats = number_formats or {}
    for values in rows:
        sheet.append([_cell(sheet, v, formats.get(i)) for i, v in enumerate(values)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
