"""Every error is RFC 9457 problem+json with a stable `code`, and an unhandled one leaks nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from tests.conftest import Env, make_settings
from tests.helpers import API, assert_problem, inspection_body, new_id


async def test_unknown_path_is_404(env: Env) -> None:
    for path in ("/api/v1/no-such-thing", "/api/v1/findings/extra/deep/path"):
        r = await env.client.get(path, headers=env.auth("supervisor"))
        body = assert_problem(r, 404, "not_found")
        assert body["type"] == "about:blank"


async def test_unknown_object_is_404_with_its_own_code(env: Env) -> None:
    h = env.auth("supervisor")
    for path, code in (
        (f"/findings/{new_id()}", "finding_not_found"),
        (f"/inspections/{new_id()}", "inspection_not_found"),
        (f"/venues/{new_id()}", "venue_not_found"),
        (f"/photos/{new_id()}", "photo_not_found"),
        ("/checklists/no_such_list", "checklist_not_found"),
    ):
        assert_problem(await env.client.get(API + path, headers=h), 404, code)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", f"/findings/{new_id()}"),
        ("PATCH", f"/venues/{new_id()}"),
        # GET on a POST-only path must not fall through to the PWA's static files at /.
        ("GET", "/auth/token"),
        ("PUT", "/findings"),
    ],
)
async def test_wrong_method_is_405(env: Env, method: str, path: str) -> None:
    r = await env.client.request(method, API + path, headers=env.auth("supervisor"))
    assert_problem(r, 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("kwargs", "loc"),
    [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, ["body", "1"]),
        ({"json": {"photo_ids": []}}, ["body", "note"]),
        ({"json": {"note": "", "photo_ids": []}}, ["body", "note"]),
        ({"json": {"note": "x", "photo_ids": ["not-a-uuid"]}}, ["body", "photo_ids", "0"]),
        ({"json": [1, 2, 3]}, ["body"]),
    ],
)
async def test_validation_errors(env: Env, kwargs: dict[str, object], loc: list[str]) -> None:
    kwargs = dict(kwargs)
    headers = {**env.auth("inspector_baiyun"), **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    url = f"{API}/findings/{new_id()}/rectification"
    r = await env.client.post(url, headers=headers, **kwargs)  # type: ignore[arg-type]
    body = assert_problem(r, 422, "validation_error")
    assert isinstance(body["errors"], list) and body["errors"]
    assert body["errors"][0]["loc"][: len(loc)] == loc, body["errors"]
    for e in body["errors"]:
        assert set(e) == {"loc", "msg", "type"}


async def test_validation_error_in_path_and_query(env: Env) -> None:
    h = env.auth("supervisor")
    body = assert_problem(await env.client.get(f"{API}/findings/123", headers=h), 422, "validation_error")
    assert body["errors"][0]["loc"] == ["path", "finding_id"]
    assert body["detail"].startswith("path.finding_id:")
    body = assert_problem(
        await env.client.get(f"{API}/findings", params={"limit": "many"}, headers=h), 422, "validation_error"
    )
    assert body["errors"][0]["loc"] == ["query", "limit"]


async def test_a_json_body_over_the_limit_is_413(env: Env) -> None:
    body = inspection_body(note="很" * 10, answers=[{"item_code": "JX-MG-01", "result": "pass"}])
    body["note"] = "x" * (1024 * 1024 + 10)
    r = await env.client.put(f"{API}/inspections/{new_id()}", json=body, headers=env.auth("inspector_baiyun"))
    assert_problem(r, 413, "payload_too_large")
    assert (await env.client.get(f"{API}/health")).status_code == 200


async def test_unauthorized_carries_the_challenge(env: Env) -> None:
    r = await env.client.get(f"{API}/findings")
    assert_problem(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"


# --------------------------------------------------------------------------- unhandled errors

SECRET = "password=hunter2 at db.internal:5432"


@pytest.fixture(scope="module")
async def broken_client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    """A separate app with routes that fail in ways nobody planned for."""
    tmp: Path = tmp_path_factory.mktemp("broken")
    app = create_app(make_settings(tmp, None, pwa_dir=tmp / "no-pwa"))

    @app.get(f"{API}/boom")
    async def boom() -> None:
        raise RuntimeError(SECRET)

    @app.post(f"{API}/boom-key")
    async def boom_key() -> None:
        {}["missing " + SECRET]

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.mark.parametrize(("method", "path"), [("GET", "/boom"), ("POST", "/boom-key")])
async def test_unhandled_error_is_500_without_details(
    broken_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, method: str, path: str
) -> None:
    r = await broken_client.request(method, API + path)
    body = assert_problem(r, 500, "internal_error")
    assert body["detail"] == "An unexpected error occurred."
    assert "hunter2" not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text
    assert "hunter2" not in str(r.headers)
    # The server keeps answering.
    r = await broken_client.get(f"{API}/health")
    assert r.status_code == 200


async def test_a_chunked_upload_over_the_limit_is_413_not_400(env: Env) -> None:
    # No Content-Length: the limit is found while the bytes arrive, inside the form parser.
    async def body() -> AsyncIterator[bytes]:
        yield b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
        for _ in range(22):
            yield b"\xff" * (1024 * 1024)
        yield b"\r\n--xyz--\r\n"

    headers = {**env.auth("inspector_baiyun"), "Content-Type": "multipart/form-data; boundary=xyz"}
    r = await env.client.put(f"{API}/photos/{new_id()}", headers=headers, content=body())
    assert_problem(r, 413, "payload_too_large")


async def test_a_form_field_over_the_parser_limit_is_422(env: Env) -> None:
    r = await env.client.post(
        f"{API}/public/reports", data={"category": "RPT-01", "description": "x" * (1024 * 1024 + 1)}
    )
    assert_problem(r, 422, "invalid_form")


async def test_control_characters_are_refused_not_a_500(env: Env) -> None:
    h = env.auth("inspector_baiyun")
    r = await env.client.post(
        f"{API}/findings", headers=h, json={"area_code": "v-baiyun-g1", "title": "堵塞\u0000通道"}
    )
    # A NUL is refused before any endpoint, for every input (tests/test_nul_character.py).
    assert_problem(r, 422, "invalid_characters")
    r = await env.client.post(f"{API}/public/reports", data={"category": "RPT-01", "description": "a\x00b"})
    assert_problem(r, 422, "invalid_characters")


async def test_out_of_range_integers_are_422_not_a_500(env: Env) -> None:
    h = env.auth("inspector_baiyun")
    r = await env.client.get(f"{API}/checklists/fire_exits", headers=h, params={"version": 99_999_999_999})
    assert_problem(r, 422, "validation_error")
    body = inspection_body(checklist_version=99_999_999_999)
    r = await env.client.put(f"{API}/inspections/{new_id()}", headers=h, json=body)
    assert_problem(r, 422, "validation_error")


async def test_a_malformed_multipart_body_is_422(env: Env) -> None:
    h = env.auth("inspector_baiyun")
    # A multipart type without a boundary, and a part without a name.
    r = await env.client.put(
        f"{API}/photos/{new_id()}", headers={**h, "Content-Type": "multipart/form-data"}, content=b"x"
    )
    assert_problem(r, 422, "invalid_form")
    body = b'--xyz\r\nContent-Disposition: form-data; filename="a.jpg"\r\n\r\nabc\r\n--xyz--\r\n'
    r = await env.client.put(
        f"{API}/photos/{new_id()}",
        headers={**h, "Content-Type": "multipart/form-data; boundary=xyz"},
        content=body,
    )
    assert_problem(r, 422, "invalid_form")
