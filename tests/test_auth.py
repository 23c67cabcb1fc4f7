"""Sign-in, tokens and their storage, logout, and throttling of failed sign-ins."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text, update

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


async def test_failed_sign_ins_are_rate_limited(env: Env) -> None:
    name = fresh_name("throttle")
    await make_user(env, name, "inspector", ["v-baiyun"], PW)
    limit = env.settings.login_max_failures
    for _ in range(limit):
        status, body = await sign_in(env, name, "wrong-password")
        assert (status, body["code"]) == (401, "invalid_credentials")
    r = await env.client.post(f"{API}/auth/token", data={"username": name, "password": "wrong-password"})
    body = assert_problem(r, 429, "rate_limited")
    retry = int(r.headers["retry-after"])
    assert 0 < retry <= env.settings.login_window_seconds + 1
    assert body["retry_after"] == retry
    # Locked: even the right password waits, and so do spellings of the same name.
    for username in (name, name.upper(), f"  {name} "):
        r = await env.client.post(f"{API}/auth/token", data={"username": username, "password": PW})
        assert_problem(r, 429, "rate_limited")
    # Someone else is not affected.
    other = fresh_name()
    await make_user(env, other, "inspector", ["v-baiyun"], PW)
    assert (await sign_in(env, other, PW))[0] == 200


async def test_the_lock_lifts_when_the_window_ends(env: Env) -> None:
    from api.models import LoginThrottle
    from api.services.auth import _throttle_key

    name = fresh_name("window")
    await make_user(env, name, "inspector", ["v-baiyun"], PW)
    for _ in range(env.settings.login_max_failures):
        await sign_in(env, name, "wrong-password")
    assert (await sign_in(env, name, PW))[0] == 429
    async with await env.session() as s:
        await s.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == _throttle_key(name))
            .values(window_start=utcnow() - timedelta(seconds=env.settings.login_window_seconds + 1))
        )
        await s.commit()
    assert (await sign_in(env, name, PW))[0] == 200


async def test_a_successful_sign_in_resets_the_count(env: Env) -> None:
    name = fresh_name("reset")
    await make_user(env, name, "inspector", ["v-baiyun"], PW)
    limit = env.settings.login_max_failures
    for _ in range(limit - 1):
        assert (await sign_in(env, name, "wrong-password"))[0] == 401
    assert (await sign_in(env, name, PW))[0] == 200
    for _ in range(limit - 1):
        assert (await sign_in(env, name, "wrong-password"))[0] == 401
    assert (await sign_in(env, name, PW))[0] == 200


async def test_unknown_usernames_are_throttled_too(env: Env) -> None:
    name = fresh_name("ghost")
    for _ in range(env.settings.login_max_failures):
        assert (await sign_in(env, name, "guess"))[0] == 401
    assert (await sign_in(env, name, "guess"))[0] == 429


async def test_parallel_guesses_cannot_slip_past_the_limit(env: Env) -> None:
    import asyncio

    name = fresh_name("parallel")
    await make_user(env, name, "inspector", ["v-baiyun"], PW)
    limit = env.settings.login_max_failures
    rs = await asyncio.gather(
        *(
            env.client.post(f"{API}/auth/token", data={"username": name, "password": f"guess-{i}"})
            for i in range(limit + 10)
        )
    )
    assert sorted(r.status_code for r in rs) == [401] * limit + [429] * 10, [r.text for r in rs]
    for r in rs:
        assert r.json()["code"] in ("invalid_credentials", "rate_limited")
    assert (await sign_in(env, name, PW))[0] == 429
