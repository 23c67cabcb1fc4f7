from __future__ import annotations

from pydantic import BaseModel


class AreaOut(BaseModel):
    code: str
    name: str
    parent_code: str | None
    level: str


class CodeName(BaseModel):
    code: str
    name: str


class ChecklistItemOut(BaseModel):
    code: str
    prompt: str
    category: str
    major: bool
    deadline_days: int
    photo_required: bool
    # The GB 35181 flag ("true", "combination", "false") and the sources behind the item.
    gb35181: str
    sources: list[str]
    notes: str | None = None


class ChecklistOut(BaseModel):
    code: str
    version: int
    title: str
    venue_kinds: list[str]
    items: list[ChecklistItemOut]
