from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from api.config import Settings, server_processes


def create_engine(settings: Settings, **kwargs: Any) -> AsyncEngine:
    url = make_url(settings.effective_database_url)
    # A failing statement's parameters would carry what a reporter wrote into the error log.
    kwargs.setdefault("hide_parameters", True)
    if url.get_backend_name() == "sqlite":
        if url.database:
            from pathlib import Path

            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    # Enough kept connections for a busy process, so a burst does not open and close overflow connections
    # (each a new PostgreSQL backend). No pre-ping: it costs a round trip per checkout; a connection that
    # died is noticed by its first statement, and the request fails cleanly like any other error.
    # N server processes share PostgreSQL's connection limit (100 by default): up to 64 kept connections
    # in all, never fewer than 4 a process.
    processes = server_processes()
    kwargs.setdefault("pool_size", max(4, min(16, 64 // processes)))
    kwargs.setdefault("max_overflow", max(4, min(16, 64 // processes)))
    kwargs.setdefault("pool_recycle", 3600)
    return create_async_engine(url, **kwargs)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's implicit BEGIN handling breaks SAVEPOINT and BEGIN IMMEDIATE; take control of it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a finding acknowledged to a phone must survive a power cut in the township office.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the lock up front so two requests never deadlock upgrading read locks; readers
        # take none, so in WAL mode they never wait for a writer, nor make one wait.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


# Execution option marking sessions that only read (GET requests, the token check).
READ_ONLY = "safegrid_read_only"


def create_sessionmaker(engine: AsyncEngine, *, read_only: bool = False) -> async_sessionmaker[AsyncSession]:
    bind = engine.execution_options(**{READ_ONLY: True}) if read_only else engine
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False)
