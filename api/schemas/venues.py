from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from api.schemas.common import OutDatetime, Schema
from api.timeutil import local_today

RiskLevel = Literal["low", "normal", "high"]


class VenueIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=40)
    address: str | None = Field(default=None, max_length=500)
    area_code: str = Field(min_length=1, max_length=64)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    owner_name: str | None = Field(default=None, max_length=200)
    owner_phone: str | None = Field(default=None, max_length=40)
    risk_level: RiskLevel = "normal"
    built_year: int | None = Field(default=None, ge=1800)
    # The response carries `id` and read-only figures; tolerate them on the way back in (and ignore them)
    # so a GET body can be PUT again.
    id: uuid.UUID | None = None
    last_inspected_at: datetime | None = None
    open_findings: int | None = None
    last_inspected_on: date | None = None
    next_due: date | None = None
    due: bool | None = None

    @field_validator("built_year")
    @classmethod
    def _not_in_the_future(cls, value: int | None) -> int | None:
        if value is not None and value > local_today().year:
            raise ValueError("the building cannot be built in a future year")
        return value


class VenueOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    address: str | None
    area_code: str
    lat: float | None
    lng: float | None
    owner_name: str | None
    owner_phone: str | None
    risk_level: str
    built_year: int | None = None
    last_inspected_at: OutDatetime | None = None
    open_findings: int = 0
    # The schedule: the day the server received the last inspection (Asia/Shanghai), the day the next one
    # is due (never inspected: due since the venue was registered), and whether that is today or earlier
    # (or within the asked `within_days`).
    last_inspected_on: date | None = None
    next_due: date | None = None
    due: bool = False


class ImportRowError(BaseModel):
    row: int
    reason: str


class ImportResult(BaseModel):
    created: int
    updated: int
    errors: list[ImportRowError]
