from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Conflict, NotFound, Unprocessable
from api.models import Area, Finding, FindingEvent, Inspection, MajorHazard, Photo, User, Venue
from api.schemas.findings import ExtensionIn, FindingIn, RectificationIn, VerificationIn, VoidIn
from api.services import lifecycle
from api.services import numbering as _numbering  # noqa: F401  (numbers every new finding on flush)
from api.services.areas import filter_area_path, require_area_in_scope
from api.services.auth import Principal
from api.services.draws import assigned_venues
from api.services.lifecycle import Action, MajorStatus, Status
from api.services.pagination import newest_first_rows
from api.services.scope import in_scope, in_subtree, path_in_scope
from api.timeutil import local_today, utcnow

# Days past the deadline at which the escalation level (督办) reaches 1, 2 and 3.
ESCALATION_STEPS = (1, 7, 30)


def is_overdue(finding: Finding, today: date | None = None) -> bool:
    return finding.status == Status.OPEN and finding.deadline < (today or local_today())


def overdue_clause(today: date) -> ColumnElement[bool]:
    return and_(Finding.status == Status.OPEN.value, Finding.deadline < today)


def verification_overdue_clause(today: date) -> ColumnElement[bool]:
    # Never NULL, so that its negation keeps every row it does not match.
    return and_(
        Finding.status == Status.SUBMITTED.value,
        Finding.verification_due.is_not(None),
        Finding.verification_due < today,
    )


def is_verification_overdue(finding: Finding, today: date | None = None) -> bool:
    return (
        finding.status == Status.SUBMITTED
        and finding.verification_due is not None
        and finding.verification_due < (today or local_today())
    )


def due_within_clause(today: date, days: int) -> ColumnElement[bool]:
    """Open or submitted, not yet overdue, due within `days` days (today included)."""
    return and_(
        Finding.status.in_((Status.OPEN.value, Status.SUBMITTED.value)),
        Finding.deadline >= today,
        Finding.deadline <= today + timedelta(days=days),
    )


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
    await session.execute(_ATTACH_PHOTOS, {"ids": [uuid.UUID(p) for p in photo_ids], "area": area_code})


# Built once: every inspection with photos runs it, and building it cost more than executing it.
_ATTACH_PHOTOS = (
    update(Photo)
    .where(Photo.id.in_(bindparam("ids", expanding=True)), Photo.area_code.is_(None))
    .values(area_code=bindparam("area"))
    .execution_options(synchronize_session=False)
)


