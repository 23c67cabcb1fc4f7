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
    # What a failed item means, in plain words for the owner (the finding's title); absent in templates
    # loaded before it existed.
    hazard: str | None = None
    # The venue kinds the item can apply to (API codes); for other kinds it is not shown and counts as 不适用.
    kinds: list[str] | None = None
    # 立即整改: fix the same day, before the inspector leaves.
    immediate: bool = False
    # 停止使用、人员撤离: a structural danger; the finding is major.
    stop_use: bool = False
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
