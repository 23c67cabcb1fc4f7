"""The finding lifecycle (一单四制): the one place that decides which change may happen to a finding.

    open ──rectify──► submitted ──verify pass──► closed (销号)
      ▲                   │
      └──verify fail──────┘
    open/submitted ──extend (supervisor, reason)──► same state, a later deadline not in the past
    open ──escalate (deadline passed, 督办)──► same state, higher escalation level only
    open/submitted/closed ──void (supervisor, reason)──► void
    open/submitted ──confirm_major / downgrade_major (supervisor, a suspected major hazard)──► same state,
                     major_status confirmed (the register's deadline) or downgraded (severity general)
    open/submitted ──update_register (supervisor, a confirmed major hazard)──► same state

Every transition appends a FindingEvent; nothing else in the code changes a finding's status.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import AppError, Conflict, Forbidden, Unprocessable
from api.models import Finding, FindingEvent
from api.timeutil import local_today


class Status(StrEnum):
    OPEN = "open"
    SUBMITTED = "submitted"
    CLOSED = "closed"
    VOID = "void"


class Action(StrEnum):
    CREATE = "create"
    RECTIFY = "rectify"
    VERIFY_PASS = "verify_pass"
    VERIFY_FAIL = "verify_fail"
    EXTEND = "extend"
    ESCALATE = "escalate"
    VOID = "void"
    CONFIRM_MAJOR = "confirm_major"
    DOWNGRADE_MAJOR = "downgrade_major"
    UPDATE_REGISTER = "update_register"


class MajorStatus(StrEnum):
    SUSPECTED = "suspected"  # 疑似重大
    CONFIRMED = "confirmed"  # 重大
    DOWNGRADED = "downgraded"


@dataclass(frozen=True)
class Rule:
    allowed_from: frozenset[Status]
    to: Status | None  # None: the status stays


RULES: dict[Action, Rule] = {
    Action.RECTIFY: Rule(frozenset({Status.OPEN}), Status.SUBMITTED),
    Action.VERIFY_PASS: Rule(frozenset({Status.SUBMITTED}), Status.CLOSED),
    Action.VERIFY_FAIL: Rule(frozenset({Status.SUBMITTED}), Status.OPEN),
    Action.EXTEND: Rule(frozenset({Status.OPEN, Status.SUBMITTED}), None),
    Action.ESCALATE: Rule(frozenset({Status.OPEN}), None),
    Action.VOID: Rule(frozenset({Status.OPEN, Status.SUBMITTED, Status.CLOSED}), Status.VOID),
    Action.CONFIRM_MAJOR: Rule(frozenset({Status.OPEN, Status.SUBMITTED}), None),
    Action.DOWNGRADE_MAJOR: Rule(frozenset({Status.OPEN, Status.SUBMITTED}), None),
    Action.UPDATE_REGISTER: Rule(frozenset({Status.OPEN, Status.SUBMITTED}), None),
}

# Why a transition is refused, per current status: stable codes clients (and the phone's outbox) act on.
_REFUSAL_CODES: dict[tuple[Action, Status], str] = {
    (Action.RECTIFY, Status.SUBMITTED): "already_submitted",
    (Action.VERIFY_PASS, Status.OPEN): "not_submitted",
    (Action.VERIFY_FAIL, Status.OPEN): "not_submitted",
    (Action.VOID, Status.VOID): "already_void",
}


def refusal_code(action: Action, status: Status) -> str:
    if (action, status) in _REFUSAL_CODES:
        return _REFUSAL_CODES[(action, status)]
    if status == Status.CLOSED:
        return "finding_closed"
    if status == Status.VOID:
        return "finding_void"
    return "invalid_transition"


def check(finding: Finding, action: Action, actor_id: uuid.UUID | None) -> None:
    status = Status(finding.status)
    rule = RULES[action]
    if status not in rule.allowed_from:
        raise Conflict(
            f"A finding that is {status.value} cannot take '{action.value}'.",
            code=refusal_code(action, status),
            status_now=status.value,
        )
    # Four eyes: whoever submitted the rectification does not get to accept or reject it.
    if action in (Action.VERIFY_PASS, Action.VERIFY_FAIL) and finding.rectified_by == actor_id:
        raise Forbidden("The rectification's submitter cannot verify it.", code="four_eyes")


async def _next_seq(session: AsyncSession, finding_id: uuid.UUID) -> int:
    current = await session.scalar(
        select(func.max(FindingEvent.seq)).where(FindingEvent.finding_id == finding_id)
    )
    return (current or 0) + 1


def event_values(
    finding_id: uuid.UUID,
    action: Action,
    *,
    actor_id: uuid.UUID | None,
    at: datetime,
    from_status: str | None,
    to_status: str,
    seq: int,
    note: str | None = None,
    photo_ids: list[str] | None = None,
    data: dict[str, Any] | None = None,
    client_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The row of one event in a finding's history: what `record` adds to a session, and what an
    inspection's one-statement write (api/services/inspection_statement.py) inserts for a new finding."""
    return {
        "finding_id": finding_id,
        "seq": seq,
        "action": action.value,
        "actor_id": actor_id,
        "at": at,
        "from_status": from_status,
        "to_status": to_status,
        "note": note,
        "photo_ids": photo_ids or [],
        "data": data or {},
        "client_id": client_id,
    }


