"""The OpenAPI document lists what each call answers, every error as application/problem+json with the
one Problem schema; what the API really answers is in it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Env
from tests.helpers import API, PROBLEM_JSON, assert_problem, make_jpeg, new_id

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture
async def spec(env: Env) -> dict[str, Any]:
    r = await env.client.get(f"{API}/openapi.json")
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


def documented(spec: dict[str, Any], method: str, path: str) -> set[int]:
    return {int(s) for s in spec["paths"][path][method]["responses"]}


async def test_every_error_is_a_problem(spec: dict[str, Any]) -> None:
    assert spec["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "status",
        "title",
        "detail",
        "code",
    ]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    operations = 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            operations += 1
            errors = {s: r for s, r in op["responses"].items() if int(s) >= 400}
            assert "422" in errors, (method, path)
            for status, response in errors.items():
                assert response["content"] == {PROBLEM_JSON: {"schema": PROBLEM_REF}}, (method, path, status)
                assert response["description"]
            if op.get("security"):
                assert {"401", "403"} <= set(errors), (method, path)
            if "{" in path:
                assert "404" in errors, (method, path)
    assert operations > 30


async def test_what_the_api_answers_is_documented(env: Env, spec: dict[str, Any]) -> None:
    inspector = env.auth("inspector_baiyun")
    cases: list[tuple[str, str, httpx.Response]] = [
        ("get", "/api/v1/me", await env.client.get(f"{API}/me")),  # 401
        (
            "post",
            "/api/v1/auth/token",
            await env.client.post(f"{API}/auth/token", data={"username": "x", "password": "y"}),
        ),
        ("get", "/api/v1/reports", await env.client.get(f"{API}/reports", headers=inspector)),  # 403
        (
            "get",
            "/api/v1/findings/{finding_id}",
            await env.client.get(f"{API}/findings/{new_id()}", headers=inspector),
        ),
        (
            "put",
            "/api/v1/photos/{photo_id}",
            await env.client.put(
                f"{API}/photos/{new_id()}",
                headers=inspector,
                files={"file": ("a.txt", b"plain text", "text/plain")},
            ),
        ),  # 415
        ("get", "/api/v1/venues", await env.client.get(f"{API}/venues?area=no-such-area", headers=inspector)),
        ("get", "/api/v1/venues", await env.client.get(f"{API}/venues?cursor=%00", headers=inspector)),
    ]
    photo_id = new_id()
    first = await env.client.put(
        f"{API}/photos/{photo_id}", headers=inspector, files={"file": ("a.jpg", make_jpeg(), "image/jpeg")}
    )
    assert first.status_code == 201
    cases.append(
        (
            "put",
            "/api/v1/photos/{photo_id}",
            await env.client.put(
                f"{API}/photos/{photo_id}",
                headers=inspector,
                files={"file": ("b.jpg", make_jpeg(), "image/jpeg")},
            ),
        )
    )  # 409
    cases.append(
        (
            "put",
            "/api/v1/venues/{venue_id}",
            await env.client.put(
                f"{API}/venues/{new_id()}", headers=inspector, content=b"{" + b" " * (2 << 20) + b"}"
            ),
        )
    )  # 413
    seen = set()
    for method, path, r in cases:
        assert r.status_code >= 400, (method, path, r.status_code)
        assert_problem(r, r.status_code)
        assert r.status_code in documented(spec, method, path), (method, path, r.status_code)
        seen.add(r.status_code)
    assert seen >= {401, 403, 404, 409, 413, 415, 422}


async def test_an_unknown_area_in_a_list_filter_is_422(env: Env) -> None:
    for path in ("/venues", "/reports"):
        r = await env.client.get(
            f"{API}{path}", params={"area": "no-such-area"}, headers=env.auth("supervisor")
        )
        assert_problem(r, 422, "unknown_area")
    r = await env.client.get(
        f"{API}/stats/areas",
        params={"area": "no-such-area", "from": "2026-01-01", "to": "2026-12-31"},
        headers=env.auth("supervisor"),
    )
    assert_problem(r, 422, "unknown_area")
    # A known area still filters.
    r = await env.client.get(f"{API}/venues", params={"area": "v-baiyun"}, headers=env.auth("supervisor"))
    assert r.status_code == 200 and r.json()["items"]


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, "off"])
async def test_booleans_in_bodies_are_json_booleans(env: Env, value: object) -> None:
    r = await env.client.post(
        f"{API}/reports/{new_id()}/reward",
        json={"eligible": value, "amount": "100"},
        headers=env.auth("supervisor"),
    )
    body = assert_problem(r, 422, "validation_error")
    assert "eligible must be true or false" in body["detail"]


async def test_a_real_boolean_passes_the_check(env: Env) -> None:
    r = await env.client.post(
        f"{API}/reports/{new_id()}/reward",
        json={"eligible": True, "amount": "100"},
        headers=env.auth("supervisor"),
    )
    assert_problem(r, 404)  # past validation: the report does not exist
