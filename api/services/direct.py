"""Statements sent straight to asyncpg on PostgreSQL, for the two hot writes (a photo, an inspection).

Through SQLAlchemy a one-row write is three round trips (BEGIN, the statement, COMMIT) and a few hundred
microseconds of Python per statement. A single statement sent alone on the request's pooled connection is
its own transaction: PostgreSQL commits it, WAL flushed, before it answers. When the request has already
begun a transaction on that connection, the statement simply joins it and commits with the rest, so either
way the request's writes are atomic and, with PostgreSQL's default `synchronous_commit = on` (which a
deployment must keep), nothing is acknowledged before it is durable.

Only statements that are complete writes on their own go this way; everything else uses the session. What
SQLAlchemy would do around a statement is done here too: values pass through the columns' own bind
processing (an aware UTC time, or an error for a naive one), a length limit is enforced by the column rather
than cut by a cast, a failure never carries the statement's values into a log, and a connection that broke
is invalidated rather than handed to the next request.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy import String, Table, TypeDecorator
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

_DIALECT = postgresql.asyncpg.dialect()


def applies(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


class StatementFailed(Exception):
    """A direct statement failed. Carries the error's class and SQLSTATE, never the statement's values (what
    a reporter or an inspector wrote), as SQLAlchemy's `hide_parameters` does for every other statement."""


async def fetchval(session: AsyncSession, sql: str, *args: Any) -> Any:
    """Runs one statement on the request's connection; returns the first column of its first row."""
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    if driver is None:  # the pool handed out a connection that was already closed
        raise StatementFailed("the database connection is closed")
    try:
        return await driver.fetchval(sql, *args)
    except asyncpg.PostgresError as exc:  # the server's answer: the connection is usable, unless it says not
        if isinstance(exc, asyncpg.PostgresConnectionError):
            await connection.invalidate(exc)
        raise StatementFailed(f"{type(exc).__name__} (SQLSTATE {exc.sqlstate})") from None
    except BaseException as exc:
        # The driver's own failure (a closed or confused connection) or a cancellation mid-statement: the
        # connection's state is unknown. Without pre-ping, handing it back to the pool would fail the next
        # request too.
        with contextlib.suppress(Exception):
            await connection.invalidate(exc if isinstance(exc, Exception) else None)
        if isinstance(exc, Exception):
            raise StatementFailed(f"{type(exc).__name__}: the database connection failed") from None
        raise


_TYPES: dict[tuple[str, str], str] = {}


def sql_type(table: Table, column: str) -> str:
    """The column's type in PostgreSQL's words, for a cast of a positional parameter. Text types are cast
    without their length: an explicit cast to varchar(n) would cut a longer value silently, while the
    assignment to the column refuses it, as an insert through SQLAlchemy does."""
    key = (table.name, column)
    if (known := _TYPES.get(key)) is None:
        column_type = table.c[column].type
        known = "text" if isinstance(column_type, String) else str(column_type.compile(dialect=_DIALECT))
        _TYPES[key] = known
    return known


def is_json(table: Table, column: str) -> bool:
    return sql_type(table, column) in ("JSON", "JSONB")


_PROCESSORS: dict[tuple[str, str], Callable[[Any], Any] | None] = {}


def _processor(table: Table, column: str) -> Callable[[Any], Any] | None:
    """The column type's own bind processing (UTCDateTime's check that a time is aware), if it has one."""
    key = (table.name, column)
    if key not in _PROCESSORS:
        column_type = table.c[column].type
        if isinstance(column_type, TypeDecorator):
            decorator = column_type
            _PROCESSORS[key] = lambda value: decorator.process_bind_param(value, _DIALECT)
        else:
            _PROCESSORS[key] = None
    return _PROCESSORS[key]


def wire_all(table: Table, column: str, values: list[Any]) -> list[Any]:
    """Values as asyncpg takes them for the column: through the column type's bind processing; JSON as
    text (the codec SQLAlchemy's dialect installs on each connection encodes text); anything else as it is."""
    if (process := _processor(table, column)) is not None:
        values = [process(v) for v in values]
    if is_json(table, column):
        return [None if v is None else json.dumps(v) for v in values]
    return values


def wire(table: Table, column: str, value: Any) -> Any:
    """`wire_all` of one value."""
    return wire_all(table, column, [value])[0]


_INSERT_ONCE: dict[tuple[str, tuple[str, ...]], str] = {}


async def insert_row_once(session: AsyncSession, table: Table, row: dict[str, Any]) -> bool:
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
    return await fetchval(session, sql, *(wire(table, c, row[c]) for c in columns)) is not None