async def record(
    session: AsyncSession,
    finding: Finding,
    action: Action,
    *,
    actor_id: uuid.UUID | None,
    at: datetime,
    from_status: str | None,
    note: str | None = None,
    photo_ids: list[str] | None = None,
    data: dict[str, Any] | None = None,
    seq: int | None = None,
    client_id: uuid.UUID | None = None,
) -> FindingEvent:
    event = FindingEvent(
        **event_values(
            finding.id,
            action,
            actor_id=actor_id,
            at=at,
            from_status=from_status,
            to_status=finding.status,
            seq=seq if seq is not None else await _next_seq(session, finding.id),
            note=note,
            photo_ids=photo_ids,
            data=data,
            client_id=client_id,
        )
    )
    session.add(event)
    return event


# Beyond two years a deadline is a typing slip (2099, 2062), not a plan: it would keep a hazard "on
# time" for ever. Major structural work on a self-built house can take a year and more, so not less.
LONGEST_DEADLINE = timedelta(days=730)


def refuse_far_deadline(deadline: date, today: date) -> None:
    if deadline > today + LONGEST_DEADLINE:
        raise Unprocessable(
            f"A deadline after {(today + LONGEST_DEADLINE).isoformat()} is too far ahead; extend it later.",
            code="deadline_too_far",
        )


def _guard(
    finding: Finding, action: Action, changes: dict[str, Any], today: date, photo_ids: list[str]
) -> None:
    """Rules on what an action changes, beside the status."""
    if action in (Action.CONFIRM_MAJOR, Action.DOWNGRADE_MAJOR):
        if finding.major_status != MajorStatus.SUSPECTED:
            raise Conflict(
                "Only a suspected major hazard (疑似重大) awaits this decision.",
                code="not_suspected",
                major_status_now=finding.major_status,
            )
        if "deadline" in changes and changes["deadline"] < today:
            raise Unprocessable("The decision's deadline is in the past.", code="deadline_in_past")
    elif action == Action.UPDATE_REGISTER:
        if finding.major_status != MajorStatus.CONFIRMED:
            raise Conflict(
                "Only a confirmed major hazard has a register entry.",
                code="not_confirmed",
                major_status_now=finding.major_status,
            )
        if "deadline" in changes and changes["deadline"] != finding.deadline and changes["deadline"] < today:
            raise Unprocessable("The register's deadline is in the past.", code="deadline_in_past")
    elif action == Action.VERIFY_PASS:
        if finding.major_status == MajorStatus.SUSPECTED:
            raise Conflict(
                "A suspected major hazard closes only after a supervisor's decision (confirm or downgrade).",
                code="major_decision_pending",
            )
        if finding.major_status == MajorStatus.CONFIRMED and not (
            photo_ids or finding.rectification_photo_ids
        ):
            raise Unprocessable(
                "A confirmed major hazard closes only with photo evidence of its rectification.",
                code="evidence_required",
            )
    elif action == Action.EXTEND:
        deadline = changes["deadline"]
        if deadline < today:
            raise Unprocessable("An extension cannot set a deadline in the past.", code="deadline_in_past")
        if deadline <= finding.deadline:
            raise Unprocessable(
                f"An extension must move the deadline later than {finding.deadline.isoformat()}.",
                code="deadline_not_later",
            )
    elif action == Action.ESCALATE and changes["escalation_level"] <= finding.escalation_level:
        raise Conflict("The escalation level only rises.", code="escalation_not_higher")
    # Last: a request refused for its state or its order keeps the refusal it always had.
    if "deadline" in changes and changes["deadline"] != finding.deadline:
        refuse_far_deadline(changes["deadline"], today)


def _same_request(
    event: FindingEvent,
    action: Action,
    actor_id: uuid.UUID | None,
    note: str | None,
    photo_ids: list[str],
    changes: dict[str, Any],
    facts: dict[str, tuple[Any, Any]] | None = None,
) -> bool:
    data = event.data or {}
    return (
        (event.action, event.actor_id) == (action.value, actor_id)
        and (event.note or None) == (note or None)
        and sorted(event.photo_ids or []) == sorted(photo_ids)
        and all(data.get(f, {}).get("after") == _wire(v) for f, v in changes.items())
        and all(data.get(f, {}).get("after") == _wire(after) for f, (_, after) in (facts or {}).items())
    )


async def _retry_of(
    session: AsyncSession,
    finding: Finding,
    action: Action,
    actor_id: uuid.UUID | None,
    note: str | None,
    photo_ids: list[str],
    changes: dict[str, Any],
    facts: dict[str, tuple[Any, Any]] | None = None,
) -> FindingEvent | None:
    """The event this request already made, when it is a resend (a phone whose reply was lost) of the
    finding's last transition."""
    last = await session.scalar(
        select(FindingEvent)
        .where(FindingEvent.finding_id == finding.id)
        .order_by(FindingEvent.seq.desc())
        .limit(1)
    )
    target = RULES[action].to
    if (
        last is None
        or actor_id is None
        or not _same_request(last, action, actor_id, note, photo_ids, changes, facts)
        or (target is not None and finding.status != target.value)
    ):
        return None
    return last


