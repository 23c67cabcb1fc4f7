from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Conflict, NotFound, Unprocessable
from api.models import Area, Finding, FindingEvent, Photo, User, Venue
from api.schemas.findings import ExtensionIn, FindingIn, RectificationIn, VerificationIn, VoidIn
from api.services import lifecycle
from api.services.areas import require_area_in_scope
from api.services.auth import Principal
from api.services.lifecycle import Action, Status
from api.services.pagination import newest_first
from api.services.scope import in_scope, in_subtree
from api.timeutil import local_today, utcnow

# Days past the deadline at which the escalation level (督办) reaches 1, 2 and 3.
ESCALATION_STEPS = (1, 7, 30)


def is_overdue(finding: Finding, today: date | None = None) -> bool:
    return finding.status == Status.OPEN and finding.deadline < (today or local_today())


def overdue_clause(today: date) -> ColumnElement[bool]:
    return and_(Finding.status == Status.OPEN.value, Finding.deadline < today)


def deadline_for(days: int, major: bool, today: date, major_cap: int) -> date:
    # A major hazard's item default is only a ceiling; the real deadline comes with the 督办 decision
    # (an extension), so the finding starts on a short fuse.
    if major:
        days = min(days, major_cap)
    return today + timedelta(days=max(days, 0))


async def check_photos(
    session: AsyncSession, user: Principal, photo_ids: Sequence[uuid.UUID | str], *, for_area: str
) -> list[str]:
    """Returns the ids as strings; 422 naming every id that is unknown or not the user's to use.

    A photo documents one place: one already attached in another area is refused, since those who may
    see this area's records could not see it.
    """
    ids = [str(p) for p in photo_ids]
    if not ids:
        return []
    if len(set(ids)) != len(ids):
        raise Unprocessable("A photo id is listed twice.", code="duplicate_photo_ids")
    wanted = [uuid.UUID(i) for i in ids]
    visible = or_(Photo.uploaded_by == user.id, in_scope(user, Photo.area_code))
    usable = or_(Photo.area_code.is_(None), Photo.area_code == for_area)
    found = set(
        str(i)
        for i in (await session.scalars(select(Photo.id).where(Photo.id.in_(wanted), visible, usable))).all()
    )
    if missing := [i for i in ids if i not in found]:
        raise Unprocessable(
            f"Unknown photo id(s), or photos of another area: {', '.join(missing)}. "
            "Upload them first with PUT /photos/{id}.",
            code="unknown_photos",
            photo_ids=missing,
        )
    return ids


async def attach_photos(session: AsyncSession, photo_ids: Sequence[str], area_code: str) -> None:
    """Photos take the area of what they document, so whoever may see that may see them."""
    if not photo_ids:
        return
    await session.execute(
        update(Photo)
        .where(Photo.id.in_([uuid.UUID(p) for p in photo_ids]), Photo.area_code.is_(None))
        .values(area_code=area_code)
        .execution_options(synchronize_session=False)
    )


async def open_finding(
    session: AsyncSession,
    *,
    finding_id: uuid.UUID,
    area_code: str,
    source: str,
    title: str,
    severity: str,
    deadline: date,
    actor_id: uuid.UUID | None,
    at: datetime,
    venue_id: uuid.UUID | None = None,
    inspection_id: uuid.UUID | None = None,
    report_id: uuid.UUID | None = None,
    item_code: str | None = None,
    description: str | None = None,
    gb35181_flag: str | None = None,
    photo_ids: list[str] | None = None,
    flush: bool = True,
) -> Finding:
    """The one way a finding comes into being (from an inspection, a report or by hand).

    flush=False leaves the insert to the caller's next flush, so an inspection's findings go in one batch.
    """
    finding = Finding(
        id=finding_id,
        venue_id=venue_id,
        area_code=area_code,
        inspection_id=inspection_id,
        report_id=report_id,
        source=source,
        item_code=item_code,
        title=title,
        description=description,
        severity=severity,
        gb35181_flag=gb35181_flag,
        status=Status.OPEN.value,
        deadline=deadline,
        # A suspected major hazard is reported upwards the same day: it starts escalated.
        escalation_level=1 if severity == "major" else 0,
        photo_ids=list(photo_ids or []),
        created_by=actor_id,
        created_at=at,
        updated_at=at,
    )
    session.add(finding)
    await lifecycle.record(
        session,
        finding,
        Action.CREATE,
        actor_id=actor_id,
        at=at,
        from_status=None,
        seq=1,
        photo_ids=photo_ids,
        data={
            "source": source,
            "severity": severity,
            "deadline": deadline.isoformat(),
            "escalation_level": finding.escalation_level,
        },
    )
    if flush:
        await session.flush()
        if photo_ids:
            await attach_photos(session, photo_ids, area_code)
    return finding


