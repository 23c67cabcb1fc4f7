from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.config import Settings
from api.errors import AppError, Forbidden, Unauthorized
from api.services import token_cache
from api.services.auth import Principal
from api.services.token_cache import TokenCache
from api.storage import PhotoStorage


@asynccontextmanager
async def _transaction(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    # The one transaction of a request: services flush, this commits once before the response is sent.
    async with maker() as session:
        try:
            yield session
        except AppError as exc:
            if exc.keep_changes:
                await session.commit()
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    # A GET only reads: its transaction takes no write lock (on SQLite), so an export or a photo download
    # never holds up an inspector's upload. A GET that must write says so with WriteSessionDep.
    reads_only = request.method in ("GET", "HEAD")
    maker = request.app.state.read_sessionmaker if reads_only else request.app.state.sessionmaker
    async with _transaction(maker) as session:
        yield session


async def get_write_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with _transaction(request.app.state.sessionmaker) as session:
        yield session


# Async although they only read app.state: FastAPI runs a plain `def` dependency in the thread pool, a
# thread hop per request for nothing.
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_read_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = request.app.state.read_sessionmaker
    return maker


async def get_storage(request: Request) -> PhotoStorage:
    storage: PhotoStorage = request.app.state.storage
    return storage


# scope="function": the session closes (and commits) when the endpoint returns, before the reply is sent,
# so a client never sees success for something that was not committed.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
WriteSessionDep = Annotated[AsyncSession, Depends(get_write_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
StorageDep = Annotated[PhotoStorage, Depends(get_storage)]
# For a short read of its own, outside the request's transaction (before blocking work).
ReadSessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_read_sessionmaker)]

_bearer = HTTPBearer(auto_error=False)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def get_token_cache(request: Request) -> TokenCache:
    """The app's token cache (one per app, so each process and each test app has its own)."""
    cache: TokenCache | None = getattr(request.app.state, "token_cache", None)
    if cache is None:
        cache = request.app.state.token_cache = TokenCache()
    return cache


async def get_current_user(request: Request, credentials: BearerDep) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Sign in and send the token as 'Authorization: Bearer …'.")

    async def lookup(token: str) -> tuple[Principal, datetime] | None:
        # A short transaction of its own: the request's transaction starts at its first real query, so an
        # upload being decoded holds no connection (and, on SQLite, no write lock) while it waits.
        async with request.app.state.read_sessionmaker() as session:
            return await token_cache.lookup(session, token)

    principal = await get_token_cache(request).principal(credentials.credentials, lookup)
    if principal is None:
        raise Unauthorized("The token is unknown, expired or revoked.", code="invalid_token")
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def _require(role: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def dependency(user: CurrentUser) -> Principal:
        if not user.at_least(role):
            raise Forbidden(f"This needs the {role} role or higher.", code="role_required")
        return user

    return dependency


InspectorUser = Annotated[Principal, Depends(_require("inspector"))]
SupervisorUser = Annotated[Principal, Depends(_require("supervisor"))]
AdminUser = Annotated[Principal, Depends(_require("admin"))]