@dataclass(frozen=True)
class Transition:
    event: FindingEvent
    # False when the request was a resend answered with the event it made before: nothing changed now,
    # so nothing that follows a change (a report's status) may happen again.
    applied: bool


def note_lateness(finding: Finding, status: Status, today: date) -> None:
    """Records the first day a finding stood overdue, for good.

    It stood overdue when it was open past its deadline, or when the rectification it holds came after
    the deadline. Decided from the state before a transition: a late rectification moves the finding to
    submitted, where being open past the deadline can no longer be seen; a suspected major hazard starts
    at escalation level 1, so the sweep's first rise (which notes it for general findings) comes only a
    week late, and an extension granted meanwhile made a late major finding count as on time.
    """
    if finding.overdue_since is not None:
        return
    open_late = status == Status.OPEN and finding.deadline < today
    rectified_late = (
        status == Status.SUBMITTED
        and finding.rectified_at is not None
        and local_today(finding.rectified_at) > finding.deadline
    )
    if open_late or rectified_late:
        finding.overdue_since = finding.deadline + timedelta(days=1)


def _wire(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


async def apply(
    session: AsyncSession,
    finding: Finding,
    action: Action,
    *,
    actor_id: uuid.UUID | None,
    at: datetime,
    note: str | None = None,
    photo_ids: list[str] | None = None,
    changes: dict[str, Any] | None = None,
    client_id: uuid.UUID | None = None,
    facts: dict[str, tuple[Any, Any]] | None = None,
    verification_days: int = 3,
) -> Transition:
    """Checks and performs one transition on a finding already locked by the caller, and records it.

    `changes` are the fields the action sets besides the status (a deadline, an escalation level); the
    event keeps each one's before and after. A resend of the transition that was just made by the same
    person answers as the first send did, without a second event; with `client_id` (made by the client)
    a resend is recognised even after others have changed the finding since, and the id used for another
    change is a conflict.

    `facts` are what the action records outside the finding's row (a major-hazard decision and its
    register), as (before, after) in wire form: kept in the event and compared on a resend like `changes`.
    A submitted rectification must be verified within `verification_days` of its day (Asia/Shanghai).
    """
    changes = changes or {}
    photo_ids = list(photo_ids or [])
    if client_id is not None:
        sent = await session.scalar(select(FindingEvent).where(FindingEvent.client_id == client_id))
        if sent is not None:
            if sent.finding_id != finding.id or not _same_request(
                sent, action, actor_id, note, photo_ids, changes, facts
            ):
                raise Conflict("This id was already used for another change.", code="id_conflict")
            return Transition(sent, applied=False)
    try:
        check(finding, action, actor_id)
        _guard(finding, action, changes, local_today(at), photo_ids)
    except AppError:
        retry = await _retry_of(session, finding, action, actor_id, note, photo_ids, changes, facts)
        if retry is not None:
            return Transition(retry, applied=False)
        raise
    before = finding.status
    target = RULES[action].to
    if target is not None:
        finding.status = target.value
    today = local_today(at)
    # Noted before anything moves the deadline: a late extension (or a register's later deadline) does
    # not undo being late.
    note_lateness(finding, Status(before), today)
    data: dict[str, Any] = {}
    for field, value in changes.items():
        data[field] = {"before": _wire(getattr(finding, field)), "after": _wire(value)}
        setattr(finding, field, value)
    for field, (was, now) in (facts or {}).items():
        data[field] = {"before": _wire(was), "after": _wire(now)}
    if action == Action.RECTIFY:
        finding.rectified_by, finding.rectified_at = actor_id, at
        finding.rectification_note, finding.rectification_photo_ids = note, photo_ids
        finding.verification_due = today + timedelta(days=verification_days)
    elif action == Action.VERIFY_PASS:
        finding.closed_at = at
        rectified = local_today(finding.rectified_at or at)
        finding.closed_on_time = finding.overdue_since is None and rectified <= finding.deadline
    elif action == Action.VERIFY_FAIL:
        # The failed rectification stays in the events; the next one starts from scratch.
        finding.rectified_by = finding.rectified_at = None
        finding.rectification_note, finding.rectification_photo_ids = None, None
        finding.verification_due = None
    finding.updated_at = at
    event = await record(
        session,
        finding,
        action,
        actor_id=actor_id,
        at=at,
        from_status=before,
        note=note,
        photo_ids=photo_ids,
        data=data,
        client_id=client_id,
    )
    try:
        await session.flush()
    except IntegrityError as exc:
        if client_id is None:
            raise
        # The same id sent at once for another finding (this one's row lock cannot see that one).
        raise Conflict("This id was already used for another change.", code="id_conflict") from exc
    return Transition(event, applied=True)
