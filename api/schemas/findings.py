from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from api.schemas.common import OutDatetime, Schema

Severity = Literal["general", "major"]
FindingStatus = Literal["open", "submitted", "closed", "void"]
FindingSource = Literal["inspection", "report", "manual"]
# 疑似重大 / 重大 / downgraded to general by a supervisor; null for a general finding.
MajorStatus = Literal["suspected", "confirmed", "downgraded"]


class VenueBrief(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    address: str | None
    owner_name: str | None
    owner_phone: str | None


class FindingOut(BaseModel):
    id: uuid.UUID
    # Readable serial, e.g. "FX-2026-000123" (year of creation, serial of that year).
    number: str | None
    venue_id: uuid.UUID | None
    venue: VenueBrief | None
    area_code: str
    inspection_id: uuid.UUID | None
    report_id: uuid.UUID | None
    source: FindingSource
    item_code: str | None
    # The checklist item's text (its prompt) for an inspection's finding.
    checklist_item: str | None
    title: str
    description: str | None
    # The inspector's note on the failed item, or the report's description.
    note: str | None
    location_text: str | None
    lat: float | None
    lng: float | None
    severity: Severity
    major_status: MajorStatus | None
    status: FindingStatus
    deadline: date
    overdue: bool
    escalation_level: int
    photo_ids: list[uuid.UUID]
    rectified_at: OutDatetime | None
    # While submitted: the day by which the rectification must be verified, and whether that day passed.
    verification_due: date | None
    verification_overdue: bool
    created_at: OutDatetime
    closed_at: OutDatetime | None
    gb35181: str | None = None
    updated_at: OutDatetime


class RegisterIn(Schema):
    """A confirmed major hazard's register entry: the five 落实 (责任、措施、资金、时限、预案) and the
    supervising official (督办人)."""

    responsible_person: str = Field(min_length=1, max_length=200)
    measures: str = Field(min_length=1, max_length=4000)
    funds: str = Field(min_length=1, max_length=200)
    deadline: date
    contingency_plan: str = Field(min_length=1, max_length=4000)
    supervising_official: str = Field(min_length=1, max_length=200)


class RegisterOut(BaseModel):
    responsible_person: str
    measures: str
    funds: str
    deadline: date
    contingency_plan: str
    supervising_official: str


class RegisterUpdateIn(RegisterIn):
    # Made by the client: a resend with the same id is answered as the first send, never applied twice.
    id: uuid.UUID | None = None


class MajorDecisionIn(Schema):
    # Made by the client: a resend with the same id is answered as the first send, never applied twice.
    id: uuid.UUID | None = None
    decision: Literal["confirm", "downgrade"]
    decided_on: date
    # Who took part in the decision.
    participants: str = Field(min_length=1, max_length=500)
    note: str | None = Field(default=None, max_length=4000)
    # Required to confirm; not taken with a downgrade. ("register" on the wire; the attribute name would
    # shadow BaseModel.register.)
    register_entry: RegisterIn | None = Field(default=None, alias="register")
    # A downgrade's deadline for the general hazard it becomes (default: the suspicion's short one, kept; a
    # hazard already late stays late, as after an extension). A confirmation takes the register's.
    deadline: date | None = None

    @model_validator(mode="after")
    def _register_with_confirm(self) -> MajorDecisionIn:
        if self.decision == "downgrade" and self.register_entry is not None:
            raise ValueError("a downgrade takes no register entry")
        if self.decision == "confirm" and self.deadline is not None:
            raise ValueError("a confirmation takes its deadline from the register entry")
        return self


class EventOut(BaseModel):
    seq: int
    action: str
    actor_id: uuid.UUID | None
    actor_name: str | None
    at: OutDatetime
    from_status: str | None
    to_status: str | None
    note: str | None
    photo_ids: list[uuid.UUID]
    data: dict[str, Any]


class RectificationOut(BaseModel):
    by: uuid.UUID
    by_name: str | None
    at: OutDatetime
    note: str | None
    photo_ids: list[uuid.UUID]


class FindingDetailOut(FindingOut):
    events: list[EventOut]
    rectification: RectificationOut | None
    # A confirmed major hazard's register entry; the decision's date and participants once decided.
    register_entry: RegisterOut | None = Field(default=None, alias="register")
    decided_on: date | None = None
    participants: str | None = None


class FindingIn(Schema):
    # Made by the client so a retried POST finds the finding it already created.
    id: uuid.UUID | None = None
    venue_id: uuid.UUID | None = None
    area_code: str | None = Field(default=None, max_length=64)
    title: str = Field(min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=4000)
    severity: Severity = "general"
    deadline: date | None = None
    photo_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    location_text: str | None = Field(default=None, max_length=500)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)


class RectificationIn(Schema):
    # Made by the client: a resend with the same id is answered as the first send, never applied twice.
    id: uuid.UUID | None = None
    note: str = Field(min_length=1, max_length=4000)
    photo_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)


class VerificationIn(Schema):
    # Made by the client: a resend with the same id is answered as the first send, never applied twice.
    id: uuid.UUID | None = None
    result: Literal["pass", "fail"]
    note: str | None = Field(default=None, max_length=4000)
    photo_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)


class ExtensionIn(Schema):
    # Made by the client: a resend with the same id is answered as the first send, never applied twice.
    id: uuid.UUID | None = None
    deadline: date
    reason: str = Field(min_length=1, max_length=2000)


class VoidIn(Schema):
    # Made by the client: a resend with the same id is answered as the first send, never applied twice.
    id: uuid.UUID | None = None
    reason: str = Field(min_length=1, max_length=2000)
