"""The in-process token cache: a change made elsewhere shows within its TTL, a logout here at once."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import timedelta

from sqlalchemy import update

from api.models import AuthToken
from api.services.auth import Principal
from api.services.token_cache import TokenCache
from api.timeutil import utcnow
from tests.conftest import Env
from tests.helpers import API, assert_problem, make_user


def _digest(headers: dict[str, str]) -> str:
    return hashlib.sha256(headers["Authorization"].split()[1].encode()).hexdigest()


async def _revoke_elsewhere(env: Env, headers: dict[str, str]) -> None:
    """What another server process or the command line would do."""
    async with await env.session() as s:
        await s.execute(
            update(AuthToken).where(AuthToken.token_hash == _digest(headers)).values(revoked_at=utcnow())
        )
        await s.commit()


async def test_revocation_elsewhere_shows_within_the_ttl(env: Env) -> None:
    h = await make_user(env, f"tc_{uuid.uuid4().hex[:8]}", "inspector", ["v-baiyun"])
    assert (await env.client.get(f"{API}/me", headers=h)).status_code == 200
    await _revoke_elsewhere(env, h)
    # Still served from this process's cache ...
    assert (await env.client.get(f"{API}/me", headers=h)).status_code == 200
    cache: TokenCache = env.app.state.token_cache
    key = _digest(h)
    principal, valid_until = cache._entries[key]
    # ... for at most the TTL: age the entry past it and the database decides again.
    cache._entries[key] = (principal, valid_until - cache.ttl - 0.001)
    assert_problem(await env.client.get(f"{API}/me", headers=h), 401, "invalid_token")
    assert key not in cache._entries


async def test_entry_never_outlives_the_token(env: Env) -> None:
    h = await make_user(env, f"tc_{uuid.uuid4().hex[:8]}", "inspector", ["v-baiyun"])
    async with await env.session() as s:
        await s.execute(
            update(AuthToken)
            .where(AuthToken.token_hash == _digest(h))
            .values(expires_at=utcnow() + timedelta(seconds=2))
        )
        await s.commit()
    env.app.state.token_cache.clear()
    assert (await env.client.get(f"{API}/me", headers=h)).status_code == 200
    cache: TokenCache = env.app.state.token_cache
    _, valid_until = cache._entries[_digest(h)]
    assert valid_until - time.monotonic() <= 2.0 < cache.ttl


async def test_logout_here_is_immediate_and_not_recached(env: Env) -> None:
    h = await make_user(env, f"tc_{uuid.uuid4().hex[:8]}", "inspector", ["v-baiyun"])
    assert (await env.client.get(f"{API}/me", headers=h)).status_code == 200
    assert (await env.client.post(f"{API}/auth/logout", headers=h)).status_code == 204
    assert _digest(h) not in env.app.state.token_cache._entries
    assert_problem(await env.client.get(f"{API}/me", headers=h), 401, "invalid_token")


async def test_unknown_tokens_are_not_cached(env: Env) -> None:
    h = {"Authorization": "Bearer made-up-token"}
    assert_problem(await env.client.get(f"{API}/me", headers=h), 401, "invalid_token")
    cache: TokenCache = env.app.state.token_cache
    assert _digest(h) not in cache._entries


async def test_evicted_token_is_kept_out_while_its_revocation_commits() -> None:
    cache = TokenCache(ttl=30)
    calls = 0

    async def lookup(token: str):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return Principal(uuid.uuid4(), "x", "x", "inspector", ()), utcnow() + timedelta(hours=1)

    cache.evict("t")
    # A request that read the token before the logout committed must not put it back in the cache.
    assert await cache.principal("t", lookup) is not None
    assert await cache.principal("t", lookup) is not None
    assert calls == 2
    assert await cache.principal("other", lookup) is not None
    assert await cache.principal("other", lookup) is not None
    assert calls == 3
