"""Statements sent straight to asyncpg on PostgreSQL, for the two hot writes (a photo, an inspection).

Through SQLAlchemy a one-row write is three round trips (BEGIN, the statement, COMMIT) and a few hundred
microseconds of Python per statement. A single statement sent alone on the request's pooled connection is
its own transaction: PostgreSQL commits it, WAL flushed, before it answers. When the request has already
begun a transaction on that connection, the statement simply joins it and commits with the rest, so either
way the request's writes are atomic and nothing is acknowledged before it is durable.

Only statements that are complete writes on their own go this way; everything else uses the session.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

_DIALECT = postgresql.asyncpg.dialect()


def applies(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def connection(session: AsyncSession) -> Any:
    """The asyncpg connection under the session (checked out from the pool for this request)."""
    pooled = await (await session.connection()).get_raw_connection()
    return pooled.driver_connection


_TYPES: dict[tuple[str, str], str] = {}


def sql_type(table: Table, column: str) -> str:
    """The column's type in PostgreSQL's words, for a cast of a positional parameter."""
    key = (table.name, column)
    if (known := _TYPES.get(key)) is None:
        known = _TYPES[key] = str(table.c[column].type.compile(dialect=_DIALECT))
    return known


def is_json(table: Table, column: str) -> bool:
    return sql_type(table, column) in ("JSON", "JSONB")


def wire(table: Table, column: str, value: Any) -> Any:
    """A value as asyncpg takes it for the column: JSON as text (the codec SQLAlchemy's dialect installs
    on each connection encodes text), everything else as it is."""
    if value is not None and is_json(table, column):
        return json.dumps(value)
    return value


def wire_all(table: Table, column: str, values: list[Any]) -> list[Any]:
    """`wire` of a column's values (an array parameter)."""
    if is_json(table, column):
        return [None if v is None else json.dumps(v) for v in values]
    return values


_INSERT_ONCE: dict[tuple[str, tuple[str, ...]], str] = {}


async def insert_once(session: AsyncSession, table: Table, row: dict[str, Any]) -> bool:
    """`INSERT ... ON CONFLICT (id) DO NOTHING RETURNING id` of one row: True when it went in, False when
    the id was taken (a retry, or the loser of a race: ON CONFLICT waited for the winner)."""
    columns = tuple(row)
    key = (table.name, columns)
    if (sql := _INSERT_ONCE.get(key)) is None:
        casts = ", ".join(f"${n}::{sql_type(table, c)}" for n, c in enumerate(columns, 1))
        sql = _INSERT_ONCE[key] = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({casts}) "
            "ON CONFLICT (id) DO NOTHING RETURNING id"
        )
    conn = await connection(session)
    return await conn.fetchval(sql, *(wire(table, c, row[c]) for c in columns)) is not None
