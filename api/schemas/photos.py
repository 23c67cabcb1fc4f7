from __future__ import annotations

import json
import uuid
from datetime import UTC
from typing import Any

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
    accuracy_m: float | None = None


def photo_json(row: dict[str, Any]) -> bytes:
    """The wire form of PhotoOut, written directly (tests/test_photos_api.py checks it against the model)."""
    captured_at = row["captured_at"]
    doc = {
        "id": str(row["id"]),
        "sha256": row["sha256"],
        "width": row["width"],
        "height": row["height"],
        "url": row["url"],
        "thumbnail_url": row["thumbnail_url"],
        "captured_at": None if captured_at is None else captured_at.astimezone(UTC).isoformat(),
        "lat": row["lat"],
        "lng": row["lng"],
        "accuracy_m": row["accuracy_m"],
    }
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()
