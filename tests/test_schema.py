"""The models and the migrations agree: a database built by Alembic alone has exactly the schema the
SQLAlchemy models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from api.db import create_engine
from api.migrations import alembic_config, migrate
from api.models import Base
from tests.conftest import BACKENDS, _drop_pg_database, _pg_database, make_settings


def _diff(connection: Any) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


def _state(connection: Any) -> tuple[set[str], str | None]:
    tables = set(inspect(connection).get_table_names())
    return tables, MigrationContext.configure(connection).get_current_revision()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_migrated_schema_matches_the_models(backend: str, tmp_path: Path) -> None:
    db_name = f"safegrid_schema_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = await _pg_database(db_name) if backend == "postgresql" else None
    settings = make_settings(tmp_path, url)
    try:
        loaded = await migrate(settings)
        assert {code for code, _ in loaded} == {"small_venue_fire", "self_built_house", "fire_exits"}
        engine = create_engine(settings)
        try:
            async with engine.connect() as conn:
                diff = await conn.run_sync(_diff)
                tables, revision = await conn.run_sync(_state)
        finally:
            await engine.dispose()
        assert diff == [], "\n".join(map(str, diff))
        assert tables == set(Base.metadata.tables) | {"alembic_version"}
        head = ScriptDirectory.from_config(alembic_config(settings)).get_current_head()
        assert revision == head
        # Migrating again is a no-op and loads no checklist twice.
        assert await migrate(settings) == []
    finally:
        if backend == "postgresql":
            await _drop_pg_database(db_name)


def test_one_linear_history() -> None:
    from api.config import Settings

    script = ScriptDirectory.from_config(alembic_config(Settings()))
    heads = script.get_heads()
    assert len(heads) == 1, heads
    for rev in script.walk_revisions():
        assert rev.down_revision is None or isinstance(rev.down_revision, str), rev.revision
