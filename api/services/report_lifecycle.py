"""The report lifecycle (举报): the one place that decides which status change may happen to a public report.

    (filed) ──receive──► received ──accept──► accepted ──resolve (its finding closed)──► resolved
                             │
                             ├──reject (reason shown to the reporter)──► rejected
                             └──duplicate (of a report or a finding)──► duplicate

Every status change appends a ReportEvent; nothing else in the code sets a report's status. The database
refuses any other status (CHECK constraint, a trigger on SQLite).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Conflict
from api.models import Report, ReportEvent


class ReportStatus(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class ReportAction(StrEnum):
    RECEIVE = "receive"
    ACCEPT = "accept"
    REJECT = "reject"
    DUPLICATE = "duplicate"
    RESOLVE = "resolve"


@dataclass(frozen=True)
class Rule:
    allowed_from: frozenset[ReportStatus | None]
    to: ReportStatus
    # The event's action, as the audit trail has always named it.
    event: str


_TRIAGE = frozenset({ReportStatus.RECEIVED})
RULES: dict[ReportAction, Rule] = {
    ReportAction.RECEIVE: Rule(frozenset({None}), ReportStatus.RECEIVED, "received"),
    ReportAction.ACCEPT: Rule(_TRIAGE, ReportStatus.ACCEPTED, "triage"),
    ReportAction.REJECT: Rule(_TRIAGE, ReportStatus.REJECTED, "triage"),
    ReportAction.DUPLICATE: Rule(_TRIAGE, ReportStatus.DUPLICATE, "triage"),
    ReportAction.RESOLVE: Rule(frozenset({ReportStatus.ACCEPTED}), ReportStatus.RESOLVED, "resolved"),
}

TRIAGE_ACTIONS = {
    "accept": ReportAction.ACCEPT,
    "reject": ReportAction.REJECT,
    "duplicate": ReportAction.DUPLICATE,
}


def can(report: Report, action: ReportAction) -> bool:
    current = ReportStatus(report.status) if report.status else None
    return current in RULES[action].allowed_from


def check(report: Report, action: ReportAction) -> None:
    if can(report, action):
        return
    if action in TRIAGE_ACTIONS.values():
        raise Conflict(
            f"This report was already triaged (it is {report.status}).",
            code="already_triaged",
            status_now=report.status,
        )
    raise Conflict(
        f"A report that is {report.status} cannot take '{action.value}'.",
        code="invalid_transition",
        status_now=report.status,
    )


def apply(
    session: AsyncSession,
    report: Report,
    action: ReportAction,
    *,
    actor_id: uuid.UUID | None,
    at: datetime,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    public_at: datetime | None = None,
) -> ReportEvent:
    """Checks and performs one status change and records it. `public_at` is the reporter's coarse
    "updated at" (defaults to `at`). The caller flushes."""
    check(report, action)
    rule = RULES[action]
    before = report.status or None
    report.status = rule.to.value
    report.updated_at = public_at or at
    event = ReportEvent(
        report_id=report.id,
        action=rule.event,
        actor_id=actor_id,
        at=at,
        note=note,
        data={**(data or {}), "from_status": before, "to_status": rule.to.value},
    )
    session.add(event)
    return event
