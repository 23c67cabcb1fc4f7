from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from api.schemas.findings import FindingOut, RegisterOut


class MajorHazardOut(FindingOut):
    """A suspected or confirmed major hazard: the finding with its register entry (confirmed ones) and its
    decision's date and participants (once decided)."""

    register_entry: RegisterOut | None = Field(alias="register")
    decided_on: date | None
    participants: str | None


class StockRow(BaseModel):
    """Open (not closed, not void) major hazards of one area and everything below it; with `own_level`,
    only those placed on the area itself (the last row: the rows below it do not count them)."""

    area_code: str
    name: str
    own_level: bool = False
    suspected_open: int
    confirmed_open: int
    total_open: int
