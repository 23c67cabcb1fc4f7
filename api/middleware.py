from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem

access_log = logging.getLogger("safegrid.access")


class BodyLimitMiddleware:
    """Refuses a request body over the limit with 413 as soon as that is known (Content-Length, or the
    bytes received so far), instead of letting the multipart parser spool it whole first."""

    def __init__(self, app: ASGIApp, limits: list[tuple[str, str, int]], default_limit: int) -> None:
        self.app = app
        self.limits = limits  # (method, path prefix, bytes)
        self.default_limit = default_limit

    def _limit_for(self, method: str, path: str) -> int:
        for m, prefix, limit in self.limits:
            if method == m and path.startswith(prefix):
                return limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope["method"], scope["path"])
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await self._too_large(send, limit)
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._too_large(send, limit)

    async def _too_large(self, send: Send, limit: int) -> None:
        response = problem(
            413,
            "payload_too_large",
            "Payload too large",
            f"The request body is larger than {limit // (1024 * 1024)} MB.",
        )
        await response({"type": "http"}, _empty_receive, send)


class _BodyTooLarge(Exception):
    pass


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}


class AccessLogMiddleware:
    """Access log without client address, user agent, query string or raw path: it logs the route
    template (`/api/v1/public/reports/{receipt}`), so a receipt or an id never reaches a log file."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or ("static" if scope["path"].startswith("/") else "?")
            access_log.info(
                "%s %s %s %.1fms",
                scope["method"],
                template,
                status["code"],
                (time.perf_counter() - start) * 1000,
            )
