from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from api.models.base import Base, created_at_column


class Photo(Base):
    __tablename__ = "photos"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # SHA-256 of the bytes as uploaded: decides 200 (same bytes again) versus 409 (other bytes) on a retry.
    sha256: Mapped[str] = mapped_column(String(64))
    # Content addresses of the stored, metadata-free image and its thumbnail.
    file_key: Mapped[str] = mapped_column(String(100))
    thumbnail_key: Mapped[str] = mapped_column(String(100))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    # "inspection" photos keep capture time and GPS as evidence; "report" photos keep nothing.
    purpose: Mapped[str] = mapped_column(String(20), default="inspection")
    captured_at: Mapped[datetime | None]
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lng: Mapped[float | None] = mapped_column(Float)
    # Metres, as the phone reported its position's accuracy with the photo.
    gps_accuracy_m: Mapped[float | None] = mapped_column(Float)
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    # The area of what the photo documents, set when it is attached to an inspection, finding or report;
    # until then only its uploader (and an admin) can see it.
    area_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"))
    created_at: Mapped[datetime] = created_at_column()
