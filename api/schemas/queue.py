from __future__ import annotations

from pydantic import BaseModel, Field


class QueueOut(BaseModel):
    """How much waits in each of the office's lists; each count is the size of the list query named."""

    # GET /reports?status=received
    reports_to_triage: int
    # GET /findings?major_status=suspected, open or submitted
    major_to_decide: int
    # GET /findings?due_within=3
    due_soon: int
    # GET /findings?overdue=true&escalation_level=N, keyed "1", "2", "3"
    overdue_by_level: dict[str, int] = Field(examples=[{"1": 4, "2": 1, "3": 0}])
    # GET /findings?status=submitted
    awaiting_verification: int
    # GET /findings?verification_overdue=true
    verification_overdue: int
