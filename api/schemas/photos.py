from __future__ import annotations

import uuid

from pydantic import BaseModel

from api.schemas.common import OutDatetime


class PhotoOut(BaseModel):
    id: uuid.UUID
    sha256: str
    width: int
    height: int
    url: str
    thumbnail_url: str
    captured_at: OutDatetime | None = None
    lat: float | None = None
    lng: float | None = None
