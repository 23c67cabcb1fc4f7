"""The office's work queue: how much waits in each list the console opens, counted in two queries with the
same scope and the same conditions as those lists."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.models import Finding, Report
from api.services.auth import Principal
from api.services.findings import due_within_clause, overdue_clause, verification_overdue_clause
from api.services.lifecycle import MajorStatus, Status
from api.services.report_lifecycle import ReportStatus
from api.services.reports import visible_reports
from api.services.scope import in_scope
from api.timeutil import local_today

DUE_SOON_DAYS = 3


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


async def counts(session: AsyncSession, user: Principal) -> dict[str, Any]:
    today = local_today()
    overdue = overdue_clause(today)
    in_work = Finding.status.in_((Status.OPEN.value, Status.SUBMITTED.value))
    findings = (
        await session.execute(
            select(
                _count(and_(in_work, Finding.major_status == MajorStatus.SUSPECTED.value)).label("major"),
                _count(due_within_clause(today, DUE_SOON_DAYS)).label("due_soon"),
                _count(and_(overdue, Finding.escalation_level == 1)).label("level1"),
                _count(and_(overdue, Finding.escalation_level == 2)).label("level2"),
                _count(and_(overdue, Finding.escalation_level == 3)).label("level3"),
                _count(Finding.status == Status.SUBMITTED.value).label("submitted"),
                _count(verification_overdue_clause(today)).label("verification_overdue"),
            ).where(in_scope(user, Finding.area_code), in_work)
        )
    ).one()
    reports = await session.scalar(
        select(func.count(Report.id)).where(visible_reports(user), Report.status == ReportStatus.RECEIVED)
    )
    return {
        "reports_to_triage": int(reports or 0),
        "major_to_decide": int(findings.major),
        "due_soon": int(findings.due_soon),
        "overdue_by_level": {
            "1": int(findings.level1),
            "2": int(findings.level2),
            "3": int(findings.level3),
        },
        "awaiting_verification": int(findings.submitted),
        "verification_overdue": int(findings.verification_overdue),
    }