def new_finding(
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
    note: str | None = None,
    location_text: str | None = None,
    lat: float | None = None,
    lng: float | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The rules of a new finding, as its row and its creation event's row (the number is given when the
    row is inserted: api/services/numbering.py). Every finding comes from here: `open_finding` adds them
    to a session; an inspection on PostgreSQL writes them in its one statement."""
    escalation_level = 1 if severity == "major" else 0
    finding = {
        "id": finding_id,
        "venue_id": venue_id,
        "area_code": area_code,
        "inspection_id": inspection_id,
        "report_id": report_id,
        "source": source,
        "item_code": item_code,
        "title": title,
        "description": description,
        "severity": severity,
        "gb35181_flag": gb35181_flag,
        # A major hazard found in the field is only suspected until a supervisor decides (疑似重大).
        "major_status": MajorStatus.SUSPECTED.value if severity == "major" else None,
        "note": note,
        "location_text": location_text,
        "lat": lat,
        "lng": lng,
        "status": Status.OPEN.value,
        "deadline": deadline,
        # A suspected major hazard is reported upwards the same day: it starts escalated.
        "escalation_level": escalation_level,
        "photo_ids": list(photo_ids or []),
        "created_by": actor_id,
        "created_at": at,
        "updated_at": at,
    }
    event = lifecycle.event_values(
        finding_id,
        Action.CREATE,
        actor_id=actor_id,
        at=at,
        from_status=None,
        to_status=Status.OPEN.value,
        seq=1,
        photo_ids=photo_ids,
        data={
            "source": source,
            "severity": severity,
            "deadline": deadline.isoformat(),
            "escalation_level": escalation_level,
        },
    )
    return finding, event


async def open_finding(session: AsyncSession, *, flush: bool = True, **fields: Any) -> Finding:
    """Adds a new finding (`new_finding`'s fields) and its creation event to the session.

    flush=False leaves the insert to the caller's next flush, so a batch of findings goes in together.
    """
    values, event = new_finding(**fields)
    finding = Finding(**values)
    session.add(finding)
    session.add(FindingEvent(**event))
    if flush:
        await session.flush()
        if photo_ids := values["photo_ids"]:
            await attach_photos(session, photo_ids, values["area_code"])
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
    major_status: str | None = None
    due_within: int | None = None
    escalation_level: int | None = None
    verification_overdue: bool | None = None


async def area_filter(session: AsyncSession, code: str) -> ColumnElement[bool]:
    """The findings of an area and the areas below it; an area outside one's scope simply matches nothing."""
    return in_subtree(await filter_area_path(session, code), Finding.area_code)


def filter_findings(stmt: Any, filters: FindingFilters, today: date) -> Any:
    """The list's filters other than area and text, shared by every list of findings."""
    if filters.status:
        stmt = stmt.where(Finding.status == filters.status)
    if filters.severity:
        stmt = stmt.where(Finding.severity == filters.severity)
    if filters.source:
        stmt = stmt.where(Finding.source == filters.source)
    if filters.venue_id:
        stmt = stmt.where(Finding.venue_id == filters.venue_id)
    if filters.overdue is not None:
        clause = overdue_clause(today)
        stmt = stmt.where(clause if filters.overdue else ~clause)
    if filters.major_status:
        stmt = stmt.where(Finding.major_status == filters.major_status)
    if filters.due_within is not None:
        stmt = stmt.where(due_within_clause(today, filters.due_within))
    if filters.escalation_level is not None:
        stmt = stmt.where(Finding.escalation_level == filters.escalation_level)
    if filters.verification_overdue is not None:
        clause = verification_overdue_clause(today)
        stmt = stmt.where(clause if filters.verification_overdue else ~clause)
    return stmt


def readable(user: Principal) -> ColumnElement[bool]:
    """Findings a user may read: those of their areas, and those of venues a 双随机 draw sent them to (the
    drawn inspection opens findings outside the inspector's areas; they must see and print them). Writes
    stay with the area's own people (`in_scope`)."""
    return or_(in_scope(user, Finding.area_code), Finding.venue_id.in_(assigned_venues(user)))


async def list_findings(
    session: AsyncSession, user: Principal, filters: FindingFilters, limit: int | None, cursor: str | None
) -> tuple[list[tuple[Finding, Venue | None]], str | None]:
    """One page of findings with their venues (one query: the venue is joined, not looked up per row)."""
    today = local_today()
    stmt = select(Finding, Venue).outerjoin(Venue, Venue.id == Finding.venue_id).where(readable(user))
    stmt = filter_findings(stmt, filters, today)
    if filters.area:
        stmt = stmt.where(await area_filter(session, filters.area))
    if filters.q:
        # Searching "100%" or "a_b" means those characters, not LIKE wildcards.
        q = filters.q.strip()
        venue_match = Finding.venue_id.in_(select(Venue.id).where(Venue.name.icontains(q, autoescape=True)))
        stmt = stmt.where(
            or_(
                Finding.title.icontains(q, autoescape=True),
                Finding.description.icontains(q, autoescape=True),
                # The readable number the owner's notice and the phone show (FX-2026-000006, or its tail).
                Finding.number.icontains(q, autoescape=True),
                venue_match,
            )
        )
    rows, next_cursor = await newest_first_rows(session, stmt, Finding.created_at, Finding.id, limit, cursor)
    return [(f, v) for f, v in rows], next_cursor


def opened_on_draw(user: Principal) -> ColumnElement[bool]:
    """Findings this inspector's own inspection opened at a venue a 双随机 draw sent them to: they may
    register that venue's rectification (立即整改 on the spot) although it lies outside their areas."""
    mine = select(Inspection.id).where(Inspection.inspector_id == user.id)
    return and_(Finding.venue_id.in_(assigned_venues(user)), Finding.inspection_id.in_(mine))


async def get_finding(
    session: AsyncSession,
    user: Principal,
    finding_id: uuid.UUID,
    *,
    lock: bool = False,
    drawn_rectification: bool = False,
) -> Finding:
    """`lock` (a write): only in the user's areas, or with `drawn_rectification`, a finding the user's
    drawn inspection opened. Reading reaches the findings of every venue a draw sent the user to."""
    if not lock:
        reach = readable(user)
    elif drawn_rectification:
        reach = or_(in_scope(user, Finding.area_code), opened_on_draw(user))
    else:
        reach = in_scope(user, Finding.area_code)
    stmt = select(Finding).where(Finding.id == finding_id, reach)
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
        await _require_visible(session, user, existing)
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
    lifecycle.refuse_far_deadline(deadline, today)
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
                location_text=body.location_text,
                lat=body.lat,
                lng=body.lng,
            )
    except IntegrityError:
        # Two sends of the same finding raced; the other one won. Answer as its retry would be answered.
        winner = await session.get(Finding, finding_id, populate_existing=True)
        if winner is None:
            raise
        await _require_visible(session, user, winner)
        return await _manual_retry(session, user, winner, body), False
    return finding, True


