"""A NUL character anywhere in a request's text is 422 `invalid_characters`, never a 500 (PostgreSQL cannot
store it) and never stored (SQLite would). On both databases, for every way text reaches the API."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Env
from tests.helpers import API, assert_problem, make_jpeg, new_id
from tests.test_public_reports import public_app, submit

NUL = "\x00"


def _nul(r: httpx.Response) -> None:
    assert_problem(r, 422, "invalid_characters")


async def test_sign_in_form_fields(env: Env) -> None:
    # URL-encoded, as a browser or curl sends it; no account is needed to reach this.
    _nul(await env.client.post(f"{API}/auth/token", data={"username": f"admin{NUL}", "password": "x" * 10}))
    _nul(await env.client.post(f"{API}/auth/token", data={"username": "admin", "password": f"pw{NUL}pw"}))
    # The same form as multipart.
    r = await env.client.post(
        f"{API}/auth/token",
        data={"username": f"ad{NUL}min", "password": "x" * 10},
        files={"unused": ("a.bin", b"\x00\x01", "application/octet-stream")},
    )
    _nul(r)


@pytest.mark.parametrize(
    "path",
    [
        "/venues?q=%00",
        "/venues?area=v-baiyun%00",
        "/findings?q=a%00b",
        "/findings?cursor=%00",
        "/inspections?cursor=abc%00",
        "/findings?status=open%00",
        "/checklists/small_venue_fire%00",
        "/checklists/%00",
        "/venues/%00",
    ],
)
async def test_query_and_path_parameters(env: Env, path: str) -> None:
    _nul(await env.client.get(API + path, headers=env.auth("supervisor")))


async def test_public_receipt_in_the_path(env: Env) -> None:
    async with public_app(env) as (_, c):
        _nul(await c.get(f"{API}/public/reports/ABCDE%00-FGHIJ"))


async def test_json_bodies(env: Env) -> None:
    vid = new_id()
    body = {"name": f"小卖部{NUL}", "kind": "small_retail", "area_code": "v-baiyun-g1"}
    _nul(await env.client.put(f"{API}/venues/{vid}", json=body, headers=env.auth("supervisor")))
    nested = {
        "name": "小卖部",
        "kind": "small_retail",
        "area_code": "v-baiyun-g1",
        "address": f"老街{NUL}1号",
    }
    _nul(await env.client.put(f"{API}/venues/{vid}", json=nested, headers=env.auth("supervisor")))
    r = await env.client.get(f"{API}/venues/{vid}", headers=env.auth("supervisor"))
    assert r.status_code == 404  # nothing was written

    # The six characters \u0000 as text (an escaped backslash) are ordinary text.
    literal = {"name": "小卖部\\u0000", "kind": "small_retail", "area_code": "v-baiyun-g1"}
    r = await env.client.put(f"{API}/venues/{vid}", json=literal, headers=env.auth("supervisor"))
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "小卖部\\u0000"


async def test_multipart_text_fields_but_not_files(env: Env) -> None:
    async with public_app(env) as (_, c):
        _nul(await submit(c, description=f"楼道{NUL}堵塞"))
        _nul(await submit(c, location_text=f"老街{NUL}"))
        # A photo is binary and full of zero bytes: that is no reason to refuse it.
        photo = make_jpeg(64, 48)
        assert b"\x00" in photo
        r = await submit(c, files=[photo])
        assert r.status_code == 201, r.text
