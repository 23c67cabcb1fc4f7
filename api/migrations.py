from __future__ import annotations

import asyncio

from alembic.config import Config

from alembic import command
from api.config import Settings
from api.db import create_engine, create_sessionmaker
from api.resources import resource_path
from api.services import checklists


def alembic_config(settings: Settings) -> Config:
    cfg = Config(str(resource_path("alembic.ini")))
    cfg.set_main_option("script_location", str(resource_path("alembic")))
    cfg.attributes["database_url"] = settings.effective_database_url
    return cfg


def upgrade(settings: Settings) -> None:
    """Applies the migrations (Alembic is the only thing that creates or changes the schema)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings), "head")


async def seed(settings: Settings) -> list[tuple[str, int]]:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            added = await checklists.seed_builtin(session)
            await session.commit()
        return added
    finally:
        await engine.dispose()


async def migrate(settings: Settings) -> list[tuple[str, int]]:
    # Alembic's env runs its own event loop; give it a thread so callers may already be inside one.
    await asyncio.to_thread(upgrade, settings)
    return await seed(settings)
