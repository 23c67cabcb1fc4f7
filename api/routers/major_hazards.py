"""The register of major hazards (重大事故隐患清单, 一单四制) and their open stock per area."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from api.deps import SessionDep, SupervisorUser
from api.routers.files import XLSX, file_response
from api.schemas.common import Page
from api.schemas.findings import FindingStatus
from api.schemas.major_hazards import MajorHazardOut, StockRow
from api.services import findings as finding_service
from api.services import major_hazards
from api.timeutil import local_today

router = APIRouter(tags=["major hazards"])

InRegister = Annotated[str | None, Query(pattern="^(suspected|confirmed)$")]
_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "`role_required` (supervisor+), `area_out_of_scope`"},
    422: {"description": "`unknown_area`, `invalid_cursor`, or an invalid parameter"},
}


def register_filters(
    area: Annotated[str | None, Query(max_length=64, description="the area and the areas below it")] = None,
    major_status: InRegister = None,
    status: FindingStatus | None = None,
) -> major_hazards.RegisterFilters:
    return major_hazards.RegisterFilters(area=area, major_status=major_status, status=status)


RegisterFiltersDep = Annotated[major_hazards.RegisterFilters, Depends(register_filters)]


@router.get("/major-hazards", response_model=Page[MajorHazardOut], responses=_ERRORS)
async def list_major_hazards(
    session: SessionDep,
    user: SupervisorUser,
    filters: RegisterFiltersDep,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[MajorHazardOut]:
    """Suspected and confirmed major hazards in scope, newest first, with their register entries."""
    rows, next_cursor = await major_hazards.list_register(session, user, filters, limit, cursor)
    today = local_today()
    items = [
        MajorHazardOut(
            **finding_service.finding_dict(f, v, today),
            **finding_service.decision_dict(m),
        )
        for f, v, m in rows
    ]
    return Page(items=items, next_cursor=next_cursor)


@router.get(
    "/major-hazards/export",
    response_class=Response,
    responses={
        200: {"content": {XLSX: {}}, "description": "the register (重大事故隐患清单) as Excel"},
        **_ERRORS,
    },
)
async def export_major_hazards(
    session: SessionDep, user: SupervisorUser, filters: RegisterFiltersDep
) -> Response:
    """The same list as an Excel workbook: one row per hazard with its register columns."""
    data = await major_hazards.export_xlsx(session, user, filters)
    stamp = local_today().strftime("%Y%m%d")
    return file_response(data, XLSX, f"major-hazards-{stamp}.xlsx", f"重大事故隐患清单-{stamp}.xlsx")


@router.get("/major-hazards/stock", response_model=list[StockRow], responses=_ERRORS)
async def major_hazard_stock(
    session: SessionDep,
    user: SupervisorUser,
    area: Annotated[
        str | None,
        Query(
            max_length=64,
            description="count the areas under it, or the area itself if none is (default: your areas)",
        ),
    ] = None,
) -> list[StockRow]:
    """Open major hazards per area: the number that must reach zero (动态清零)."""
    return [StockRow(**row) for row in await major_hazards.stock(session, user, area)]
