from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, Field

from api.schemas.common import OutDatetime, Schema
from api.schemas.venues import RiskLevel


class DrawIn(Schema):
    """A 双随机 draw: the population (venues of an area, optionally of some kinds and risk levels), how many
    to draw (`count`, or `ratio` of the population, at least 0.05), and how many inspectors per target."""

    id: uuid.UUID
    area_code: str = Field(min_length=1, max_length=64)
    kinds: list[str] = Field(default_factory=list, max_length=20)
    risk_levels: list[RiskLevel] = Field(default_factory=list, max_length=3)
    count: int | None = Field(default=None, ge=1, le=10_000)
    ratio: float | None = Field(default=None, gt=0, le=1)
    inspectors_per_target: int = Field(default=2, le=10)
    due_on: date | None = None


class DrawVoidIn(Schema):
    """Why the draw is voided (作废): it is published with the draw."""

    reason: str = Field(min_length=1, max_length=500)


class DrawInspector(BaseModel):
    id: uuid.UUID
    display_name: str | None


class DrawTarget(BaseModel):
    position: int
    venue_id: uuid.UUID
    venue_name: str | None
    area_code: str | None
    inspectors: list[DrawInspector]
    inspection_id: uuid.UUID | None
    inspected_at: OutDatetime | None
    findings: int | None
    outcome: str | None


class DrawOut(BaseModel):
    id: uuid.UUID
    area_code: str
    kinds: list[str]
    risk_levels: list[str]
    requested_count: int | None
    ratio: float | None
    count: int
    inspectors_per_target: int
    due_on: date
    method: str
    seed: str
    population_size: int
    population: list[uuid.UUID]
    eligible_inspectors: int
    created_by: uuid.UUID | None
    created_at: OutDatetime
    voided_at: OutDatetime | None = None
    void_reason: str | None = None
    targets: list[DrawTarget]


class DrawSummary(BaseModel):
    id: uuid.UUID
    area_code: str
    count: int
    population_size: int
    due_on: date
    inspected: int
    created_at: OutDatetime
    voided_at: OutDatetime | None = None


class PublicDrawResult(BaseModel):
    venue_name: str
    inspected_on: date | None
    outcome: str | None


class PublicDrawOut(BaseModel):
    """What 双随机一公开 publishes: the draw and its results, no one's personal data."""

    id: uuid.UUID
    drawn_on: date
    area_name: str
    kinds: list[str]
    kind_names: list[str] = Field(default_factory=list, description="the kinds in words, in the same order")
    risk_levels: list[str]
    population_size: int
    count: int
    inspectors_per_target: int
    method: str
    seed: str
    due_on: date
    voided_on: date | None = None
    void_reason: str | None = None
    results: list[PublicDrawResult]


class AssignmentOut(BaseModel):
    draw_id: uuid.UUID
    venue_id: uuid.UUID
    venue_name: str
    venue_address: str | None
    venue_kind: str
    area_code: str
    due_on: date
    done: bool
    inspection_id: uuid.UUID | None
