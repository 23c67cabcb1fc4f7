"""Per-area figures for the yearly assessment (考核) and for driving the stock of major hazards to zero."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import anyio.to_thread
from sqlalchemy import Integer, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api.errors import Unprocessable
from api.models import Area, Finding, Inspection, Report
from api.services.areas import compared_areas, own_level_name
from api.services.auth import Principal
from api.services.scope import path_starts_with
from api.services.spreadsheet import workbook
from api.timeutil import local_midnight, local_today

OPEN_STATES = ("open", "submitted")
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


async def by_area(
    session: AsyncSession, user: Principal, area_code: str | None, date_from: date, date_to: date
) -> list[dict[str, Any]]:
    """One row per area of `areas.compared_areas` (each counting its whole subtree): inspections and
    findings of the period [date_from, date_to] (days in Asia/Shanghai), and the open stock today."""
    if date_to < date_from:
        raise Unprocessable("`to` is before `from`.", code="invalid_period")
    if date_from < EARLIEST or date_to > LATEST:
        raise Unprocessable(
            f"The period must lie between {EARLIEST.isoformat()} and {LATEST.isoformat()}.",
            code="invalid_period",
        )
    rows_of, above = await compared_areas(session, user, area_code)
    start, end = local_midnight(date_from), local_midnight(date_to + timedelta(days=1))
    today = local_today()
    dialect = session.get_bind().dialect.name

    child = aliased(Area)
    leaf = aliased(Area)
    c = aliased(Area, select(child).where(child.code.in_([a.code for a in rows_of])).subquery())
    # Every area of each child's subtree, by materialised path.
    under = path_starts_with(leaf.path, c.path)

    # A voided finding was a mistake or a duplicate: it is no work found.
    in_period = and_(Finding.created_at >= start, Finding.created_at < end, Finding.status != "void")
    closed_in_period = and_(Finding.closed_at >= start, Finding.closed_at < end, Finding.status == "closed")
    is_open = Finding.status.in_(OPEN_STATES)
    days_to_close = (
        func.extract("epoch", Finding.closed_at - Finding.created_at) / 86400.0
        if dialect == "postgresql"
        else func.julianday(Finding.closed_at) - func.julianday(Finding.created_at)
    )
    finding_figures = (
        _count(in_period).label("findings_opened"),
        _count(and_(in_period, Finding.severity == "major")).label("major_opened"),
        _count(and_(in_period, Finding.severity == "general")).label("findings_general"),
        func.avg(case((closed_in_period, days_to_close), else_=None)).label("avg_days_to_close"),
        _count(and_(Finding.status == "submitted", Finding.verification_due < today)).label(
            "verification_overdue"
        ),
        _count(closed_in_period).label("closed"),
        _count(and_(closed_in_period, Finding.closed_on_time.is_(True))).label("closed_on_time"),
        _count(is_open).label("open"),
        _count(and_(Finding.status == "open", Finding.deadline < today)).label("overdue"),
        _count(and_(is_open, Finding.severity == "major")).label("major_open"),
    )
    # When it reached the server: the phone's clock (submitted_at, kept and shown) can be set to move work
    # into another period, the server's cannot.
    inspection_in_period = and_(Inspection.created_at >= start, Inspection.created_at < end)
    # Reports count where triage placed them (a report has no area before), in the period they came in.
    report_in_period = and_(Report.created_at >= start, Report.created_at < end)
    report_figures = (
        _count(report_in_period).label("received"),
        _count(and_(report_in_period, Report.status.in_(("accepted", "resolved")))).label("accepted"),
    )

    finding_stmt = (
        select(c.code, *finding_figures)
        .select_from(c)
        .join(leaf, under)
        .join(Finding, Finding.area_code == leaf.code)
        .group_by(c.code)
    )
    inspection_stmt = (
        select(c.code, func.count(Inspection.id))
        .select_from(c)
        .join(leaf, under)
        .join(Inspection, Inspection.area_code == leaf.code)
        .where(inspection_in_period)
        .group_by(c.code)
    )
    report_stmt = (
        select(c.code, *report_figures)
        .select_from(c)
        .join(leaf, under)
        .join(Report, Report.area_code == leaf.code)
        .group_by(c.code)
    )
    figures: dict[str, Any] = {row.code: row._mapping for row in (await session.execute(finding_stmt)).all()}
    inspections = dict((await session.execute(inspection_stmt)).all())
    reports: dict[str, Any] = {row.code: row._mapping for row in (await session.execute(report_stmt)).all()}
    named = [(area.code, area.name, False) for area in rows_of]
    if above is not None:
        # What is placed on the area itself: a hazard filed on the town, an inspection of a venue of the
        # town's own; and, at the top of the tree, the reports not placed anywhere (waiting for triage, or
        # rejected before it placed them), which the town's report desk received.
        placed_here = Report.area_code == above.code
        if above.parent_code is None:
            placed_here = or_(placed_here, Report.area_code.is_(None))
        own_findings = (
            await session.execute(select(*finding_figures).where(Finding.area_code == above.code))
        ).one()
        own_inspections = await session.scalar(
            select(func.count(Inspection.id)).where(Inspection.area_code == above.code, inspection_in_period)
        )
        own_reports = (await session.execute(select(*report_figures).where(placed_here))).one()
        counted = [v for k, v in own_findings._mapping.items() if k != "avg_days_to_close"]
        if any(counted) or own_inspections or any(own_reports):
            figures[above.code], reports[above.code] = own_findings._mapping, own_reports._mapping
            inspections[above.code] = own_inspections or 0
            named.append((above.code, own_level_name(above), True))
    rows = []
    for code, name, own_level in named:
        f: Any = figures.get(code, {})
        rep: Any = reports.get(code, {})
        closed, on_time = int(f.get("closed", 0)), int(f.get("closed_on_time", 0))
        avg_days = f.get("avg_days_to_close")
        rows.append(
            {
                "area_code": code,
                "name": name,
                "own_level": own_level,
                "inspections": int(inspections.get(code, 0) or 0),
                "findings_opened": int(f.get("findings_opened", 0)),
                "major_opened": int(f.get("major_opened", 0)),
                "findings_general": int(f.get("findings_general", 0)),
                "closed": closed,
                "closed_on_time": on_time,
                "on_time_rate": round(on_time / closed, 4) if closed else None,
                "open": int(f.get("open", 0)),
                "overdue": int(f.get("overdue", 0)),
                "major_open": int(f.get("major_open", 0)),
                "avg_days_to_close": round(float(avg_days), 2) if avg_days is not None else None,
                "reports_received": int(rep.get("received", 0)),
                "reports_accepted": int(rep.get("accepted", 0)),
                "verification_overdue": int(f.get("verification_overdue", 0)),
            }
        )
    return rows


# The same words as the console's 各村考核 table, so the sheet and the screen can be read side by side;
# the columns keep the order they always had (scripts read them by position).
FIGURE_COLUMNS = [
    ("area_code", "区域代码", 16),
    ("name", "区域", 18),
    ("inspections", "检查次数", 10),
    ("findings_opened", "发现隐患", 10),
    ("findings_general", "其中一般", 10),
    ("major_opened", "其中重大", 10),
    ("closed", "销号", 8),
    ("closed_on_time", "按期销号", 10),
    ("on_time_rate", "按期销号率", 12),
    ("avg_days_to_close", "平均整改天数", 14),
    ("open", "未销号", 10),
    ("overdue", "超期", 8),
    ("major_open", "重大未销号", 12),
    ("verification_overdue", "复查超期", 10),
    ("reports_received", "收到举报", 10),
    ("reports_accepted", "受理举报", 10),
]


RATE_COLUMN = [key for key, _, _ in FIGURE_COLUMNS].index("on_time_rate")


async def export_xlsx(rows: list[dict[str, Any]], date_from: date, date_to: date) -> bytes:
    # Building the workbook is blocking work: it runs off the event loop.
    return await anyio.to_thread.run_sync(_workbook, rows, date_from, date_to)


def _workbook(rows: list[dict[str, Any]], date_from: date, date_to: date) -> bytes:
    return workbook(
        f"考核 {date_from.isoformat()}至{date_to.isoformat()}",
        [(title, width) for _, title, width in FIGURE_COLUMNS],
        ([row[key] for key, _, _ in FIGURE_COLUMNS] for row in rows),
        len(rows),
        number_formats={RATE_COLUMN: "0.0%"},
    )
