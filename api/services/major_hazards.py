"""Major hazards (重大事故隐患): the supervisor's decision on a suspected one, the register of confirmed ones
(一单四制, 五落实), and the open stock per area that the campaign must bring to zero (动态清零).

The decision and every register change are transitions of the finding lifecycle (api/services/lifecycle.py),
each with its event; the register entry itself is a row of `major_hazards`, written only when the
transition was applied.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import anyio.to_thread
from sqlalchemy import Integer, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api.errors import Unprocessable
from api.models import Area, Finding, MajorHazard, Venue
from api.schemas.findings import MajorDecisionIn, RegisterIn, RegisterUpdateIn
from api.services import lifecycle
from api.services.areas import compared_areas, own_level_name
from api.services.auth import Principal
from api.services.findings import REGISTER_FIELDS, area_filter, escalation_target, get_finding, is_overdue
from api.services.lifecycle import Action, MajorStatus, Status
from api.services.pagination import MAX_LIMIT, newest_first_rows
from api.services.scope import in_scope, path_starts_with
from api.services.spreadsheet import ESCALATION_LEVELS, FINDING_STATUSES, local_minute, workbook
from api.timeutil import local_today, utcnow

OPEN_STATES = (Status.OPEN.value, Status.SUBMITTED.value)
IN_REGISTER = (MajorStatus.SUSPECTED.value, MajorStatus.CONFIRMED.value)
MAX_ROWS = 50_000


def _register_wire(register: RegisterIn | MajorHazard | None) -> dict[str, Any] | None:
    if register is None:
        return None
    values = {f: getattr(register, f) for f in REGISTER_FIELDS}
    values["deadline"] = values["deadline"].isoformat() if values["deadline"] else None
    return values


async def decide(
    session: AsyncSession, user: Principal, finding_id: uuid.UUID, body: MajorDecisionIn
) -> Finding:
    """Confirms (重大, with its register entry: the finding's deadline becomes the register's) or
    downgrades (to a general hazard) a suspected major hazard."""
    finding = await get_finding(session, user, finding_id, lock=True)
    if body.decision == "confirm" and body.register_entry is None:
        raise Unprocessable(
            "Confirming a major hazard needs its register entry (the five 落实 and the supervisor).",
            code="register_required",
        )
    now = utcnow()
    if body.decided_on > local_today(now):
        raise Unprocessable("The decision cannot be dated in the future.", code="decided_on_in_future")
    if body.decision == "confirm":
        assert body.register_entry is not None
        action = Action.CONFIRM_MAJOR
        changes: dict[str, Any] = {
            "major_status": MajorStatus.CONFIRMED.value,
            "deadline": body.register_entry.deadline,
        }
    else:
        action = Action.DOWNGRADE_MAJOR
        changes = {"major_status": MajorStatus.DOWNGRADED.value, "severity": "general"}
        if body.deadline is not None and body.deadline != finding.deadline:
            changes["deadline"] = body.deadline
        # A suspected major hazard started at 一级督办 because it was major, not because it was late: as a
        # general hazard it keeps only the level its lateness so far earns (the daily sweep raises it from
        # there). A new deadline does not take back what lateness earned, as an extension does not.
        earned = escalation_target(finding.deadline, local_today(now))
        if earned < finding.escalation_level:
            changes["escalation_level"] = earned
    facts: dict[str, tuple[Any, Any]] = {
        "decided_on": (None, body.decided_on.isoformat()),
        "participants": (None, body.participants),
    }
    if body.register_entry is not None:
        facts["register"] = (None, _register_wire(body.register_entry))
    done = await lifecycle.apply(
        session,
        finding,
        action,
        actor_id=user.id,
        at=now,
        note=body.note,
        changes=changes,
        facts=facts,
        client_id=body.id,
    )
    if done.applied:
        row = MajorHazard(
            finding_id=finding.id,
            decision=body.decision,
            decided_on=body.decided_on,
            participants=body.participants,
            note=body.note,
            decided_by=user.id,
            created_at=now,
            updated_at=now,
        )
        if body.register_entry is not None:
            for field in REGISTER_FIELDS:
                setattr(row, field, getattr(body.register_entry, field))
        # A finding is decided once (the lifecycle refuses a second decision), so this is an insert.
        session.add(row)
        await session.flush()
    return finding


async def update_register(
    session: AsyncSession, user: Principal, finding_id: uuid.UUID, body: RegisterUpdateIn
) -> Finding:
    """Edits a confirmed major hazard's register entry; a new deadline is the finding's deadline too."""
    finding = await get_finding(session, user, finding_id, lock=True)
    row = await session.get(MajorHazard, finding.id, with_for_update=True)
    register = RegisterIn.model_validate(body.model_dump(exclude={"id"}))
    changes: dict[str, Any] = {}
    if finding.major_status == MajorStatus.CONFIRMED and register.deadline != finding.deadline:
        changes["deadline"] = register.deadline
    facts = {"register": (_register_wire(row), _register_wire(register))}
    done = await lifecycle.apply(
        session,
        finding,
        Action.UPDATE_REGISTER,
        actor_id=user.id,
        at=utcnow(),
        changes=changes,
        facts=facts,
        client_id=body.id,
    )
    if done.applied and row is not None:
        for field in REGISTER_FIELDS:
            setattr(row, field, getattr(register, field))
        row.updated_at = utcnow()
        await session.flush()
    return finding


# --------------------------------------------------------------------------- the register


@dataclass
class RegisterFilters:
    area: str | None = None
    major_status: str | None = None
    status: str | None = None


async def list_register(
    session: AsyncSession, user: Principal, filters: RegisterFilters, limit: int | None, cursor: str | None
) -> tuple[list[tuple[Finding, Venue | None, MajorHazard | None]], str | None]:
    """Suspected and confirmed major hazards in scope, newest first, each with its venue and decision
    (one query)."""
    stmt = (
        select(Finding, Venue, MajorHazard)
        .outerjoin(Venue, Venue.id == Finding.venue_id)
        .outerjoin(MajorHazard, MajorHazard.finding_id == Finding.id)
        .where(in_scope(user, Finding.area_code))
    )
    if filters.major_status:
        stmt = stmt.where(Finding.major_status == filters.major_status)
    else:
        stmt = stmt.where(Finding.major_status.in_(IN_REGISTER))
    if filters.status:
        stmt = stmt.where(Finding.status == filters.status)
    if filters.area:
        stmt = stmt.where(await area_filter(session, filters.area))
    rows, next_cursor = await newest_first_rows(session, stmt, Finding.created_at, Finding.id, limit, cursor)
    return [(f, v, m) for f, v, m in rows], next_cursor


async def stock(session: AsyncSession, user: Principal, area_code: str | None) -> list[dict[str, Any]]:
    """Open suspected and confirmed major hazards per area (`areas.compared_areas`), each counting its
    whole subtree, and a last row for those placed on the area above them itself when there are any:
    the number the campaign must bring to zero, which the rows add up to."""
    rows_of, above = await compared_areas(session, user, area_code)
    if not rows_of:
        return []
    leaf = aliased(Area)
    c = aliased(Area, select(Area).where(Area.code.in_([a.code for a in rows_of])).subquery())
    is_open = Finding.status.in_(OPEN_STATES)

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)

    counted = (
        count(Finding.major_status == MajorStatus.SUSPECTED.value).label("suspected_open"),
        count(Finding.major_status == MajorStatus.CONFIRMED.value).label("confirmed_open"),
    )
    in_stock = and_(is_open, Finding.major_status.in_(IN_REGISTER))
    stmt = (
        select(c.code, *counted)
        .select_from(c)
        .join(leaf, path_starts_with(leaf.path, c.path))
        .join(Finding, and_(Finding.area_code == leaf.code, in_stock))
        .group_by(c.code)
    )
    counts = {
        row.code: (row.suspected_open, row.confirmed_open) for row in (await session.execute(stmt)).all()
    }
    named = [(area.code, area.name, False) for area in rows_of]
    if above is not None:
        own = (await session.execute(select(*counted).where(Finding.area_code == above.code, in_stock))).one()
        if any(own):
            counts[above.code] = tuple(own)
            named.append((above.code, own_level_name(above), True))
    rows = []
    for code, name, own_level in named:
        suspected, confirmed = (int(n) for n in counts.get(code, (0, 0)))
        rows.append(
            {
                "area_code": code,
                "name": name,
                "own_level": own_level,
                "suspected_open": suspected,
                "confirmed_open": confirmed,
                "total_open": suspected + confirmed,
            }
        )
    return rows


# --------------------------------------------------------------------------- the register as a workbook

MAJOR_STATUSES = {"suspected": "疑似重大", "confirmed": "重大", "downgraded": "已降为一般"}
COLUMNS = [
    ("编号", 16),
    ("场所", 24),
    ("区域", 18),
    ("隐患", 48),
    ("认定", 10),
    ("状态", 10),
    ("整改期限", 12),
    ("是否逾期", 10),
    ("督办级别", 10),
    ("认定日期", 12),
    ("参与人员", 24),
    ("责任人", 14),
    ("整改措施", 40),
    ("整改资金", 14),
    ("整改时限", 12),
    ("应急预案", 40),
    ("督办人", 14),
    ("发现时间", 18),
    ("销号时间", 18),
    ("系统编号", 38),
]


async def export_xlsx(session: AsyncSession, user: Principal, filters: RegisterFilters) -> bytes:
    rows: list[tuple[Finding, Venue | None, MajorHazard | None]] = []
    cursor: str | None = None
    while True:
        page, cursor = await list_register(session, user, filters, MAX_LIMIT, cursor)
        rows.extend(page)
        if len(rows) > MAX_ROWS:
            raise Unprocessable(
                f"More than {MAX_ROWS} hazards match; narrow the filters.", code="export_too_large"
            )
        if cursor is None:
            break
    areas = dict((await session.execute(select(Area.code, Area.name))).all())
    # Building the workbook is blocking work: it runs off the event loop.
    return await anyio.to_thread.run_sync(_workbook, rows, areas, local_today())


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _workbook(
    rows: Sequence[tuple[Finding, Venue | None, MajorHazard | None]], areas: dict[str, str], today: date
) -> bytes:
    return workbook("重大事故隐患清单", COLUMNS, (_values(*row, areas, today) for row in rows), len(rows))


def _values(
    f: Finding, venue: Venue | None, m: MajorHazard | None, areas: dict[str, str], today: date
) -> list[Any]:
    confirmed = m is not None and m.decision == "confirm"
    values: list[Any] = [
        f.number or "",
        venue.name if venue else "",
        areas.get(f.area_code, f.area_code),
        f.title if not f.description else f"{f.title}\n{f.description}",
        MAJOR_STATUSES.get(f.major_status or "", f.major_status or ""),
        FINDING_STATUSES.get(f.status, f.status),
        f.deadline.isoformat(),
        "是" if is_overdue(f, today) else "否",
        ESCALATION_LEVELS.get(f.escalation_level, str(f.escalation_level)),
        _day(m.decided_on) if m else "",
        m.participants if m else "",
        (m.responsible_person or "") if confirmed and m else "",
        (m.measures or "") if confirmed and m else "",
        (m.funds or "") if confirmed and m else "",
        _day(m.deadline) if confirmed and m else "",
        (m.contingency_plan or "") if confirmed and m else "",
        (m.supervising_official or "") if confirmed and m else "",
        local_minute(f.created_at),
        local_minute(f.closed_at),
        str(f.id),
    ]
    return values
