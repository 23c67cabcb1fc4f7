from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from api.deps import BearerDep, CurrentUser, ReadSessionmakerDep, SessionDep, SettingsDep, get_token_cache
from api.schemas.auth import MeOut, TokenOut
from api.services import auth as auth_service
from api.services.ratelimit import client_address, login_guard_for

router = APIRouter(tags=["auth"])


@router.post("/auth/token", response_model=TokenOut)
async def issue_token(
    request: Request,
    session: SessionDep,
    read_maker: ReadSessionmakerDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
) -> TokenOut:
    token, expires_at = await auth_service.authenticate(
        session,
        read_maker,
        settings,
        login_guard_for(request),
        username,
        password,
        client_address(request),
    )
    return TokenOut(access_token=token, expires_at=expires_at)


@router.post("/auth/logout", status_code=204)
async def logout(
    request: Request, session: SessionDep, _user: CurrentUser, credentials: BearerDep
) -> Response:
    assert credentials is not None  # CurrentUser has already required it
    await auth_service.revoke(session, credentials.credentials)
    get_token_cache(request).evict(credentials.credentials)
    return Response(status_code=204)


@router.get("/me", response_model=MeOut)
async def me(user: CurrentUser) -> MeOut:
    return MeOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        area_codes=list(user.area_codes),
    )
