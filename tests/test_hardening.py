"""Hardening items of the release: the public report's rate limit comes before its body is read, stored
report photos carry no precise time, password changes revoke tokens, old rows are pruned."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.types import Message

from api.models import User
from tests.conftest import Env
from tests.helpers import API, assert_problem, make_jpeg, make_png, make_user
from tests.test_public_reports import next_address, public_app, submit


async def test_a_limited_report_is_refused_before_its_body_is_read(env: Env) -> None:
    address = next_address()
    async with public_app(env, report_rate_per_client_per_hour=1, client=address) as (app, c):
        assert (await submit(c)).status_code == 201
        # The same client again, with a 30 MB body the server must not touch.
        read: list[int] = []
        sent: list[Message] = []

        async def receive() -> Message:
            read.append(1)
            return {"type": "http.request", "body": b"x" * 1024, "more_body": True}

        async def send(message: Message) -> None:
            sent.append(message)

        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": f"{API}/public/reports",
            "raw_path": f"{API}/public/reports".encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"host", b"testserver"),
                (b"content-type", b"multipart/form-data; boundary=xyz"),
                (b"content-length", str(30 * 1024 * 1024).encode()),
            ],
            "client": address,
            "server": ("testserver", 80),
        }
        await app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        assert start["status"] == 429
        headers = {k.decode(): v.decode() for k, v in start["headers"]}
        assert int(headers["retry-after"]) > 0
        assert read == []  # not one chunk of the body was read


async def test_the_limit_answers_429_even_for_a_body_that_cannot_be_parsed(env: Env) -> None:
    async with public_app(env, report_rate_per_client_per_hour=1) as (_, c):
        assert (await submit(c)).status_code == 201
        r = await c.post(
            f"{API}/public/reports",
            content=b"not a multipart body at all",
            headers={"Content-Type": "multipart/form-data; boundary=xyz"},
        )
        body = assert_problem(r, 429, "rate_limited")
        assert body["retry_after"] == int(r.headers["retry-after"])
        assert r.headers["cache-control"] == "no-store"  # still the public channel's headers


# --------------------------------------------------------------------------- passwords and tokens


async def test_a_password_change_revokes_the_users_tokens(env: Env) -> None:
    from api.services.auth import create_user

    name = f"pw_{uuid.uuid4().hex[:8]}"
    old = await make_user(env, name, "inspector", ["v-baiyun"], "first-password-1")
    second = await make_user(env, f"{name}_2", "inspector", ["v-baiyun"], "first-password-1")
    assert (await env.client.get(f"{API}/me", headers=old)).status_code == 200
    async with await env.session() as s:  # the same account set again changes nothing
        await create_user(
            s, username=name, password="first-password-1", role="inspector", area_codes=["v-baiyun"]
        )
        await s.commit()
    env.app.state.token_cache.clear()
    assert (await env.client.get(f"{API}/me", headers=old)).status_code == 200
    async with await env.session() as s:
        await create_user(
            s, username=name, password="second-password-2", role="inspector", area_codes=["v-baiyun"]
        )
        await s.commit()
    # Changed from outside the server (the command line): it shows once the token cache's 30 s are over.
    env.app.state.token_cache.clear()
    assert_problem(await env.client.get(f"{API}/me", headers=old), 401, "invalid_token")
    assert (await env.client.get(f"{API}/me", headers=second)).status_code == 200  # someone else's stays
    r = await env.client.post(f"{API}/auth/token", data={"username": name, "password": "second-password-2"})
    assert r.status_code == 200


async def test_prune_deletes_unusable_tokens_and_finished_throttle_rows(env: Env) -> None:
    from api.jobs import prune_stale
    from api.models import AuthToken, LoginThrottle
    from api.services.auth import token_digest
    from api.timeutil import utcnow

    name = f"prune_{uuid.uuid4().hex[:8]}"
    await make_user(env, name, "inspector", ["v-baiyun"], "prune-password-1")
    now = utcnow()
    window = timedelta(seconds=env.settings.login_window_seconds)
    tag = uuid.uuid4().hex[:8]
    async with await env.session() as s:
        user_id = (await s.execute(select(User.id).where(User.username == name))).scalar_one()
        tokens = {
            "expired": AuthToken(
                token_hash=token_digest(f"e{tag}"), user_id=user_id, expires_at=now - timedelta(1)
            ),
            "revoked": AuthToken(
                token_hash=token_digest(f"r{tag}"),
                user_id=user_id,
                expires_at=now + timedelta(1),
                revoked_at=now,
            ),
            "valid": AuthToken(
                token_hash=token_digest(f"v{tag}"), user_id=user_id, expires_at=now + timedelta(1)
            ),
        }
        s.add_all(tokens.values())
        s.add_all(
            [
                LoginThrottle(key=f"old{tag}", failures=9, window_start=now - window * 2),
                LoginThrottle(
                    key=f"locked{tag}",
                    failures=9,
                    window_start=now - window * 2,
                    locked_until=now + timedelta(60),
                ),
                LoginThrottle(key=f"recent{tag}", failures=2, window_start=now),
            ]
        )
        await s.commit()
    deleted_tokens, deleted_rows = await prune_stale(env.app.state.sessionmaker, env.settings)
    assert deleted_tokens >= 2 and deleted_rows >= 1
    async with await env.session() as s:
        left = set((await s.scalars(select(AuthToken.token_hash).where(AuthToken.user_id == user_id))).all())
        assert token_digest(f"v{tag}") in left
        assert not {token_digest(f"e{tag}"), token_digest(f"r{tag}")} & left
        keys = set((await s.scalars(select(LoginThrottle.key).where(LoginThrottle.key.endswith(tag)))).all())
        assert keys == {f"locked{tag}", f"recent{tag}"}
    # The tokens the suite signed in with are untouched.
    assert (await env.client.get(f"{API}/me", headers=env.auth("supervisor"))).status_code == 200


def test_demo_refuses_a_short_password_and_prune_runs(tmp_path: Path) -> None:
    from tests.test_cli import run

    r = run(tmp_path, "demo", "--password", "short")
    assert r.returncode == 2 and "at least 8 characters" in r.stderr
    assert not (tmp_path / "safegrid.db").exists()  # refused before touching anything
    r = run(tmp_path, "demo", "--password", "long-enough-1")
    assert r.returncode == 0, r.stderr
    r = run(tmp_path, "prune")
    assert r.returncode == 0, r.stderr
    assert "deleted 0 expired or revoked token(s)" in r.stdout


# --------------------------------------------------------------------------- stored report photos


async def test_stored_report_photos_carry_only_the_day_as_their_time(env: Env) -> None:
    from api.models import Photo, Report
    from api.services import reports as report_service
    from api.timeutil import local_midnight, local_today

    async with public_app(env) as (_, c):
        r = await submit(c, files=[make_jpeg(80, 60), make_png(40, 30)])
        assert r.status_code == 201, r.text
        receipt = r.json()["receipt"]
    digest = report_service.receipt_hash(env.settings, report_service.normalize_receipt(receipt) or "")
    async with await env.session() as s:
        report = (await s.execute(select(Report).where(Report.receipt_hash == digest))).scalar_one()
        photos = (
            await s.scalars(select(Photo).where(Photo.id.in_([uuid.UUID(p) for p in report.photo_ids])))
        ).all()
    assert len(photos) == 2
    day = local_midnight(local_today()).timestamp()
    storage = env.app.state.storage
    for photo in photos:
        for key in (photo.file_key, photo.thumbnail_key):
            path = storage.local_path(key)
            assert path is not None and path.is_file()
            assert path.stat().st_mtime == day, (path.stat().st_mtime, day)
            assert path.parent.stat().st_mtime == day
            assert path.parent.parent.stat().st_mtime == day
