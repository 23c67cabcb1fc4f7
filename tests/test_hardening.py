"""Hardening items of the release: the public report's rate limit comes before its body is read, stored
report photos carry no precise time, password changes revoke tokens, old rows are pruned."""

from __future__ import annotations

from typing import Any

from starlette.types import Message

from tests.conftest import Env
from tests.helpers import API, assert_problem
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
