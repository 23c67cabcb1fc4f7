"""Who may call what on whose object: every id-taking endpoint × every kind of caller.

Out of scope answers 404 (existence must not leak), the wrong role 403, no or a bad token 401; every
refusal is problem+json with a `code`, and a refused change leaves the object exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Env
from tests.helpers import (
    API,
    GENERAL_ZERO_DAY,
    act,
    assert_problem,
    fail,
    get_finding,
    inspection_body,
    make_user,
    new_id,
    put_inspection,
    put_photo,
    put_venue,
    sh_today,
)

OWNER = "inspector_baiyun"
# caller -> the area it would put a venue in
ACTORS = {
    "same_village": "v-baiyun-g2",
    "other_village": "v-qingshan-g1",
    "supervisor": "v-baiyun-g2",
    "other_supervisor": "v-qingshan-g1",
    "anonymous": "v-baiyun-g2",
    "bad_token": "v-baiyun-g2",
}


def _row(ok: int | tuple[int, str], nf: str, staff: int | tuple[int, str] | None = None) -> dict[str, Any]:
    staff = staff if staff is not None else ok
    return {
        "same_village": ok,
        "other_village": (404, nf),
        "supervisor": staff,
        "other_supervisor": (404, nf),
        "anonymous": (401, "unauthorized"),
        "bad_token": (401, "invalid_token"),
    }


ROLE_REQUIRED = (403, "role_required")
MATRIX: dict[str, dict[str, Any]] = {
    "get_venue": _row(200, "venue_not_found"),
    "put_venue": _row(200, "venue_not_found"),
    "get_photo": _row(200, "photo_not_found"),
    "get_thumbnail": _row(200, "photo_not_found"),
    "get_photo_meta": _row(200, "photo_not_found"),
    "get_inspection": _row(200, "inspection_not_found"),
    "get_finding": _row(200, "finding_not_found"),
    "rectification": _row(200, "finding_not_found"),
    "verification": _row(200, "finding_not_found"),
    "extension": {**_row(ROLE_REQUIRED, "finding_not_found", 200), "other_village": ROLE_REQUIRED},
    "void": {**_row(ROLE_REQUIRED, "finding_not_found", 200), "other_village": ROLE_REQUIRED},
}

CASES = [(endpoint, actor) for endpoint in MATRIX for actor in ACTORS]

_other_supervisor: dict[str, dict[str, str]] = {}


async def headers_for(env: Env, actor: str) -> dict[str, str]:
    if actor == "same_village":
        return env.auth("inspector_baiyun2")
    if actor == "other_village":
        return env.auth("inspector_qingshan")
    if actor == "supervisor":
        return env.auth("supervisor")
    if actor == "other_supervisor":
        if env.backend not in _other_supervisor:
            _other_supervisor[env.backend] = await make_user(
                env, "supervisor_qingshan_only", "supervisor", ["v-qingshan"]
            )
        return _other_supervisor[env.backend]
    if actor == "bad_token":
        return {"Authorization": "Bearer not-a-token-this-server-gave-out"}
    return {}


@dataclass
class Objects:
    venue_id: str
    venue_body: dict[str, Any]
    photo_id: str
    inspection_id: str
    finding_id: str


async def make_objects(env: Env, submitted: bool) -> Objects:
    """A venue in 白云村 with an inspection by its inspector, a photo and one finding."""
    body = {"name": f"授权测试店 {new_id()[:8]}", "kind": "small_retail", "area_code": "v-baiyun-g1"}
    vid = await put_venue(env, body["name"], user=OWNER)
    photo = await put_photo(env, OWNER)
    iid = new_id()
    # A general item: a suspected major hazard would first need the office's decision to close.
    reply = await put_inspection(env, inspection_body(vid, [fail(GENERAL_ZERO_DAY, [photo])]), OWNER, iid)
    fid = str(reply["finding_ids"][0])
    if submitted:
        assert (await act(env, fid, "rectification", OWNER)).status_code == 200
    return Objects(vid, body, photo, iid, fid)


async def call(env: Env, endpoint: str, objs: Objects, actor: str) -> httpx.Response:
    h = await headers_for(env, actor)
    c = env.client
    if endpoint == "get_venue":
        return await c.get(f"{API}/venues/{objs.venue_id}", headers=h)
    if endpoint == "put_venue":
        body = {**objs.venue_body, "area_code": ACTORS[actor], "address": "改过的地址"}
        return await c.put(f"{API}/venues/{objs.venue_id}", json=body, headers=h)
    if endpoint == "get_photo":
        return await c.get(f"{API}/photos/{objs.photo_id}", headers=h)
    if endpoint == "get_thumbnail":
        return await c.get(f"{API}/photos/{objs.photo_id}/thumbnail", headers=h)
    if endpoint == "get_photo_meta":
        return await c.get(f"{API}/photos/{objs.photo_id}/meta", headers=h)
    if endpoint == "get_inspection":
        return await c.get(f"{API}/inspections/{objs.inspection_id}", headers=h)
    if endpoint == "get_finding":
        return await c.get(f"{API}/findings/{objs.finding_id}", headers=h)
    bodies = {
        "rectification": {"note": "已整改", "photo_ids": []},
        "verification": {"result": "pass", "note": "合格"},
        "extension": {"deadline": (sh_today() + timedelta(days=300)).isoformat(), "reason": "延期"},
        "void": {"reason": "误报"},
    }
    return await c.post(f"{API}/findings/{objs.finding_id}/{endpoint}", json=bodies[endpoint], headers=h)


def check_success(endpoint: str, r: httpx.Response, objs: Objects) -> None:
    if endpoint in ("get_photo", "get_thumbnail"):
        assert r.headers["content-type"] == "image/jpeg"
        assert r.content[:3] == b"\xff\xd8\xff"
        return
    body = r.json()
    if endpoint == "get_photo_meta":
        assert body["id"] == objs.photo_id
    elif endpoint in ("get_venue", "put_venue"):
        assert body["id"] == objs.venue_id
    elif endpoint == "get_inspection":
        assert body["id"] == objs.inspection_id
        assert body["finding_ids"] == [objs.finding_id]
    else:
        assert body["id"] == objs.finding_id
        expected_status = {
            "get_finding": "open",
            "rectification": "submitted",
            "verification": "closed",
            "extension": "submitted",
            "void": "void",
        }[endpoint]
        assert body["status"] == expected_status


@pytest.mark.parametrize(("endpoint", "actor"), CASES, ids=[f"{e}-{a}" for e, a in CASES])
async def test_authorization(env: Env, endpoint: str, actor: str) -> None:
    objs = await make_objects(env, submitted=endpoint in ("verification", "extension"))
    before_finding = await get_finding(env, objs.finding_id)
    before_venue = (await env.client.get(f"{API}/venues/{objs.venue_id}", headers=env.auth(OWNER))).json()

    r = await call(env, endpoint, objs, actor)

    expected = MATRIX[endpoint][actor]
    if isinstance(expected, int):
        assert r.status_code == expected, r.text
        check_success(endpoint, r, objs)
        return
    status, code = expected
    body = assert_problem(r, status, code)
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"
    # Out of scope reads exactly like missing: the same answer as for an id that does not exist.
    if status == 404:
        missing = Objects(new_id(), objs.venue_body, new_id(), new_id(), new_id())
        if endpoint != "put_venue":  # a PUT of a new id would create it
            r2 = await call(env, endpoint, missing, actor)
            assert r2.status_code == 404 and r2.json()["code"] == code
            assert {k: v for k, v in r2.json().items() if k != "detail"} == {
                k: v for k, v in body.items() if k != "detail"
            }
    # A refused call changed nothing.
    assert await get_finding(env, objs.finding_id) == before_finding
    after_venue = (await env.client.get(f"{API}/venues/{objs.venue_id}", headers=env.auth(OWNER))).json()
    assert after_venue == before_venue


async def test_admin_sees_everything(env: Env) -> None:
    objs = await make_objects(env, submitted=False)
    h = env.auth("admin")
    for path in (
        f"/venues/{objs.venue_id}",
        f"/photos/{objs.photo_id}",
        f"/inspections/{objs.inspection_id}",
        f"/findings/{objs.finding_id}",
    ):
        r = await env.client.get(API + path, headers=h)
        assert r.status_code == 200, (path, r.text)


async def test_lists_are_scoped(env: Env) -> None:
    objs = await make_objects(env, submitted=False)
    for path, key in (
        (f"/findings?venue_id={objs.venue_id}", "finding_id"),
        (f"/inspections?venue_id={objs.venue_id}", "inspection_id"),
    ):
        seen = await env.client.get(API + path, headers=env.auth("inspector_baiyun2"))
        assert [i["id"] for i in seen.json()["items"]] == [getattr(objs, key)]
        hidden = await env.client.get(API + path, headers=env.auth("inspector_qingshan"))
        assert hidden.status_code == 200 and hidden.json() == {"items": [], "next_cursor": None}
    r = await env.client.get(
        f"{API}/venues", params={"q": objs.venue_body["name"]}, headers=env.auth("inspector_qingshan")
    )
    assert r.json()["items"] == []


async def test_an_unattached_photo_is_its_uploaders_alone(env: Env) -> None:
    photo = await put_photo(env, OWNER)
    assert (await env.client.get(f"{API}/photos/{photo}", headers=env.auth(OWNER))).status_code == 200
    r = await env.client.get(f"{API}/photos/{photo}", headers=env.auth("inspector_qingshan"))
    assert_problem(r, 404, "photo_not_found")
