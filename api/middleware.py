from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

from python_multipart.multipart import MultipartParser, parse_options_header
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

        refused = await run_until_refused(self.app, scope, limited_receive, send, _BodyTooLarge)
        if refused:
            await self._too_large(send, limit)

    async def _too_large(self, send: Send, limit: int) -> None:
        response = problem(
            413,
            "payload_too_large",
            "Payload too large",
            f"The request body is larger than {limit // (1024 * 1024)} MB.",
        )
        await response({"type": "http"}, _empty_receive, send)


async def run_until_refused(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, refusal: type[Exception]
) -> bool:
    """Runs the app with a `receive` that may raise `refusal` while the body streams in; True when it did
    before any reply started (the caller then answers with its problem), False otherwise."""
    started = False

    async def tracking_send(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
        await send(message)

    try:
        await app(scope, receive, tracking_send)
    except refusal:
        return not started
    return False


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


NUL_DETAIL = "Text may not contain the NUL character (U+0000)."


class NulInRequest(Exception):
    """A NUL character in the request's text: its address, query, form fields or JSON strings."""


class NulCharacterMiddleware:
    """Refuses a NUL character anywhere in a request's text with 422 (`invalid_characters`), in one place.

    PostgreSQL cannot store U+0000 in text and answers an error that would be a 500; SQLite would keep it
    and the next reader might cut the string there. Checked: the path (path parameters), the query
    string, and the body as the app reads it, for JSON (strings and keys), URL-encoded forms and the
    text fields of multipart forms. File parts of a multipart form are binary and are not looked at. The
    body is checked while it streams in, so an endpoint that refuses early (a rate limit) still does so
    before reading it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or "\x00" in unquote_plus(scope["query_string"].decode("latin-1")):
            await _nul_problem(send)
            return
        content_type = ""
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
        check = _body_checker(content_type)
        if check is None:
            await self.app(scope, receive, send)
            return

        async def checked_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                check(message.get("body", b""), bool(message.get("more_body", False)))
            return message

        if await run_until_refused(self.app, scope, checked_receive, send, NulInRequest):
            await _nul_problem(send)


async def _nul_problem(send: Send) -> None:
    response = problem(422, "invalid_characters", "Invalid request", NUL_DETAIL)
    await response({"type": "http"}, _empty_receive, send)


def _body_checker(content_type: str) -> Callable[[bytes, bool], None] | None:
    kind, params = parse_options_header(content_type)
    kind_text = kind.decode("latin-1").lower()
    if kind_text == "multipart/form-data" and params.get(b"boundary"):
        return _MultipartTextChecker(params[b"boundary"]).feed
    if kind_text == "application/x-www-form-urlencoded":
        return _WholeBodyChecker(_urlencoded_has_nul).feed
    if kind_text == "application/json" or kind_text.endswith("+json"):
        return _WholeBodyChecker(_json_has_nul).feed
    return None


class _WholeBodyChecker:
    """Collects the body (already bounded by BodyLimitMiddleware) and checks it when it is complete."""

    def __init__(self, has_nul: Callable[[bytes], bool]) -> None:
        self.has_nul = has_nul
        self.chunks: list[bytes] = []

    def feed(self, chunk: bytes, more: bool) -> None:
        self.chunks.append(chunk)
        if not more and self.has_nul(b"".join(self.chunks)):
            raise NulInRequest


def _urlencoded_has_nul(body: bytes) -> bool:
    return b"\x00" in body or "\x00" in unquote_plus(body.decode("latin-1"))


def _json_has_nul(body: bytes) -> bool:
    if b"\\u0000" not in body:
        return False  # a raw NUL byte is not valid JSON: the parser refuses it on its own
    try:
        value = json.loads(body)
    except ValueError:
        return False
    return _value_has_nul(value)


def _value_has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in k or _value_has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_value_has_nul(v) for v in value)
    return False


class _MultipartTextChecker:
    """Streams the multipart body through a parser of its own and looks at the parts without a file name."""

    def __init__(self, boundary: bytes) -> None:
        self.header_field = b""
        self.header_value = b""
        self.is_text = True
        self.failed = False
        callbacks: Any = {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_part_data": self._part_data,
        }
        self.parser = MultipartParser(boundary, callbacks)

    def _part_begin(self) -> None:
        self.is_text = True
        self.header_field = self.header_value = b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def _header_end(self) -> None:
        if self.header_field.lower() == b"content-disposition" and b"filename" in self.header_value.lower():
            self.is_text = False
        self.header_field = self.header_value = b""

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.is_text and b"\x00" in data[start:end]:
            raise NulInRequest

    def feed(self, chunk: bytes, more: bool) -> None:
        if self.failed or not chunk:
            return
        try:
            self.parser.write(chunk)
        except NulInRequest:
            raise
        except Exception:  # a malformed body: the app's own parser reports it
            self.failed = True