async def _require_visible(session: AsyncSession, user: Principal, finding: Finding) -> None:
    """An id taken by a finding the user cannot see answers as a GET of it would: 404, so that a POST
    does not tell which ids exist in other areas."""
    path = await session.scalar(select(Area.path).where(Area.code == finding.area_code))
    if path is None or not path_in_scope(user, path):
        raise NotFound("No such finding.", code="finding_not_found")


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
    verification_days: int = 3,
) -> Finding:
    """One lifecycle transition asked for over the API: the finding locked in scope, the photos checked,
    and what follows a change (photos attached, the report told) done only when something changed."""
    finding = await get_finding(
        session, user, finding_id, lock=True, drawn_rectification=action is Action.RECTIFY
    )
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
        verification_days=verification_days,
    )
    if done.applied:
        await attach_photos(session, ids, finding.area_code)
        if action in (Action.VERIFY_PASS, Action.VERIFY_FAIL, Action.VOID):
            await _notify_report(session, finding)
    return finding


async def rectify(
    session: AsyncSession,
    user: Principal,
    finding_id: uuid.UUID,
    body: RectificationIn,
    *,
    verification_days: int = 3,
) -> Finding:
    return await _transition(
        session,
        user,
        finding_id,
        Action.RECTIFY,
        note=body.note,
        photo_ids=body.photo_ids,
        client_id=body.id,
        verification_days=verification_days,
    )


async def verify(
    session: AsyncSession, user: Principal, finding_id: uuid.UUID, body: VerificationIn
) -> Finding:
    action = Action.VERIFY_PASS if body.result == "pass" else Action.VERIFY_FAIL
    return await _transition(
        session, user, finding_id, action, note=body.note, photo_ids=body.photo_ids, client_id=body.id
    )


