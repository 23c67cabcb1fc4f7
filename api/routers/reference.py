from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentUser, SessionDep
from api.schemas.reference import AreaOut, ChecklistOut, CodeName
from api.services import areas as area_service
from api.services import checklists as checklist_service
from api.services import reference

router = APIRouter(tags=["reference"])


@router.get("/areas", response_model=list[AreaOut])
async def list_areas(session: SessionDep, _user: CurrentUser) -> list[AreaOut]:
    return [
        AreaOut(code=a.code, name=a.name, parent_code=a.parent_code, level=a.level)
        for a in await area_service.list_areas(session)
    ]


@router.get("/checklists", response_model=list[ChecklistOut])
async def list_checklists(session: SessionDep, _user: CurrentUser) -> list[ChecklistOut]:
    return [
        ChecklistOut.model_validate(t, from_attributes=True)
        for t in await checklist_service.list_latest(session)
    ]


@router.get("/checklists/{code}", response_model=ChecklistOut)
async def get_checklist(
    session: SessionDep,
    _user: CurrentUser,
    code: str,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> ChecklistOut:
    template = await checklist_service.get(session, code, version)
    return ChecklistOut.model_validate(template, from_attributes=True)


@router.get("/venue-kinds", response_model=list[CodeName])
async def venue_kinds(_user: CurrentUser) -> list[CodeName]:
    return [CodeName(**k) for k in reference.venue_kinds()]
