"""In-memory rate limits for the anonymous endpoints, without keeping anything that tracks a reporter.

A client is keyed by an HMAC of its address under a random secret made when the process starts: the
address itself is never kept, stored or logged, and the keys mean nothing after a restart. Each key
holds a token bucket (two floats); idle buckets are dropped, and the table has a hard size cap.

Limits are held per process (nothing another process needs lives here). The limits on everyone together
(the report desk's rate, sign-in failures from everywhere) protect the server as a whole, so each of N
processes holds 1/N of them and their sum stays the configured figure. The limits on one client stay whole
in each process: a client's requests mostly keep to one connection and so to one process, and dividing
them would cut an honest reporter's share while a client spreading its connections still gets at most N
times its limit, inside the global one.

Behind a reverse proxy the client address is the proxy's unless the server is told to trust the
proxy's forwarding header (SAFEGRID_FORWARDED_ALLOW_IPS, which `safegrid serve` passes to uvicorn): a
forwarding header from
anyone else is never read, so it cannot be used to dodge a limit.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from api.config import Settings, server_processes
from api.errors import TooManyRequests

# Drop idle buckets when the table grows past this; beyond it every unknown client shares one bucket.
MAX_KEYS = 100_000


class TokenBucket:
    """`capacity` requests at once, refilled at `capacity / period` per second."""

    __slots__ = ("capacity", "clock", "period", "rate", "tokens", "updated")

    def __init__(self, capacity: int, period: float, clock: Callable[[], float]) -> None:
        self.capacity = float(max(capacity, 0))
        self.period = period
        self.rate = self.capacity / period if period > 0 else 0.0
        self.clock = clock
        self.tokens = self.capacity
        self.updated = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def take(self) -> float:
        """Takes a token; returns 0 when allowed, else the seconds until one is available."""
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        if self.rate <= 0:
            return self.period
        return (1 - self.tokens) / self.rate

    def give_back(self) -> None:
        self.tokens = min(self.capacity, self.tokens + 1)

    @property
    def full(self) -> bool:
        self._refill()
        return self.tokens >= self.capacity


class KeyedLimiter:
    """One token bucket per client; clients are HMAC keys under a secret that never leaves memory."""

    def __init__(
        self,
        capacity: int,
        period: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.capacity = capacity
        self.period = period
        self.clock = clock
        self.max_keys = max_keys
        self._secret = secrets.token_bytes(32)
        self._buckets: dict[bytes, TokenBucket] = {}

    def key(self, address: str) -> bytes:
        return hmac.new(self._secret, address.encode("utf-8", "replace"), hashlib.sha256).digest()[:16]

    def _bucket(self, address: str) -> TokenBucket:
        key = self.key(address)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._prune()
            if len(self._buckets) >= self.max_keys:
                key = b"overflow"
                bucket = self._buckets.get(key)
            if bucket is None:
                bucket = TokenBucket(self.capacity, self.period, self.clock)
                self._buckets[key] = bucket
        return bucket

    def _prune(self) -> None:
        for key in [k for k, b in self._buckets.items() if b.full]:
            del self._buckets[key]

    def take(self, address: str) -> float:
        return self._bucket(address).take()

    def give_back(self, address: str) -> None:
        self._bucket(address).give_back()

    def __len__(self) -> int:
        return len(self._buckets)


def process_share(limit: int) -> int:
    """This process's part of a limit on everyone together, when `safegrid serve` runs several."""
    return max(1, limit // server_processes())


@dataclass
class PublicLimits:
    reports_per_client: KeyedLimiter
    reports_global: TokenBucket
    lookups_per_client: KeyedLimiter

    @classmethod
    def from_settings(cls, settings: Settings, clock: Callable[[], float] = time.monotonic) -> PublicLimits:
        return cls(
            reports_per_client=KeyedLimiter(settings.report_rate_per_client_per_hour, 3600.0, clock),
            reports_global=TokenBucket(process_share(settings.report_rate_global_per_minute), 60.0, clock),
            lookups_per_client=KeyedLimiter(settings.receipt_lookup_rate_per_client_per_minute, 60.0, clock),
        )

    def check_report(self, address: str) -> None:
        wait = self.reports_per_client.take(address)
        if wait:
            raise _limited("Too many reports from this connection; please try again later.", wait)
        wait = self.reports_global.take()
        if wait:
            self.reports_per_client.give_back(address)
            raise _limited("The report desk is receiving too many reports; please try again shortly.", wait)

    def check_lookup(self, address: str) -> None:
        wait = self.lookups_per_client.take(address)
        if wait:
            raise _limited("Too many receipt lookups; please wait a moment.", wait)


def _limited(detail: str, wait: float) -> TooManyRequests:
    return TooManyRequests(detail, code="rate_limited", retry_after=max(1, math.ceil(wait)))


def client_address(request: Request) -> str:
    # Only the transport peer: a forwarding header is the client's own claim (see the module docstring).
    return request.client.host if request.client else "unknown"


def limits_for(request: Request) -> PublicLimits:
    """The app's limits, made on first use from its settings (held on app.state, per process)."""
    return limits_for_state(request.app.state)


def limits_for_state(state: Any) -> PublicLimits:
    limits: PublicLimits | None = getattr(state, "public_limits", None)
    if limits is None:
        limits = PublicLimits.from_settings(state.settings)
        state.public_limits = limits
    return limits


def lock_seconds(failures: int, threshold: int, max_lock: float) -> float:
    """The lock after `failures` failures: none below the threshold, then 1, 2, 4 … seconds up to the cap."""
    if failures < threshold:
        return 0.0
    return float(min(max_lock, 2 ** min(failures - threshold, 30)))


class FailureBackoff:
    """Failed attempts per key over a window, in memory; past the threshold each failure locks the key
    for a doubling time. Keys are HMACs under a secret made at start, like KeyedLimiter's."""

    def __init__(
        self,
        threshold: int,
        window: float,
        max_lock: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.threshold = threshold
        self.window = window
        self.max_lock = max_lock
        self.clock = clock
        self.max_keys = max_keys
        self._secret = secrets.token_bytes(32)
        # key -> [failures, window start, locked until]
        self._entries: dict[bytes, list[float]] = {}

    def key(self, *parts: str) -> bytes:
        joined = "\x00".join(parts).encode("utf-8", "replace")
        return hmac.new(self._secret, joined, hashlib.sha256).digest()[:16]

    def wait(self, key: bytes) -> float:
        """Seconds until the key may try again (0: now)."""
        entry = self._entries.get(key)
        return max(0.0, entry[2] - self.clock()) if entry else 0.0

    def fail(self, key: bytes) -> None:
        now = self.clock()
        entry = self._entries.get(key)
        if entry is None or now - entry[1] >= self.window:
            if entry is None and len(self._entries) >= self.max_keys:
                self._prune(now)
            entry = [0.0, now, 0.0]
            self._entries[key] = entry
        entry[0] += 1
        lock = lock_seconds(int(entry[0]), self.threshold, self.max_lock)
        if lock:
            entry[2] = now + lock

    def reset(self, key: bytes) -> None:
        self._entries.pop(key, None)

    def _prune(self, now: float) -> None:
        for key in [k for k, e in self._entries.items() if now - e[1] >= self.window and now >= e[2]]:
            del self._entries[key]
        while len(self._entries) >= self.max_keys:  # still full: forget the oldest windows
            del self._entries[min(self._entries, key=lambda k: self._entries[k][1])]

    def __len__(self) -> int:
        return len(self._entries)


@dataclass
class LoginGuard:
    """The in-memory part of sign-in throttling (the per-username part is in the database)."""

    pairs: FailureBackoff  # one username from one address
    clients: FailureBackoff  # one address, any username
    everyone: FailureBackoff  # one key for all
    _turns: dict[str, tuple[asyncio.Lock, list[int]]]  # username key -> (lock, [requests holding it])

    @classmethod
    def from_settings(cls, settings: Settings, clock: Callable[[], float] = time.monotonic) -> LoginGuard:
        window = float(settings.login_window_seconds)
        return cls(
            pairs=FailureBackoff(settings.login_max_failures, window, window, clock),
            clients=FailureBackoff(
                settings.login_max_failures_per_client, window, settings.login_client_lock_max_seconds, clock
            ),
            everyone=FailureBackoff(
                process_share(settings.login_max_failures_global),
                window,
                settings.login_global_lock_max_seconds,
                clock,
            ),
            _turns={},
        )

    @asynccontextmanager
    async def turn(self, username_key: str) -> AsyncIterator[None]:
        """Attempts on one username take turns in this process, so parallel guesses cannot all pass the
        check before any failure is counted."""
        lock, users = self._turns.setdefault(username_key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._turns[username_key]


def login_guard_for(request: Request) -> LoginGuard:
    state = request.app.state
    guard: LoginGuard | None = getattr(state, "login_guard", None)
    if guard is None:
        guard = LoginGuard.from_settings(state.settings)
        state.login_guard = guard
    return guard
