from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.models.base import Base, JSONType, created_at_column


class Inspection(Base):
    """One submitted checklist. The answers stay with it as JSON: only a failed item becomes a row
    of its own (the finding), which keeps the table at one row per visit."""

    __tablename__ = "inspections"
    __table_args__ = (
        Index("ix_inspections_venue_id_submitted_at", "venue_id", "submitted_at"),
        # The keyset order of GET /inspections (newest first).
        Index("ix_inspections_created_at_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    venue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("venues.id"))
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    checklist_code: Mapped[str] = mapped_column(String(64))
    checklist_version: Mapped[int] = mapped_column(Integer)
    inspector_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime]
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    answers: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    # Hash of the canonical request body: the same body again is a retry, another body is a conflict.
    body_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