@dataclass
class FindingFilters:
    status: str | None = None
    severity: str | None = None
    area: str | None = None
    venue_id: uuid.UUID | None = None
    source: str | None = None
    overdue: bool | None = None
    q: str | None = None


async def list_findings(
    session: AsyncSession, user: Principal, filters: FindingFilters, limit: int | None, cursor: str | None
) -> tuple[Sequence[Finding], str | None]:
    today = local_today()
    stmt = select(Finding).where(in_scope(user, Finding.area_code))
    if filters.status:
        stmt = stmt.where(Finding.status == filters.status)
    if filters.severity:
        stmt = stmt.where(Finding.severity == filters.severity)
    if filters.source:
        stmt = stmt.where(Finding.source == filters.source)
    if filters.venue_id:
        stmt = stmt.where(Finding.venue_id == filters.venue_id)
    if filters.area:
        area_path = await session.scalar(select(Area.path).where(Area.code == filters.area))
        stmt = stmt.where(in_subtree(area_path, Finding.area_code) if area_path else false())
    if filters.overdue is not None:
        clause = overdue_clause(today)
        stmt = stmt.where(clause if filters.overdue else ~clause)
    if filters.q:
        # Searching "100%" or "a_b" means those characters, not LIKE wildcards.
        q = filters.q.strip()
        venue_match = Finding.venue_id.in_(select(Venue.id).where(Venue.name.icontains(q, autoescape=True)))
        stmt = stmt.where(
            or_(
                Finding.title.icontains(q, autoescape=True),
                Finding.description.icontains(q, autoescape=True),
                venue_match,
            )
        )
    return await newest_first(session, stmt, Finding.created_at, Finding.id, limit, cursor)


async def get_finding(
    session: AsyncSession, user: Principal, finding_id: uuid.UUID, *, lock: bool = False
) -> Finding:
    stmt = select(Finding).where(Finding.id == finding_id, in_scope(user, Finding.area_code))
    if lock:
        stmt = stmt.with_for_update()
    finding = await session.scalar(stmt)
    if finding is None:
        # Out of scope answers exactly like missing: existence itself must not leak.
        raise NotFound("No such finding.", code="finding_not_found")
    return finding


async def events_of(session: AsyncSession, finding_id: uuid.UUID) -> list[tuple[FindingEvent, str | None]]:
    rows = await session.execute(
        select(FindingEvent, User.display_name)
        .outerjoin(User, User.id == FindingEvent.actor_id)
        .where(FindingEvent.finding_id == finding_id)
        .order_by(FindingEvent.seq)
    )
    return [(e, name) for e, name in rows.all()]


