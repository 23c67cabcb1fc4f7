from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.models.base import Base, JSONType, created_at_column


class Report(Base):
    """A public hazard report (举报). Holds nothing that identifies the reporter except the optional
    contact they chose to give for the reward, which only an admin can read."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_status_created_at", "status", "created_at"),
        # A trigger on SQLite (migration 0007), like the findings' status.
        CheckConstraint(
            "status IN ('received', 'accepted', 'resolved', 'rejected', 'duplicate')", name="status"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # HMAC-SHA256 of the receipt under the server secret; the receipt itself is never stored.
    receipt_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # HMAC of the client's draft id: the same draft sent twice makes one report.
    draft_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(20), index=True)
    description: Mapped[str] = mapped_column(Text)
    location_text: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    area_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"))
    # Sealed (api/services/sealing.py): a database dump does not tell who reported whom.
    contact: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    reply: Mapped[str | None] = mapped_column(Text)
    photo_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # findings.report_id already points here with a foreign key; these two point back without one, so that
    # the schema has no cycle that SQLite could only build by rebuilding tables.
    finding_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    duplicate_of_report_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reports.id"))
    duplicate_of_finding_id: Mapped[uuid.UUID | None]
    reward_eligible: Mapped[bool | None]
    reward_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    reward_paid_at: Mapped[datetime | None]
    # Public "updated_at": coarse on purpose (set on status change only), never the submission second.
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime]


class ReportEvent(Base):
    __tablename__ = "report_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = created_at_column()
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
