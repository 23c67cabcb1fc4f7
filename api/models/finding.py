from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.models.base import Base, JSONType, created_at_column


class Finding(Base):
    __tablename__ = "findings"
    __table_args__ = (
        # One finding per failed item of an inspection, enforced by the database so retries cannot double it.
        UniqueConstraint("inspection_id", "item_code"),
        Index("ix_findings_area_code_status_deadline", "area_code", "status", "deadline"),
        Index("ix_findings_status_deadline", "status", "deadline"),
        Index("ix_findings_venue_id_created_at", "venue_id", "created_at"),
        Index("ix_findings_created_at_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    venue_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("venues.id"))
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))
    inspection_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("inspections.id"))
    report_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reports.id"), index=True)
    source: Mapped[str] = mapped_column(String(20))
    item_code: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10), index=True)
    # The item's GB 35181 flag ("true", "combination", "false"), kept so combinations can be counted.
    gb35181_flag: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    deadline: Mapped[date] = mapped_column(Date)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    photo_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    # The first day the finding stood open past its deadline, if it ever did; an extension granted after
    # that does not make it punctual again.
    overdue_since: Mapped[date | None] = mapped_column(Date)
    # Whether the accepted rectification was submitted by the end of the deadline's day (Asia/Shanghai)
    # and the finding was never overdue: what the yearly assessment (考核) of a village counts, fixed at
    # closing so that nothing later rewrites it.
    closed_on_time: Mapped[bool | None]
    # The current rectification (整改): who submitted it decides who may not verify it.
    rectified_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    rectified_at: Mapped[datetime | None]
    rectification_note: Mapped[str | None] = mapped_column(Text)
    rectification_photo_ids: Mapped[list[str] | None] = mapped_column(JSONType)


class FindingEvent(Base):
    """Append-only audit trail: the record of what happened to a finding."""

    __tablename__ = "finding_events"
    __table_args__ = (UniqueConstraint("finding_id", "seq"), UniqueConstraint("client_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    finding_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = created_at_column()
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    photo_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # before/after of the fields the action changed (deadline, escalation level, ...).
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # The id the client made for this transition: a resend carrying it is answered, never applied twice.
    client_id: Mapped[uuid.UUID | None]
