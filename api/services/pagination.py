"""Keyset pagination: a cursor is the sort key of the last row seen, so pages never shift under inserts."""

from __future__ import annotations

import base64
import json
from typing import Any

from api.errors import Unprocessable

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(limit, MAX_LIMIT))


def encode_cursor(*values: Any) -> str:
    raw = json.dumps([str(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, parts: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, json.JSONDecodeError) as exc:
        raise Unprocessable("The cursor is not one this server gave out.", code="invalid_cursor") from exc
    if not isinstance(values, list) or len(values) != parts or not all(isinstance(v, str) for v in values):
        raise Unprocessable("The cursor is not one this server gave out.", code="invalid_cursor")
    return values
