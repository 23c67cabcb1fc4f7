from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

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


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def inspection_json(row: dict[str, Any]) -> bytes:
    """The wire form of InspectionOut, written directly: a reply built by the server needs no validating.
    tests/test_inspections.py checks that it equals InspectionOut's own serialisation."""
    doc = {
        "id": str(row["id"]),
        "venue_id": str(row["venue_id"]),
        "area_code": row["area_code"],
        "checklist_code": row["checklist_code"],
        "checklist_version": row["checklist_version"],
        "inspector_id": str(row["inspector_id"]),
        "started_at": _time(row["started_at"]),
        "submitted_at": _time(row["submitted_at"]),
        "lat": row["lat"],
        "lng": row["lng"],
        "accuracy_m": row["accuracy_m"],
        "note": row["note"],
        "answers": [
            {
                "item_code": a["item_code"],
                "result": a["result"],
                "note": a.get("note"),
                "photo_ids": [str(uuid.UUID(str(p))) for p in a.get("photo_ids") or []],
            }
            for a in row["answers"]
        ],
        "finding_ids": [str(f) for f in row["finding_ids"]],
        "created_at": _time(row["created_at"]),
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
