"""Keyset pagination: a cursor is the sort key of the last row seen, so pages never shift under inserts."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

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


class _NewestFirst(Protocol):
    created_at: Any
    id: Any


def _keyset(
    stmt: Select[Any],
    created_at: InstrumentedAttribute[datetime],
    id_column: InstrumentedAttribute[uuid.UUID],
    limit: int,
    cursor: str | None,
) -> Select[Any]:
    if cursor:
        created, last_id = decode_cursor(cursor, 2)
        try:
            c_at, c_id = datetime.fromisoformat(created), uuid.UUID(last_id)
            if c_at.tzinfo is None:  # every cursor this server gives out carries the offset
                raise ValueError("naive cursor time")
        except ValueError as exc:
            raise Unprocessable("The cursor is not one this server gave out.", code="invalid_cursor") from exc
        stmt = stmt.where(or_(created_at < c_at, and_(created_at == c_at, id_column < c_id)))
    return stmt.order_by(created_at.desc(), id_column.desc()).limit(limit + 1)


async def newest_first(
    session: AsyncSession,
    stmt: Select[Any],
    created_at: InstrumentedAttribute[datetime],
    id_column: InstrumentedAttribute[uuid.UUID],
    limit: int | None,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    """One page of `stmt` ordered by (created_at, id) descending, and the cursor of the next page."""
    limit = clamp_limit(limit)
    stmt = _keyset(stmt, created_at, id_column, limit, cursor)
    rows: list[_NewestFirst] = list((await session.scalars(stmt)).all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].created_at.isoformat(), rows[-1].id)


async def newest_first_rows(
    session: AsyncSession,
    stmt: Any,
    created_at: InstrumentedAttribute[datetime],
    id_column: InstrumentedAttribute[uuid.UUID],
    limit: int | None,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    """Like newest_first for a statement of several entities (the first one is paged): whole rows, so
    what is joined to each comes in the same query."""
    limit = clamp_limit(limit)
    stmt = _keyset(stmt, created_at, id_column, limit, cursor)
    rows = list((await session.execute(stmt)).all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    first: _NewestFirst = rows[-1][0]
    return rows, encode_cursor(first.created_at.isoformat(), first.id)
