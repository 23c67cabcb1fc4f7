from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from api.deps import CurrentUser, InspectorUser, SessionDep, SettingsDep, SupervisorUser
from api.models import Finding
from api.routers.files import XLSX, file_response
from api.schemas.common import Page, QueryBool
from api.schemas.findings import (
    ExtensionIn,
    FindingDetailOut,
    FindingIn,
    FindingOut,
    FindingSource,
    FindingStatus,
    MajorDecisionIn,
    MajorStatus,
    RectificationIn,
    RegisterUpdateIn,
    Severity,
    VerificationIn,
    VoidIn,
)
from api.services import findings as finding_service
from api.services import ledger, major_hazards
from api.timeutil import local_today

router = APIRouter(tags=["findings"])


async def _detail(session: SessionDep, finding: Finding) -> FindingDetailOut:
    return FindingDetailOut.model_validate(await finding_service.finding_detail(session, finding))


def finding_filters(
    status: FindingStatus | None = None,
    severity: Severity | None = None,
    area: str | None = None,
    venue_id: uuid.UUID | None = None,
    source: FindingSource | None = None,
    overdue: QueryBool | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    major_status: MajorStatus | None = None,
    due_within: Annotated[
        int | None,
        Query(ge=0, le=3650, description="open or submitted, not overdue, due within N days (from today)"),
    ] = None,
    escalation_level: Annotated[int | None, Query(ge=0, le=3, description="督办 level")] = None,
    verification_overdue: Annotated[
        QueryBool | None, Query(description="submitted and past its verification deadline")
    ] = None,
) -> finding_service.FindingFilters:
    return finding_service.FindingFilters(
        status=status,
        severity=severity,
        area=area,
        venue_id=venue_id,
        source=source,
        overdue=overdue,
        q=q,
        major_status=major_status,
        due_within=due_within,
        escalation_level=escalation_level,
        verification_overdue=verification_overdue,
    )


FiltersDep = Annotated[finding_service.FindingFilters, Depends(finding_filters)]


@router.get("/findings", response_model=Page[FindingOut])
async def list_findings(
    session: SessionDep,
    user: CurrentUser,
    filters: FiltersDep,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[FindingOut]:
    """Findings in scope, newest first, each with its venue; an unknown `area` is 422 `unknown_area`."""
    rows, next_cursor = await finding_service.list_findings(session, user, filters, limit, cursor)
    today = local_today()
    return Page(
        items=[FindingOut(**finding_service.finding_dict(f, v, today)) for f, v in rows],
        next_cursor=next_cursor,
    )


@router.get(
    "/findings/export",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "the findings ledger (隐患台账) as Excel"}},
)
async def export_findings(session: SessionDep, user: CurrentUser, filters: FiltersDep) -> Response:
    """Every finding matching the list's filters, in scope, as an Excel workbook."""
    data = await ledger.export_xlsx(session, user, filters)
    stamp = local_today().strftime("%Y%m%d")
    return file_response(data, XLSX, f"findings-{stamp}.xlsx", f"隐患台账-{stamp}.xlsx")


@router.get("/findings/{finding_id}", response_model=FindingDetailOut)
async def get_finding(session: SessionDep, user: CurrentUser, finding_id: uuid.UUID) -> FindingDetailOut:
    return await _detail(session, await finding_service.get_finding(session, user, finding_id))


@router.post(
    "/findings",
    response_model=FindingDetailOut,
    status_code=201,
    responses={200: {"model": FindingDetailOut}},
)
async def create_finding(
    session: SessionDep, settings: SettingsDep, user: InspectorUser, body: FindingIn, response: Response
) -> FindingDetailOut:
    finding, created = await finding_service.create_manual(
        session, user, body, major_cap=settings.major_deadline_days_cap
    )
    response.status_code = 201 if created else 200
    return await _detail(session, finding)


@router.post("/findings/{finding_id}/rectification", response_model=FindingDetailOut)
async def rectify(
    session: SessionDep,
    settings: SettingsDep,
    user: InspectorUser,
    finding_id: uuid.UUID,
    body: RectificationIn,
) -> FindingDetailOut:
    """open → submitted; the rectification must then be verified within SAFEGRID_VERIFICATION_DAYS."""
    finding = await finding_service.rectify(
        session, user, finding_id, body, verification_days=settings.verification_days
    )
    return await _detail(session, finding)


@router.post("/findings/{finding_id}/verification", response_model=FindingDetailOut)
async def verify(
    session: SessionDep, user: InspectorUser, finding_id: uuid.UUID, body: VerificationIn
) -> FindingDetailOut:
    finding = await finding_service.verify(session, user, finding_id, body)
    return await _detail(session, finding)


@router.post("/findings/{finding_id}/extension", response_model=FindingDetailOut)
async def extend(
    session: SessionDep, user: SupervisorUser, finding_id: uuid.UUID, body: ExtensionIn
) -> FindingDetailOut:
    finding = await finding_service.extend(session, user, finding_id, body)
    return await _detail(session, finding)


@router.post("/findings/{finding_id}/void", response_model=FindingDetailOut)
async def void(
    session: SessionDep, user: SupervisorUser, finding_id: uuid.UUID, body: VoidIn
) -> FindingDetailOut:
    finding = await finding_service.void(session, user, finding_id, body)
    return await _detail(session, finding)


_DECISION_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such finding in your areas (`finding_not_found`)"},
    409: {"description": "`not_suspected`, `not_confirmed`, `finding_closed`, `finding_void`, `id_conflict`"},
    422: {"description": "`register_required`, `deadline_in_past`, or an invalid body"},
}


@router.post(
    "/findings/{finding_id}/major-decision", response_model=FindingDetailOut, responses=_DECISION_ERRORS
)
async def major_decision(
    session: SessionDep, user: SupervisorUser, finding_id: uuid.UUID, body: MajorDecisionIn
) -> FindingDetailOut:
    """A supervisor's decision on a suspected major hazard (疑似重大): `confirm` (重大; `register` required,
    the finding's deadline becomes the register's) or `downgrade` (a general hazard). An event
    (`confirm_major` / `downgrade_major`) keeps the before and after."""
    finding = await major_hazards.decide(session, user, finding_id, body)
    return await _detail(session, finding)


@router.put("/findings/{finding_id}/register", response_model=FindingDetailOut, responses=_DECISION_ERRORS)
async def update_register(
    session: SessionDep, user: SupervisorUser, finding_id: uuid.UUID, body: RegisterUpdateIn
) -> FindingDetailOut:
    """Edits a confirmed major hazard's register entry (event `update_register`)."""
    finding = await major_hazards.update_register(session, user, finding_id, body)
    return await _detail(session, finding)
