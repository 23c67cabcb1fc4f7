from __future__ import annotations

from pydantic import BaseModel


class AreaFigures(BaseModel):
    area_code: str
    name: str
    # The last row, when there is one: what is placed on the area the rows were taken from itself (a
    # hazard filed on the town, a report not yet placed), which no row below it counts.
    own_level: bool = False
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
    # Findings opened in the period with severity general (major_opened has the major ones).
    findings_general: int
    # Days from creation to closing, on average, of the findings closed in the period; null when none.
    avg_days_to_close: float | None
    # Public reports that came in during the period and were placed in the area by triage, and of those
    # the ones accepted (a finding was opened).
    reports_received: int
    reports_accepted: int
    # Submitted rectifications past their verification deadline, today.
    verification_overdue: int
