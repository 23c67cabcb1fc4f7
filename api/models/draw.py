from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.models.base import Base, JSONType, created_at_column


class Draw(Base):
    """A 双随机 draw: random targets from a population of venues, random inspectors for each.

    The seed and snapshots of the population and of the eligible inspectors are kept, so anyone can run
    the draw again (`safegrid draw verify ID`) and get the same targets and inspectors."""

    __tablename__ = "draws"
    __table_args__ = (Index("ix_draws_created_at_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # The area whose venues were drawn from: decides who may see the draw.
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    kinds: Mapped[list[str]] = mapped_column(JSONType)
    risk_levels: Mapped[list[str]] = mapped_column(JSONType)
    requested_count: Mapped[int | None] = mapped_column(Integer)
    ratio: Mapped[float | None] = mapped_column(Float)
    inspectors_per_target: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(40))
    # 128 bits from `secrets`, as 32 hex digits.
    seed: Mapped[str] = mapped_column(String(64))
    # [[venue_id, area_path], ...] in the stable order the draw ran over (ascending venue id).
    population: Mapped[list[Any]] = mapped_column(JSONType)
    # [[user_id, [area_path, ...]], ...] in ascending user id: who could be drawn, and where each works.
    inspectors: Mapped[list[Any]] = mapped_column(JSONType)
    # Hash of the canonical request: the same request again is a retry, another one a conflict.
    body_sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()
    # A draw made by mistake is voided (作废), never deleted or drawn again in secret: it stays on record and
    # on its public page with the reason, and its assignments stop sending anyone anywhere.
    voided_at: Mapped[datetime | None]
    voided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    void_reason: Mapped[str | None] = mapped_column(Text)


class DrawAssignment(Base):
    """One drawn inspector for one drawn venue: what that inspector must inspect, by the draw's due date."""

    __tablename__ = "draw_assignments"
    __table_args__ = (Index("ix_draw_assignments_inspector_id_due_on", "inspector_id", "due_on"),)

    draw_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("draws.id", ondelete="CASCADE"), primary_key=True)
    venue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("venues.id"), primary_key=True)
    inspector_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    # The target's place in the draw (0 = drawn first) and the inspector's place among its inspectors.
    position: Mapped[int] = mapped_column(Integer)
    slot: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
