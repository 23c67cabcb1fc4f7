from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import OutDatetime, Schema

Severity = Literal["general", "major"]
FindingStatus = Literal["open", "submitted", "closed", "void"]
FindingSource = Literal["inspection", "report", "manual"]


class FindingOut(BaseModel):
    id: uuid.UUID
    venue_id: uuid.UUID | None
    area_code: str
    inspection_id: uuid.UUID | None
    report_id: uuid.UUID | None
    source: FindingSource
    item_code: str | None
    title: str
    description: str | None
    severity: Severity
    status: FindingStatus
    deadline: date
    overdue: bool
    escalation_level: int
    photo_ids: list[uuid.UUID]
    created_at: OutDatetime
    closed_at: OutDatetime | None
    gb35181: str | None = None
    updated_at: OutDatetime


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
