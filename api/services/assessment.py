"""Per-area figures for the yearly assessment (考核) and for driving the stock of major hazards to zero."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Integer, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api.errors import Unprocessable
from api.models import Area, Finding, Inspection
from api.services.areas import require_area_in_scope
from api.services.auth import Principal
from api.services.scope import path_starts_with
from api.timeutil import local_midnight, local_today

OPEN_STATES = ("open", "submitted")
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


async def by_area(
    session: AsyncSession, user: Principal, area_code: str | None, date_from: date, date_to: date
) -> list[dict[str, Any]]:
    """One row per area directly under `area_code` (each counting its whole subtree): inspections and
    findings of the period [date_from, date_to] (days in Asia/Shanghai), and the open stock today."""
    if date_to < date_from:
        raise Unprocessable("`to` is before `from`.", code="invalid_period")
    if date_from < EARLIEST or date_to > LATEST:
        raise Unprocessable(
            f"The period must lie between {EARLIEST.isoformat()} and {LATEST.isoformat()}.",
            code="invalid_period",
        )
    if area_code is None:
        if len(user.area_codes) != 1:
            raise Unprocessable("Name the area whose sub-areas to compare.", code="area_required")
        area_code = user.area_codes[0]
    parent = await require_area_in_scope(session, user, area_code)
    start, end = local_midnight(date_from), local_midnight(date_to + timedelta(days=1))
    today = local_today()

    child = aliased(Area)
    leaf = aliased(Area)
    children = select(child).where(child.parent_code == parent.code).subquery()
    c = aliased(Area, children)
    # Every area of each child's subtree, by materialised path.
    under = path_starts_with(leaf.path, c.path)

    # A voided finding was a mistake or a duplicate: it is no work found.
    in_period = and_(Finding.created_at >= start, Finding.created_at < end, Finding.status != "void")
    closed_in_period = and_(Finding.closed_at >= start, Finding.closed_at < end, Finding.status == "closed")
    is_open = Finding.status.in_(OPEN_STATES)
    finding_stmt = (
        select(
            c.code,
            _count(in_period).label("findings_opened"),
            _count(and_(in_period, Finding.severity == "major")).label("major_opened"),
            _count(closed_in_period).label("closed"),
            _count(and_(closed_in_period, Finding.closed_on_time.is_(True))).label("closed_on_time"),
            _count(is_open).label("open"),
            _count(and_(Finding.status == "open", Finding.deadline < today)).label("overdue"),
            _count(and_(is_open, Finding.severity == "major")).label("major_open"),
        )
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
        # The day of the visit, not of the upload: work done offline counts where it was done.
        .where(Inspection.submitted_at >= start, Inspection.submitted_at < end)
        .group_by(c.code)
    )
    figures: dict[str, Any] = {row.code: row._mapping for row in (await session.execute(finding_stmt)).all()}
    inspections = dict((await session.execute(inspection_stmt)).all())
    rows = []
    for area in (await session.execute(select(c.code, c.name).order_by(c.code))).all():
        f: Any = figures.get(area.code, {})
        closed, on_time = int(f.get("closed", 0)), int(f.get("closed_on_time", 0))
        rows.append(
            {
                "area_code": area.code,
                "name": area.name,
                "inspections": int(inspections.get(area.code, 0)),
                "findings_opened": int(f.get("findings_opened", 0)),
                "major_opened": int(f.get("major_opened", 0)),
                "closed": closed,
                "closed_on_time": on_time,
                "on_time_rate": round(on_time / closed, 4) if closed else None,
                "open": int(f.get("open", 0)),
                "overdue": int(f.get("overdue", 0)),
                "major_open": int(f.get("major_open", 0)),
            }
        )
    return rows
