from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.errors import AppError, Forbidden, Unauthorized
from api.services import auth as auth_service
from api.services.auth import Principal
from api.storage import PhotoStorage


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    # The one transaction of a request: services flush, this commits once before the response is sent.
    async with request.app.state.sessionmaker() as session:
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


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_storage(request: Request) -> PhotoStorage:
    storage: PhotoStorage = request.app.state.storage
    return storage


# scope="function": the session closes (and commits) when the endpoint returns, before the reply is sent,
# so a client never sees success for something that was not committed.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
StorageDep = Annotated[PhotoStorage, Depends(get_storage)]

_bearer = HTTPBearer(auto_error=False)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def get_current_user(request: Request, credentials: BearerDep) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Sign in and send the token as 'Authorization: Bearer …'.")
    # A short transaction of its own: the request's transaction starts at its first real query, so an
    # upload being decoded holds no connection (and, on SQLite, no write lock) while it waits.
    async with request.app.state.sessionmaker() as session:
        principal = await auth_service.principal_for_token(session, credentials.credentials)
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
