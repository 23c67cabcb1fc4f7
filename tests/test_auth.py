"""Sign-in, tokens and their storage, logout, and throttling of failed sign-ins."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update

from api.app import create_app
from api.models import AuthToken, User
from api.timeutil import utcnow
from tests.conftest import PASSWORD, Env
from tests.helpers import API, assert_problem, make_user

PW = "correct-horse-battery-9"


def fresh_name(prefix: str = "u") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


async def sign_in(env: Env, username: str, password: str) -> tuple[int, dict[str, object]]:
    r = await env.client.post(f"{API}/auth/token", data={"username": username, "password": password})
    return r.status_code, r.json()


async def test_sign_in_gives_a_bearer_token(env: Env) -> None:
    name = fresh_name()
    await make_user(env, name, "inspector", ["v-baiyun"], PW)
    before = datetime.now().astimezone()
    r = await env.client.post(f"{API}/auth/token", data={"username": name, "password": PW})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_at"}
    assert body["token_type"] == "bearer"
    assert len(body["access_token"]) >= 40
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires.utcoffset() is not None
    ttl = timedelta(hours=env.settings.token_ttl_hours)
    assert before + ttl - timedelta(minutes=1) <= expires <= before + ttl + timedelta(minutes=1)
    me = await env.client.get(f"{API}/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == name
    assert me.json()["role"] == "inspector"
    assert me.json()["area_codes"] == ["v-baiyun"]
    # A second sign-in is a second token; both work.
    _, second = await sign_in(env, name, PW)
    assert second["access_token"] != body["access_token"]


async def test_me(env: Env) -> None:
    r = await env.client.get(f"{API}/me", headers=env.auth("supervisor"))
    assert r.status_code == 200
    me = r.json()
    assert set(me) == {"id", "username", "display_name", "role", "area_codes"}
    assert (me["username"], me["display_name"], me["role"], me["area_codes"]) == (
        "supervisor",
        "镇应急办 李主任",
        "supervisor",
        ["town"],
    )
    uuid.UUID(me["id"])
    admin = (await env.client.get(f"{API}/me", headers=env.auth("admin"))).json()
    assert (admin["role"], admin["area_codes"]) == ("admin", [])


@pytest.mark.parametrize(
    ("username", "password"),
    [("inspector_baiyun", "wrong-password"), ("no_such_user_xyz", PASSWORD), ("inspector_baiyun", "")],
)
async def test_bad_credentials(env: Env, username: str, password: str) -> None:
    r = await env.client.post(f"{API}/auth/token", data={"username": username, "password": password})
    if password == "":
        assert_problem(r, 422, "validation_error")
        return
    body = assert_problem(r, 401, "invalid_credentials")
    assert r.headers["www-authenticate"] == "Bearer"
    # The same words whether the user exists or not.
    assert body["detail"] == "Wrong username or password."


async def test_sign_in_needs_a_form(env: Env) -> None:
    r = await env.client.post(f"{API}/auth/token", json={"username": "admin", "password": PASSWORD})
    assert_problem(r, 422, "validation_error")


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer ", "Basic YWRtaW46cGFzcw==", "Bearer not-a-real-token", "Token abc"],
)
async def test_missing_or_bad_token(env: Env, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    r = await env.client.get(f"{API}/me", headers=headers)
    body = assert_problem(r, 401)
    assert body["code"] == ("invalid_token" if header == "Bearer not-a-real-token" else "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"


async def test_expired_token_is_refused(env: Env) -> None:
    name = fresh_name()
    h = await make_user(env, name, "inspector", ["v-baiyun"], PW)
    token = h["Authorization"].split()[1]
    assert (await env.client.get(f"{API}/me", headers=h)).status_code == 200
    async with await env.session() as s:
        await s.execute(
            update(AuthToken)
            .where(AuthToken.token_hash == hashlib.sha256(token.encode()).hexdigest())
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await s.commit()
    # A change made behind this process's back shows after the token cache's TTL (tests/test_token_cache.py).
    env.app.state.token_cache.clear()
    assert_problem(await env.client.get(f"{API}/me", headers=h), 401, "invalid_token")


async def test_logout_revokes_only_that_token(env: Env) -> None:
    name = fresh_name()
    h1 = await make_user(env, name, "inspector", ["v-baiyun"], PW)
    _, second = await sign_in(env, name, PW)
    h2 = {"Authorization": f"Bearer {second['access_token']}"}
    r = await env.client.post(f"{API}/auth/logout", headers=h1)
    assert r.status_code == 204
    assert r.content == b""
    assert_problem(await env.client.get(f"{API}/me", headers=h1), 401, "invalid_token")
    assert_problem(await env.client.post(f"{API}/auth/logout", headers=h1), 401, "invalid_token")
    assert (await env.client.get(f"{API}/me", headers=h2)).status_code == 200
    token = h1["Authorization"].split()[1]
    async with await env.session() as s:
        row = await s.scalar(
            select(AuthToken).where(AuthToken.token_hash == hashlib.sha256(token.encode()).hexdigest())
        )
    assert row is not None and row.revoked_at is not None


async def test_logout_needs_a_token(env: Env) -> None:
    assert_problem(await env.client.post(f"{API}/auth/logout"), 401, "unauthorized")


async def test_deactivated_user_loses_access(env: Env) -> None:
    name = fresh_name()
    h = await make_user(env, name, "inspector", ["v-baiyun"], PW)
    async with await env.session() as s:
        await s.execute(update(User).where(User.username == name).values(active=False))
        await s.commit()
    assert_problem(await env.client.get(f"{API}/me", headers=h), 401, "invalid_token")
    status, body = await sign_in(env, name, PW)
    assert (status, body["code"]) == (401, "invalid_credentials")


async def test_tokens_are_stored_only_as_hashes(env: Env) -> None:
    name = fresh_name()
    h = await make_user(env, name, "inspector", ["v-baiyun"], PW)
    token = h["Authorization"].split()[1]
    async with await env.session() as s:
        user_id = await s.scalar(select(User.id).where(User.username == name))
        rows = (await s.scalars(select(AuthToken).where(AuthToken.user_id == user_id))).all()
        # Every column of every token row, as the database returns it.
        raw = (await s.execute(text("SELECT * FROM auth_tokens"))).all()
        password_hash = await s.scalar(select(User.password_hash).where(User.username == name))
    assert len(rows) == 1
    assert rows[0].token_hash == hashlib.sha256(token.encode()).hexdigest()
    dump = repr(raw)
    assert token not in dump
    assert token[:16] not in dump
    assert password_hash is not None and PW not in password_hash
    assert password_hash.startswith("$argon2id$")


# --------------------------------------------------------------------------- throttling
#
# Each test gets an app of its own (fresh in-memory counters) on the shared database, with clients at
# chosen addresses, so the limits of one test never touch another's.


@asynccontextmanager
async def auth_app(env: Env, **overrides: Any) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    app = create_app(env.settings.model_copy(update=overrides))
    clients: list[httpx.AsyncClient] = []

    def at(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://testserver"))
        return clients[-1]

    async with app.router.lifespan_context(app):
        yield at
    for c in clients:
        await c.aclose()


async def attempt(c: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await c.post(f"{API}/auth/token", data={"username": username, "password": password})


def assert_locked(r: httpx.Response, at_most: float) -> int:
    body = assert_problem(r, 429, "rate_limited")
    retry = int(r.headers["retry-after"])
    assert body["retry_after"] == retry
    assert 1 <= retry <= at_most + 1, retry
    return retry


async def test_failures_from_one_address_lock_that_address_out_only(env: Env) -> None:
    name = fresh_name("throttle")
    await make_user(env, name, "inspector", ["v-baiyun"], PW)
    limit = env.settings.login_max_failures
    async with auth_app(env) as at:
        attacker, inspector = at("198.51.100.7"), at("203.0.113.20")
        for _ in range(limit):
            r = await attempt(attacker, name, "wrong-password")
            assert_problem(r, 401, "invalid_credentials")
        # Locked from that address, even with the right password and other spellings of the name.
        for username, password in (
            (name, "wrong-password"),
            (name, PW),
            (name.upper(), PW),
            (f" {name} ", PW),
        ):
            assert_locked(await attempt(attacker, username, password), env.settings.login_window_seconds)
        # The inspector, elsewhere, signs in at once: someone else's failures never lock them out.
        r = await attempt(inspector, name, PW)
        assert r.status_code == 200, r.text


async def test_the_lock_grows_with_each_failure_and_lifts_by_itself() -> None:
    from api.services.ratelimit import FailureBackoff, lock_seconds

    assert [lock_seconds(n, 5, 900) for n in (1, 4, 5, 6, 7, 15, 40)] == [0, 0, 1, 2, 4, 900, 900]
    now = [1000.0]
    backoff = FailureBackoff(threshold=3, window=900, max_lock=60, clock=lambda: now[0])
    key = backoff.key("user", "198.51.100.7")
    for _ in range(2):
        backoff.fail(key)
    assert backoff.wait(key) == 0
    backoff.fail(key)
    assert backoff.wait(key) == 1
    backoff.fail(key)
    backoff.fail(key)
    assert backoff.wait(key) == 4
    now[0] += 4
    assert backoff.wait(key) == 0
    now[0] += 900  # a new window starts from nothing
    backoff.fail(key)
    assert backoff.wait(key) == 0
    backoff.reset(key)
    assert len(backoff) == 0


async def test_a_successful_sign_in_resets_the_count(env: Env) -> None:
    name = fresh_name("reset")
    await make_user(env, name, "inspector", ["v-baiyun"], PW)
    limit = env.settings.login_max_failures
    async with auth_app(env) as at:
        c = at("198.51.100.8")
        for _ in range(2):
            for _ in range(limit - 1):
                assert (await attempt(c, name, "wrong-password")).status_code == 401
            assert (await attempt(c, name, PW)).status_code == 200


async def test_unknown_usernames_are_throttled_too(env: Env) -> None:
    name = fresh_name("ghost")
    async with auth_app(env) as at:
        c = at("198.51.100.9")
        for _ in range(env.settings.login_max_failures):
            assert (await attempt(c, name, "guess")).status_code == 401
        assert_locked(await attempt(c, name, "guess"), env.settings.login_window_seconds)


async def test_guessing_across_many_usernames_is_limited_per_address(env: Env) -> None:
    async with auth_app(env, login_max_failures_per_client=4) as at:
        guesser, office = at("198.51.100.10"), at("203.0.113.21")
        for i in range(4):
            assert (await attempt(guesser, fresh_name(f"spray{i}"), "123456")).status_code == 401
        cap = env.settings.login_client_lock_max_seconds
        assert_locked(await attempt(guesser, fresh_name("spray"), "123456"), cap)
        # Even the right password waits from that address, but never longer than the short cap.
        assert_locked(await attempt(guesser, "admin", PASSWORD), cap)
        r = await attempt(office, "admin", PASSWORD)
        assert r.status_code == 200, r.text


async def test_one_username_from_many_addresses_gets_short_locks(env: Env) -> None:
    from api.models import LoginThrottle
    from api.services.auth import _throttle_key

    name = fresh_name("distributed")
    await make_user(env, name, "inspector", ["v-baiyun"], PW)
    cap = 30
    async with auth_app(env, login_max_failures_per_user=3, login_user_lock_max_seconds=cap) as at:
        for i in range(3):
            assert (await attempt(at(f"198.51.100.{20 + i}"), name, "wrong")).status_code == 401
        # The username is locked for everyone, but only briefly (1 s now, doubling up to the cap).
        retry = assert_locked(await attempt(at("203.0.113.22"), name, PW), cap)
        assert retry <= 2
        async with await env.session() as s:
            row = await s.get(LoginThrottle, _throttle_key(name))
            assert row is not None and row.failures == 3 and row.locked_until is not None
            await s.execute(
                update(LoginThrottle)
                .where(LoginThrottle.key == row.key)
                .values(failures=40, locked_until=utcnow() - timedelta(seconds=1))
            )
            await s.commit()
        # Once the lock has passed, the right password works and clears the count.
        r = await attempt(at("203.0.113.22"), name, PW)
        assert r.status_code == 200, r.text
        async with await env.session() as s:
            row = await s.get(LoginThrottle, _throttle_key(name))
            assert row is not None and (row.failures, row.locked_until) == (0, None)
        # A long run of failures never locks it for longer than the cap.
        async with await env.session() as s:
            await s.execute(update(LoginThrottle).where(LoginThrottle.key == row.key).values(failures=40))
            await s.commit()
        assert (await attempt(at("198.51.100.30"), name, "wrong")).status_code == 401
        assert_locked(await attempt(at("203.0.113.22"), name, PW), cap)


async def test_a_flood_from_everywhere_slows_everyone_briefly(env: Env) -> None:
    cap = 5
    async with auth_app(env, login_max_failures_global=3, login_global_lock_max_seconds=cap) as at:
        for i in range(3):
            assert (await attempt(at(f"198.51.100.{40 + i}"), fresh_name("flood"), "x")).status_code == 401
        assert_locked(await attempt(at("203.0.113.23"), "admin", PASSWORD), cap)


async def test_parallel_guesses_cannot_slip_past_the_limit(env: Env) -> None:
    name = fresh_name("parallel")
    await make_user(env, name, "inspector", ["v-baiyun"], PW)
    limit = env.settings.login_max_failures
    async with auth_app(env) as at:
        c = at("198.51.100.50")
        rs = await asyncio.gather(*(attempt(c, name, f"guess-{i}") for i in range(limit + 10)))
        assert sorted(r.status_code for r in rs) == [401] * limit + [429] * 10, [r.text for r in rs]
        assert (await attempt(c, name, PW)).status_code == 429


async def test_the_password_is_checked_outside_any_write_transaction(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a password is being checked (tens of milliseconds of Argon2), other requests can write:
    on SQLite the sign-in holds no write lock, on PostgreSQL no lock on the throttle row."""
    from api.models import LoginThrottle
    from api.services import auth as auth_module
    from api.services.auth import _throttle_key

    name = fresh_name("nolock")
    await make_user(env, name, "inspector", ["v-baiyun"], PW)
    real_verify = auth_module._verify
    probes: list[str] = []

    async def verify_while_someone_writes(password_hash: str, password: str) -> bool:
        async def write() -> None:
            async with env.app.state.sessionmaker() as s:
                await s.execute(
                    update(LoginThrottle).where(LoginThrottle.key == _throttle_key(name)).values(failures=1)
                )
                await s.commit()

        try:
            await asyncio.wait_for(write(), timeout=3)
            probes.append("written")
        except TimeoutError:
            probes.append("blocked")
        return await real_verify(password_hash, password)

    monkeypatch.setattr(auth_module, "_verify", verify_while_someone_writes)
    async with auth_app(env) as at:
        c = at("198.51.100.60")
        assert (await attempt(c, name, "wrong")).status_code == 401  # makes the throttle row
        assert (await attempt(c, name, "wrong")).status_code == 401
        assert (await attempt(c, name, PW)).status_code == 200
    assert probes == ["written"] * 3
