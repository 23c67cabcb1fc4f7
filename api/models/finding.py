from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
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
        # The readable serial (FX-2026-000123) names one finding for good.
        Index("ix_findings_number", "number", unique=True),
        Index("ix_findings_major_status_status", "major_status", "status"),
        Index("ix_findings_status_verification_due", "status", "verification_due"),
        # PostgreSQL holds these as CHECK constraints; SQLite, which cannot add one without rebuilding the
        # table (and a rebuild would cascade-delete the events), as triggers (migration 0007).
        CheckConstraint("status IN ('open', 'submitted', 'closed', 'void')", name="status"),
        CheckConstraint(
            "major_status IS NULL OR major_status IN ('suspected', 'confirmed', 'downgraded')",
            name="major_status",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # "FX-<year of creation in Asia/Shanghai>-<six-digit serial of that year>", given by the server.
    number: Mapped[str | None] = mapped_column(String(20))
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
    # 疑似重大 (suspected) → 重大 (confirmed) or downgraded by a supervisor's decision; null for general ones.
    major_status: Mapped[str | None] = mapped_column(String(12))
    # The inspector's note on the failed item, or the report's description for a report's finding.
    note: Mapped[str | None] = mapped_column(Text)
    # The place: a report's description and position, or the inspection's position.
    location_text: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
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
    # The day (Asia/Shanghai) by which the submitted rectification must be verified (复查期限).
    verification_due: Mapped[date | None] = mapped_column(Date)


class FindingCounter(Base):
    """The last serial given out per year: incremented in the transaction that creates the findings, so
    two transactions never take the same number (the row is the lock) and an abandoned one leaves no gap."""

    __tablename__ = "finding_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class MajorHazard(Base):
    """A supervisor's decision on a suspected major hazard (疑似重大 → 重大 or downgraded) and, for a
    confirmed one, its register entry (一单四制, the five 落实: responsibility, measures, funds, deadline,
    contingency plan) with the supervising official (督办人)."""

    __tablename__ = "major_hazards"

    finding_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("findings.id", ondelete="CASCADE"), primary_key=True
    )
    decision: Mapped[str] = mapped_column(String(12))
    decided_on: Mapped[date] = mapped_column(Date)
    participants: Mapped[str] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    responsible_person: Mapped[str | None] = mapped_column(String(200))
    measures: Mapped[str | None] = mapped_column(Text)
    funds: Mapped[str | None] = mapped_column(String(200))
    deadline: Mapped[date | None] = mapped_column(Date)
    contingency_plan: Mapped[str | None] = mapped_column(Text)
    supervising_official: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime]


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
