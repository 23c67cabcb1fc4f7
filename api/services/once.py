"""Exactly once under races: ids are made by the client, the primary key is the arbiter."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from api.models import Base

M = TypeVar("M", bound=Base)


async def insert_or_winner(session: AsyncSession, row: M, *, lock: bool = False) -> tuple[M, bool]:
    """Inserts `row` under a savepoint. Returns (row, True), or, when a concurrent request inserted a row
    under the same key first, (that row, False), so the caller answers as it would answer a retry."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        # Rolling back the savepoint has usually expunged the pending row already.
        if row in session:
            session.expunge(row)
        winner = await session.get(type(row), _primary_key(row), populate_existing=True, with_for_update=lock)
        if winner is None:
            raise
        return winner, False
    return row, True


def _primary_key(row: Base) -> Any:
    values = row.__mapper__.primary_key_from_instance(row)
    return values[0] if len(values) == 1 else tuple(values)


_insert_once: dict[tuple[str, str], Insert] = {}


def insert_once(session: AsyncSession, table: Table) -> Insert:
    """`INSERT INTO table ... ON CONFLICT (id) DO NOTHING RETURNING id`, built once per table and
    dialect and executed with the row as parameters (so SQLAlchemy's statement cache serves it): a row
    comes back when this request's insert went in, none when the id was taken. The primary key is the
    arbiter of exactly once, without a savepoint."""
    dialect = session.get_bind().dialect.name
    stmt = _insert_once.get((table.name, dialect))
    if stmt is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(table).on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id)
        _insert_once[(table.name, dialect)] = stmt
    return stmt
