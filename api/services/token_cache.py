"""A short-lived in-process cache of signed-in principals, keyed by the token's digest.

Every request of a phone carries its bearer token; looking it up costs two queries and a pooled connection.
The cache keeps the answer for at most `TTL_SECONDS` (and never past the token's own expiry), so:

- a logout in this process takes effect at once (the entry is dropped, and the token is kept out of the
  cache until its revocation has certainly been committed);
- a revocation, a deactivation, or a change of role or areas made elsewhere (another server process, the
  command line) takes effect within `TTL_SECONDS` at the latest. That delay is the bound on cross-process
  revocation; nothing else in the process outlives a request.

Unknown tokens are not cached: a flood of made-up tokens costs the database what it cost before.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.models import AuthToken
from api.services.auth import Principal, principal_for_token, token_digest
from api.timeutil import utcnow

TTL_SECONDS = 30.0
MAX_ENTRIES = 10_000

Lookup = Callable[[str], Awaitable[tuple[Principal, datetime] | None]]


class TokenCache:
    def __init__(self, ttl: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        # Tokens logged out here, until their revocation is surely committed: never cached meanwhile.
        self._evicted: dict[str, float] = {}

    async def principal(self, token: str, lookup: Lookup) -> Principal | None:
        key = token_digest(token)
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None:
            principal, valid_until = entry
            if now < valid_until:
                return principal
            del self._entries[key]
        found = await lookup(token)
        if found is None:
            return None
        principal, expires_at = found
        if self.ttl > 0 and not self._recently_evicted(key, now):
            left = (expires_at - utcnow()).total_seconds()
            if left > 0:
                self._entries[key] = (principal, now + min(self.ttl, left))
                if len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return principal

    def evict(self, token: str) -> None:
        """Forget a token now (logout in this process)."""
        key = token_digest(token)
        self._entries.pop(key, None)
        now = time.monotonic()
        self._evicted = {k: t for k, t in self._evicted.items() if t > now}
        self._evicted[key] = now + max(self.ttl, 1.0)

    def _recently_evicted(self, key: str, now: float) -> bool:
        until = self._evicted.get(key)
        return until is not None and until > now

    def clear(self) -> None:
        self._entries.clear()


async def lookup(session: AsyncSession, token: str) -> tuple[Principal, datetime] | None:
    """The principal of a valid token, and when the token expires."""
    principal = await principal_for_token(session, token)
    if principal is None:
        return None
    expires_at = await session.scalar(
        select(AuthToken.expires_at).where(AuthToken.token_hash == token_digest(token))
    )
    if expires_at is None:
        return None
    return principal, expires_at
