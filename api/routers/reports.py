"""The office's side of public reports (supervisor+): list, read, triage, reply, rewards; the contact for
paying a reward is an admin's alone, and every reading of it is recorded."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import AdminUser, SessionDep, SettingsDep, SupervisorUser, WriteSessionDep
from api.models import Report
from api.schemas.common import Page
from api.schemas.reports import (
    ContactOut,
    ReplyIn,
    ReportDetailOut,
    ReportOut,
    ReportStatus,
    RewardIn,
    RewardPaymentIn,
    TriageIn,
)
from api.services import reports as report_service
from api.services.auth import Principal

router = APIRouter(tags=["reports"])


async def _detail(session: SessionDep, user: Principal, report: Report) -> ReportDetailOut:
    return ReportDetailOut.model_validate(await report_service.report_detail(session, user, report))


@router.get("/reports", response_model=Page[ReportOut])
async def list_reports(
    session: SessionDep,
    user: SupervisorUser,
    status: ReportStatus | None = None,
    category: Annotated[str | None, Query(max_length=20)] = None,
    area: Annotated[str | None, Query(max_length=64)] = None,
    date_from: Annotated[date | None, Query(alias="from", description="first day (Asia/Shanghai)")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="last day, included")] = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[ReportOut]:
    filters = report_service.ReportFilters(
        status=status, category=category, area=area, date_from=date_from, date_to=date_to
    )
    rows, next_cursor = await report_service.list_reports(session, user, filters, limit, cursor)
    return Page(items=[ReportOut(**report_service.report_dict(r)) for r in rows], next_cursor=next_cursor)


@router.get("/reports/{report_id}", response_model=ReportDetailOut)
async def get_report(session: SessionDep, user: SupervisorUser, report_id: uuid.UUID) -> ReportDetailOut:
    return await _detail(session, user, await report_service.get_report(session, user, report_id))


@router.post("/reports/{report_id}/triage", response_model=ReportDetailOut)
async def triage(
    session: SessionDep, settings: SettingsDep, user: SupervisorUser, report_id: uuid.UUID, body: TriageIn
) -> ReportDetailOut:
    """accept (opens a finding with source "report"), reject (with the reason as `reply`) or duplicate
    (`duplicate_of`: a report or finding id). The same triage again → 200 unchanged; another → 409."""
    t = report_service.Triage(
        action=body.action,
        venue_id=body.venue_id,
        venue=body.venue.model_dump() if body.venue else None,
        area_code=body.area_code,
        severity=body.severity,
        title=body.title,
        description=body.description,
        location_text=body.location_text,
        duplicate_of=body.duplicate_of,
        reply=body.reply,
    )
    report = await report_service.triage(session, user, settings, report_id, t)
    return await _detail(session, user, report)


@router.post("/reports/{report_id}/reply", response_model=ReportDetailOut)
async def reply(
    session: SessionDep, user: SupervisorUser, report_id: uuid.UUID, body: ReplyIn
) -> ReportDetailOut:
    """Changes the public reply shown to the reporter with the status."""
    report = await report_service.set_reply(session, user, report_id, body.reply)
    return await _detail(session, user, report)


@router.post("/reports/{report_id}/reward", response_model=ReportDetailOut)
async def mark_reward(
    session: SessionDep, user: SupervisorUser, report_id: uuid.UUID, body: RewardIn
) -> ReportDetailOut:
    report = await report_service.mark_reward(session, user, report_id, body.eligible, body.amount, body.note)
    return await _detail(session, user, report)


@router.post("/reports/{report_id}/reward/payment", response_model=ReportDetailOut)
async def record_payment(
    session: SessionDep, user: AdminUser, report_id: uuid.UUID, body: RewardPaymentIn
) -> ReportDetailOut:
    report = await report_service.record_payment(session, user, report_id, body.amount, body.note)
    return await _detail(session, user, report)


@router.get("/reports/{report_id}/contact", response_model=ContactOut)
async def read_contact(
    # A read that writes: every reading of the contact is an audit event.
    session: WriteSessionDep,
    settings: SettingsDep,
    user: AdminUser,
    report_id: uuid.UUID,
    response: Response,
) -> ContactOut:
    """The contact the reporter left for the reward. Admins only; each reading is a report event."""
    report, contact = await report_service.read_contact(session, settings, user, report_id)
    response.headers["Cache-Control"] = "no-store"
    return ContactOut(report_id=report.id, contact=contact)
