from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.models.base import Base, JSONType, created_at_column


class ChecklistTemplate(Base):
    """One version of a checklist. Rows are never edited: a change is a new version, so past inspections
    keep pointing at exactly what the inspector saw."""

    __tablename__ = "checklist_templates"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    # venue_kinds and items as the API shows them; items keep their regulatory source and GB 35181 flag.
    venue_kinds: Mapped[list[str]] = mapped_column(JSONType)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    source: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = created_at_column()
