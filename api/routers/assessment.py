from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import SessionDep, SupervisorUser
from api.routers.files import XLSX, file_response
from api.schemas.assessment import AreaFigures
from api.services import assessment

router = APIRouter(tags=["assessment"])

DateFrom = Annotated[date, Query(alias="from", description="first day (Asia/Shanghai)")]
DateTo = Annotated[date, Query(alias="to", description="last day, included")]
AreaParam = Annotated[
    str | None,
    Query(max_length=64, description="compare the areas directly under it, or the area itself if none is"),
]


@router.get("/stats/areas", response_model=list[AreaFigures])
async def area_figures(
    session: SessionDep,
    user: SupervisorUser,
    date_from: Annotated[date, Query(alias="from", description="first day (Asia/Shanghai)")],
    date_to: Annotated[date, Query(alias="to", description="last day, included")],
    area: AreaParam = None,
) -> list[AreaFigures]:
    """Per-village (or per-grid) figures for the assessment (考核): work done in the period, findings
    closed on time, and today's open stock, overdue and major hazards included."""
    rows = await assessment.by_area(session, user, area, date_from, date_to)
    return [AreaFigures(**row) for row in rows]


@router.get(
    "/stats/areas/export",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "the same table as Excel"}},
)
async def export_area_figures(
    session: SessionDep, user: SupervisorUser, date_from: DateFrom, date_to: DateTo, area: AreaParam = None
) -> Response:
    """GET /stats/areas as an Excel workbook (one row per area, Chinese headers, an autofilter)."""
    rows = await assessment.by_area(session, user, area, date_from, date_to)
    data = await assessment.export_xlsx(rows, date_from, date_to)
    period = f"{date_from.strftime('%Y%m%d')}-{date_to.strftime('%Y%m%d')}"
    return file_response(data, XLSX, f"area-figures-{period}.xlsx", f"考核统计-{period}.xlsx")
