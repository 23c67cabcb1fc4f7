from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import AwareDatetime, OutDatetime, Schema


class AnswerIn(Schema):
    item_code: str = Field(min_length=1, max_length=64)
    result: Literal["pass", "fail", "na"]
    note: str | None = Field(default=None, max_length=2000)
    photo_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)


class InspectionIn(Schema):
    venue_id: uuid.UUID
    checklist_code: str = Field(min_length=1, max_length=64)
    checklist_version: int = Field(ge=1, le=2**31 - 1)
    started_at: AwareDatetime | None = None
    submitted_at: AwareDatetime
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0)
    note: str | None = Field(default=None, max_length=4000)
    answers: list[AnswerIn] = Field(min_length=1, max_length=500)


class AnswerOut(BaseModel):
    item_code: str
    result: str
    note: str | None = None
    photo_ids: list[uuid.UUID]


class InspectionOut(BaseModel):
    id: uuid.UUID
    venue_id: uuid.UUID
    area_code: str
    checklist_code: str
    checklist_version: int
    inspector_id: uuid.UUID
    started_at: OutDatetime | None
    submitted_at: OutDatetime
    lat: float | None
    lng: float | None
    accuracy_m: float | None
    note: str | None
    answers: list[AnswerOut]
    finding_ids: list[uuid.UUID]
    created_at: OutDatetime