async def user_names(session: AsyncSession, ids: Sequence[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {i: n for i, n in rows.all()}


# A manual finding's default deadline, in days (items of a checklist bring their own).
MANUAL_DEADLINE_DAYS = 7


async def create_manual(
    session: AsyncSession, user: Principal, body: FindingIn, *, major_cap: int
) -> tuple[Finding, bool]:
    """A finding recorded by hand. Returns (finding, created); the same body again under the same id is a
    harmless retry, another body a conflict."""
    finding_id = body.id or uuid.uuid4()
    existing = await session.get(Finding, finding_id)
    if existing is not None:
        return await _manual_retry(session, user, existing, body), False
    area_code = body.area_code
    if body.venue_id is not None:
        venue = await session.scalar(
            select(Venue).where(Venue.id == body.venue_id, in_scope(user, Venue.area_code))
        )
        if venue is None:
            raise Unprocessable("Unknown venue, or outside your areas.", code="venue_not_found")
        area_code = venue.area_code
    if area_code is None:
        raise Unprocessable("Give a venue_id or an area_code.", code="area_required")
    await require_area_in_scope(session, user, area_code)
    ids = await check_photos(session, user, body.photo_ids, for_area=area_code)
    today = local_today()
    default = deadline_for(MANUAL_DEADLINE_DAYS, body.severity == "major", today, major_cap)
    deadline = body.deadline or default
    if deadline < today:
        raise Unprocessable("The deadline is in the past.", code="deadline_in_past")
    # An inspector may set a shorter deadline; a longer one is a supervisor's decision (延期, with a reason).
    if deadline > default and not user.at_least("supervisor"):
        raise Unprocessable(
            f"An inspector may set a deadline up to {default.isoformat()}; a supervisor extends it.",
            code="deadline_too_late",
        )
    try:
        async with session.begin_nested():
            finding = await open_finding(
                session,
                finding_id=finding_id,
                area_code=area_code,
                source="manual",
                title=body.title,
                description=body.description,
                severity=body.severity,
                deadline=deadline,
                actor_id=user.id,
                at=utcnow(),
                venue_id=body.venue_id,
                photo_ids=ids,
            )
    except IntegrityError:
        # Two sends of the same finding raced; the other one won. Answer as its retry would be answered.
        winner = await session.get(Finding, finding_id, populate_existing=True)
        if winner is None:
            raise
        return await _manual_retry(session, user, winner, body), False
    return finding, True


async def _manual_retry(
    session: AsyncSession, user: Principal, existing: Finding, body: FindingIn
) -> Finding:
    same = (
        existing.source == "manual"
        and existing.created_by == user.id
        and (existing.title, existing.description, existing.severity)
        == (body.title, body.description, body.severity)
        and (body.venue_id is None or existing.venue_id == body.venue_id)
        and (body.area_code is None or body.venue_id is not None or existing.area_code == body.area_code)
        and sorted(existing.photo_ids or []) == sorted(str(p) for p in body.photo_ids)
        and (body.deadline is None or existing.deadline == body.deadline)
    )
    if not same:
        raise Conflict("This id already holds another finding.", code="id_conflict")
    return await get_finding(session, user, existing.id)


async def _transition(
    session: AsyncSession,
    user: Principal,
    finding_id: uuid.UUID,
    action: Action,
    *,
    note: str | None,
    client_id: uuid.UUID | None,
    photo_ids: Sequence[uuid.UUID] = (),
    changes: dict[str, Any] | None = None,
) -> Finding:
    """One lifecycle transition asked for over the API: the finding locked in scope, the photos checked,
    and what follows a change (photos attached, the report told) done only when something changed."""
    finding = await get_finding(session, user, finding_id, lock=True)
    ids = await check_photos(session, user, photo_ids, for_area=finding.area_code)
    done = await lifecycle.apply(
        session,
        finding,
        action,
        actor_id=user.id,
        at=utcnow(),
        note=note,
        photo_ids=ids,
        changes=changes,
        client_id=client_id,
    )
    if done.applied:
        await attach_photos(session, ids, finding.area_code)
        if action in (Action.VERIFY_PASS, Action.VERIFY_FAIL, Action.VOID):
            await _notify_report(session, finding)
    return finding


async def rectify(
    session: AsyncSession, user: Principal, finding_id: uuid.UUID, body: RectificationIn
) -> Finding:
    return await _transition(
        session, user, finding_id, Action.RECTIFY, note=body.note, photo_ids=body.photo_ids, client_id=body.id
    )


async def verify(
    session: AsyncSession, user: Principal, finding_id: uuid.UUID, body: VerificationIn
) -> Finding:
    action = Action.VERIFY_PASS if body.result == "pass" else Action.VERIFY_FAIL
    return await _transition(
        session, user, finding_id, action, note=body.note, photo_ids=body.photo_ids, client_id=body.id
    )


async def extend(session: AsyncSession, user: Principal, finding_id: uuid.UUID, body: ExtensionIn) -> Finding:
    return await _transition(
        session,
        user,
        finding_id,
        Action.EXTEND,
        note=body.reason,
        changes={"deadline": body.deadline},
        client_id=body.id,
    )


async def void(session: AsyncSession, user: Principal, finding_id: uuid.UUID, body: VoidIn) -> Finding:
    return await _transition(session, user, finding_id, Action.VOID, note=body.reason, client_id=body.id)


async def _notify_report(session: AsyncSession, finding: Finding) -> None:
    """A report's public status follows the finding it opened (resolved when the finding closes)."""
    if finding.report_id is None:
        return
    # Imported here: the reports service opens findings through this module.
    from api.services import reports

    await reports.on_finding_changed(session, finding)


def escalation_target(deadline: date, today: date) -> int:
    days_over = (today - deadline).days
    return sum(1 for step in ESCALATION_STEPS if days_over >= step)


async def sweep_escalations(session: AsyncSession, now: datetime | None = None, *, batch: int = 500) -> int:
    """Raises the escalation level (督办) of up to `batch` open findings past their deadline; each rise is
    an event. Returns how many rose: callers repeat, one transaction per batch, while it returns `batch`,
    so no transaction holds many row locks for long.

    Safe to run from several processes at once: rows are locked (others skipped) and a level only rises.
    """
    now = now or utcnow()
    today = local_today(now)
    # The deadline a finding must have passed to be due for each level, highest first.
    due = [(level, today - timedelta(days=step)) for level, step in enumerate(ESCALATION_STEPS, start=1)]
    behind = or_(*(and_(Finding.deadline <= d, Finding.escalation_level < level) for level, d in due))
    stmt = (
        select(Finding)
        .where(overdue_clause(today), behind)
        .order_by(Finding.deadline, Finding.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    raised = 0
    for finding in (await session.scalars(stmt)).all():
        target = escalation_target(finding.deadline, today)
        await lifecycle.apply(
            session,
            finding,
            Action.ESCALATE,
            actor_id=None,
            at=now,
            note=f"期限已过 {(today - finding.deadline).days} 天，督办升级",
            changes={"escalation_level": target},
        )
        raised += 1
    return raised


async def finding_detail(session: AsyncSession, finding: Finding) -> dict[str, Any]:
    """The whole finding as GET /findings/{id} and every changing call reply with it: its audit trail,
    creation first, and the current rectification."""
    events = await events_of(session, finding.id)
    rectification = None
    if finding.rectified_by is not None and finding.rectified_at is not None:
        names = await user_names(session, [finding.rectified_by])
        rectification = {
            "by": finding.rectified_by,
            "by_name": names.get(finding.rectified_by),
            "at": finding.rectified_at,
            "note": finding.rectification_note,
            "photo_ids": finding.rectification_photo_ids or [],
        }
    return {
        **finding_dict(finding),
        "events": [
            {
                "seq": e.seq,
                "action": e.action,
                "actor_id": e.actor_id,
                "actor_name": name,
                "at": e.at,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "note": e.note,
                "photo_ids": e.photo_ids or [],
                "data": e.data or {},
            }
            for e, name in events
        ],
        "rectification": rectification,
    }


def finding_dict(finding: Finding, today: date | None = None) -> dict[str, Any]:
    return {
        "id": finding.id,
        "venue_id": finding.venue_id,
        "area_code": finding.area_code,
        "inspection_id": finding.inspection_id,
        "report_id": finding.report_id,
        "source": finding.source,
        "item_code": finding.item_code,
        "title": finding.title,
        "description": finding.description,
        "severity": finding.severity,
        "status": finding.status,
        "deadline": finding.deadline,
        "overdue": is_overdue(finding, today),
        "escalation_level": finding.escalation_level,
        "photo_ids": finding.photo_ids or [],
        "created_at": finding.created_at,
        "closed_at": finding.closed_at,
        "gb35181": finding.gb35181_flag,
        "updated_at": finding.updated_at,
    }
