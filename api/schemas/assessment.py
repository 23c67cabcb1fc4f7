from __future__ import annotations

from pydantic import BaseModel


class AreaFigures(BaseModel):
    area_code: str
    name: str
    inspections: int
    findings_opened: int
    major_opened: int
    closed: int
    closed_on_time: int
    # closed_on_time / closed; null when nothing was closed in the period.
    on_time_rate: float | None
    open: int
    overdue: int
    major_open: int