async def extend(session: AsyncSession, user: Principal, finding_id: uuid.UUID, body: ExtensionIn) -> Finding:
    finding = await _transition(
        session,
        user,
        finding_id,
        Action.EXTEND,
        note=body.reason,
        changes={"deadline": body.deadline},
        client_id=body.id,
    )
    if finding.major_status == MajorStatus.CONFIRMED:
        # The register entry (一单四制) names the same deadline; the list, the finding and the Excel
        # register must not disagree after an extension.
        await session.execute(
            update(MajorHazard)
            .where(MajorHazard.finding_id == finding.id, MajorHazard.deadline != finding.deadline)
            .values(deadline=finding.deadline, updated_at=utcnow())
        )
    return finding


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
    an event; an overdue finding that needs no rise gets its first overdue day noted. Returns how many it
    handled: callers repeat, one transaction per batch, while it returns `batch`, so no transaction holds
    many row locks for long.

    Safe to run from several processes at once: rows are locked (others skipped) and a level only rises.
    """
    now = now or utcnow()
    today = local_today(now)
    # The deadline a finding must have passed to be due for each level, highest first.
    due = [(level, today - timedelta(days=step)) for level, step in enumerate(ESCALATION_STEPS, start=1)]
    behind = or_(*(and_(Finding.deadline <= d, Finding.escalation_level < level) for level, d in due))
    # A finding already at the level its lateness calls for (a suspected major hazard starts at 1) still
    # gets the day it became overdue recorded, so nothing later can make it count as on time.
    unnoted = Finding.overdue_since.is_(None)
    stmt = (
        select(Finding)
        .where(overdue_clause(today), or_(behind, unnoted))
        .order_by(Finding.deadline, Finding.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    handled = 0
    for finding in (await session.scalars(stmt)).all():
        handled += 1
        target = escalation_target(finding.deadline, today)
        if target <= finding.escalation_level:
            lifecycle.note_lateness(finding, Status.OPEN, today)
            continue
        await lifecycle.apply(
            session,
            finding,
            Action.ESCALATE,
            actor_id=None,
            at=now,
            note=f"期限已过 {(today - finding.deadline).days} 天，督办升级",
            changes={"escalation_level": target},
        )
    await session.flush()
    return handled


async def finding_detail(session: AsyncSession, finding: Finding) -> dict[str, Any]:
    """The whole finding as GET /findings/{id} and every changing call reply with it: its audit trail,
    creation first, the current rectification, and a major hazard's decision and register."""
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
    venue = await session.get(Venue, finding.venue_id) if finding.venue_id else None
    decision = await session.get(MajorHazard, finding.id) if finding.major_status else None
    return {
        **finding_dict(finding, venue),
        **decision_dict(decision),
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


REGISTER_FIELDS = (
    "responsible_person",
    "measures",
    "funds",
    "deadline",
    "contingency_plan",
    "supervising_official",
)


def register_dict(decision: MajorHazard | None) -> dict[str, Any] | None:
    if decision is None or decision.decision != "confirm" or decision.deadline is None:
        return None
    return {f: getattr(decision, f) for f in REGISTER_FIELDS}


def decision_dict(decision: MajorHazard | None) -> dict[str, Any]:
    """A major hazard's decision as the finding shows it: the register (confirmed ones), when it was
    decided and who took part."""
    return {
        "register": register_dict(decision),
        "decided_on": decision.decided_on if decision else None,
        "participants": decision.participants if decision else None,
    }


def venue_dict(venue: Venue | None) -> dict[str, Any] | None:
    if venue is None:
        return None
    return {
        "id": venue.id,
        "name": venue.name,
        "kind": venue.kind,
        "address": venue.address,
        "owner_name": venue.owner_name,
        "owner_phone": venue.owner_phone,
    }


def finding_dict(finding: Finding, venue: Venue | None = None, today: date | None = None) -> dict[str, Any]:
    today = today or local_today()
    submitted = finding.status == Status.SUBMITTED
    return {
        "id": finding.id,
        "number": finding.number,
        "venue_id": finding.venue_id,
        "venue": venue_dict(venue),
        "area_code": finding.area_code,
        "inspection_id": finding.inspection_id,
        "report_id": finding.report_id,
        "source": finding.source,
        "item_code": finding.item_code,
        # An inspection's finding is titled with its item's prompt as the inspector saw it (the reference
        # data has no separate hazard text).
        "checklist_item": finding.title if finding.source == "inspection" and finding.item_code else None,
        "title": finding.title,
        "description": finding.description,
        "note": finding.note,
        "location_text": finding.location_text,
        "lat": finding.lat,
        "lng": finding.lng,
        "severity": finding.severity,
        "major_status": finding.major_status,
        "status": finding.status,
        "deadline": finding.deadline,
        "overdue": is_overdue(finding, today),
        "escalation_level": finding.escalation_level,
        "photo_ids": finding.photo_ids or [],
        "rectified_at": finding.rectified_at,
        "verification_due": finding.verification_due if submitted else None,
        "verification_overdue": is_verification_overdue(finding, today),
        "created_at": finding.created_at,
        "closed_at": finding.closed_at,
        "gb35181": finding.gb35181_flag,
        "updated_at": finding.updated_at,
    }
