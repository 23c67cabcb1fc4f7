from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import SessionDep, SupervisorUser
from api.schemas.assessment import AreaFigures
from api.services import assessment

router = APIRouter(tags=["assessment"])


@router.get("/stats/areas", response_model=list[AreaFigures])
async def area_figures(
    session: SessionDep,
    user: SupervisorUser,
    date_from: Annotated[date, Query(alias="from", description="first day (Asia/Shanghai)")],
    date_to: Annotated[date, Query(alias="to", description="last day, included")],
    area: Annotated[
        str | None, Query(max_length=64, description="compare the areas directly under it")
    ] = None,
) -> list[AreaFigures]:
    """Per-village (or per-grid) figures for the assessment (考核): work done in the period, findings
    closed on time, and today's open stock, overdue and major hazards included."""
    rows = await assessment.by_area(session, user, area, date_from, date_to)
    return [AreaFigures(**row) for row in rows]
