from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, delete, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from api.config import Settings
from api.errors import TooManyRequests, Unauthorized
from api.models import Area, AuthToken, LoginThrottle, User, UserArea
from api.services.ratelimit import LoginGuard, lock_seconds
from api.timeutil import utcnow

# OWASP Password Storage Cheat Sheet, Argon2id first configuration: m=19 MiB, t=2, p=1.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = _hasher.hash("not-a-password")

ROLES = ("inspector", "supervisor", "admin")
MIN_PASSWORD_LENGTH = 8
_ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}


@dataclass(frozen=True)
class Principal:
    """The signed-in user with what authorization needs: role and the paths of their areas."""

    id: uuid.UUID
    username: str
    display_name: str
    role: str
    area_codes: tuple[str, ...]
    area_paths: tuple[str, ...] = field(default=())

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def at_least(self, role: str) -> bool:
        return _ROLE_RANK[self.role] >= _ROLE_RANK[role]


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _throttle_key(username: str) -> str:
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()


def _retry_after(wait: float) -> TooManyRequests:
    return TooManyRequests("Too many failed sign-ins; try again later.", retry_after=max(1, math.ceil(wait)))


async def _count_failure(session: AsyncSession, key: str, settings: Settings, now: datetime) -> None:
    """Counts a failed sign-in of a username in one atomic upsert (parallel processes cannot lose a
    count), then locks the username for a short, doubling time once past its threshold."""
    window = timedelta(seconds=settings.login_window_seconds)
    table = LoginThrottle.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    expired = table.c.window_start <= literal(now - window, table.c.window_start.type)
    stmt = (
        dialect.insert(table)
        .values(key=key, failures=1, window_start=now)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "failures": case((expired, 1), else_=table.c.failures + 1),
                "window_start": case(
                    (expired, literal(now, table.c.window_start.type)), else_=table.c.window_start
                ),
            },
        )
        .returning(table.c.failures)
    )
    failures = (await session.execute(stmt)).scalar_one()
    lock = lock_seconds(failures, settings.login_max_failures_per_user, settings.login_user_lock_max_seconds)
    if lock:
        await session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == key)
            .values(locked_until=now + timedelta(seconds=lock))
        )


async def authenticate(
    session: AsyncSession,
    read_maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    guard: LoginGuard,
    username: str,
    password: str,
    client: str,
) -> tuple[str, datetime]:
    """Checks the password and issues a new opaque token; returns (token, expires_at).

    Throttled four ways (see Settings): the username from this address, this address, the username from
    everywhere (in the database, shared by every process) and everyone; a locked key answers 429 with the
    seconds to wait. The password is checked with no transaction open: on SQLite a flood of failed
    sign-ins must never hold the write lock that inspections need. Only then is the outcome written (a
    failure is kept although the request answers 401).
    """
    name = username.strip()
    ukey = _throttle_key(name)
    pair = guard.pairs.key(ukey, client)
    address = guard.clients.key(client)
    everyone = guard.everyone.key("*")
    async with guard.turn(ukey):
        now = utcnow()
        async with read_maker() as reader:
            row = await reader.get(LoginThrottle, ukey)
            user = await reader.scalar(select(User).where(User.username == name))
        db_wait = (row.locked_until - now).total_seconds() if row and row.locked_until else 0.0
        wait = max(
            guard.pairs.wait(pair), guard.clients.wait(address), guard.everyone.wait(everyone), db_wait
        )
        if wait > 0:
            raise _retry_after(wait)
        # Verify against a dummy hash for unknown users so timing does not reveal which usernames exist.
        ok = await _verify(user.password_hash if user else _DUMMY_HASH, password)
        if not (user and ok and user.active):
            guard.pairs.fail(pair)
            guard.clients.fail(address)
            guard.everyone.fail(everyone)
            await _count_failure(session, ukey, settings, utcnow())
            raise Unauthorized("Wrong username or password.", code="invalid_credentials", keep_changes=True)
        guard.pairs.reset(pair)
        if row is not None and row.failures:
            await session.execute(
                update(LoginThrottle).where(LoginThrottle.key == ukey).values(failures=0, locked_until=None)
            )
        token = secrets.token_urlsafe(32)
        expires_at = now + timedelta(hours=settings.token_ttl_hours)
        session.add(AuthToken(token_hash=token_digest(token), user_id=user.id, expires_at=expires_at))
        await session.flush()
        return token, expires_at


async def principal_for_token(session: AsyncSession, token: str) -> Principal | None:
    user = await session.scalar(
        select(User)
        .join(AuthToken, AuthToken.user_id == User.id)
        .where(
            AuthToken.token_hash == token_digest(token),
            AuthToken.revoked_at.is_(None),
            AuthToken.expires_at > utcnow(),
            User.active.is_(True),
        )
    )
    if user is None:
        return None
    return await principal_for_user(session, user)


async def principal_for_user(session: AsyncSession, user: User) -> Principal:
    rows = (
        await session.execute(
            select(Area.code, Area.path)
            .join(UserArea, UserArea.area_code == Area.code)
            .where(UserArea.user_id == user.id)
            .order_by(Area.code)
        )
    ).all()
    return Principal(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        area_codes=tuple(code for code, _ in rows),
        area_paths=tuple(sorted(path for _, path in rows)),
    )


async def revoke(session: AsyncSession, token: str) -> None:
    await session.execute(
        update(AuthToken)
        .where(AuthToken.token_hash == token_digest(token), AuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    area_codes: list[str] | None = None,
) -> User:
    """Creates or updates a user (the CLI and the demo call it repeatedly; it must be safe to re-run)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if role != "admin" and not area_codes:
        raise ValueError("an inspector or supervisor needs at least one area")
    codes = sorted(set(area_codes or []))
    known = set((await session.scalars(select(Area.code).where(Area.code.in_(codes)))).all())
    if missing := [c for c in codes if c not in known]:
        raise ValueError(f"unknown area(s): {', '.join(missing)}")
    user = await session.scalar(
        select(User).where(User.username == username).options(selectinload(User.areas))
    )
    if user is None:
        user = User(
            username=username,
            display_name=display_name or username,
            role=role,
            password_hash=await hash_password(password),
        )
        user.areas = [UserArea(area_code=c) for c in codes]
        session.add(user)
    else:
        # A new password (or role, or areas) revokes every token issued under the old one; the same
        # account set again (a second `safegrid demo --password` with the same word) leaves them valid.
        changed = (
            user.role != role
            or sorted(a.area_code for a in user.areas) != codes
            or not await _verify(user.password_hash, password)
        )
        if changed:
            user.role, user.password_hash = role, await hash_password(password)
            user.areas = [UserArea(area_code=c) for c in codes]
            await revoke_all(session, user.id)
        if display_name:
            user.display_name = display_name
    await session.flush()
    return user


async def revoke_all(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(AuthToken)
        .where(AuthToken.user_id == user_id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def prune(session: AsyncSession, settings: Settings, now: datetime | None = None) -> tuple[int, int]:
    """Deletes tokens that can no longer be used (expired or revoked) and throttle rows whose window and
    lock are over; returns how many of each."""
    now = now or utcnow()
    tokens = await session.execute(
        delete(AuthToken).where(or_(AuthToken.expires_at <= now, AuthToken.revoked_at.is_not(None)))
    )
    window_start = now - timedelta(seconds=settings.login_window_seconds)
    throttles = await session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.window_start <= window_start,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
        )
    )
    return _rowcount(tokens), _rowcount(throttles)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
