"""PUT/GET /venues: create and update under the client's id, scope, search, filters and pagination."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import Env, venue_id
from tests.helpers import (
    API,
    BAIYUN_SHOP,
    GENERAL_ITEM,
    assert_problem,
    fail,
    inspection_body,
    new_id,
    pages,
    put_inspection,
    put_venue,
    sh_today,
)

A = "inspector_baiyun"


def token() -> str:
    return "Vt" + uuid.uuid4().hex[:10]


def venue_body(name: str, area: str = "v-baiyun-g1", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "small_restaurant",
        "address": "白云村二组7号",
        "area_code": area,
        "lat": 31.402,
        "lng": 109.633,
        "owner_name": "赵六",
        "owner_phone": "13900000000",
        **extra,
    }


async def put(env: Env, vid: str, body: dict[str, Any], user: str = A) -> Any:
    return await env.client.put(f"{API}/venues/{vid}", json=body, headers=env.auth(user))


async def test_put_creates_then_updates(env: Env) -> None:
    vid = new_id()
    body = venue_body(f"{token()}小馆")
    r = await put(env, vid, body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created == {
        "id": vid,
        **body,
        "risk_level": "normal",
        "built_year": None,
        "last_inspected_at": None,
        "open_findings": 0,
        # Never inspected: due since it was registered (today).
        "last_inspected_on": None,
        "next_due": sh_today().isoformat(),
        "due": True,
    }
    # The same body again: idempotent.
    again = await put(env, vid, body)
    assert again.status_code == 200
    assert again.json() == created
    # A changed body replaces the fields.
    changed = {**body, "name": body["name"] + "（新）", "risk_level": "high", "area_code": "v-baiyun-g2"}
    changed.pop("owner_phone")
    r = await put(env, vid, changed)
    assert r.status_code == 200, r.text
    got = (await env.client.get(f"{API}/venues/{vid}", headers=env.auth(A))).json()
    assert got == r.json()
    assert (got["name"], got["risk_level"], got["area_code"], got["owner_phone"]) == (
        changed["name"],
        "high",
        "v-baiyun-g2",
        None,
    )
    # A GET body can be PUT back as it is.
    assert (await put(env, vid, got)).status_code == 200


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"kind": "spaceport"}, 422, "unknown_venue_kind"),
        ({"area_code": "v-qingshan-g1"}, 403, "area_out_of_scope"),
        ({"area_code": "town"}, 403, "area_out_of_scope"),  # above the inspector's village
        ({"area_code": "no-such-area"}, 422, "unknown_area"),
        ({"risk_level": "extreme"}, 422, "validation_error"),
        ({"name": ""}, 422, "validation_error"),
        ({"lat": 123}, 422, "validation_error"),
        ({"unexpected": True}, 422, "validation_error"),
    ],
)
async def test_put_refusals(env: Env, change: dict[str, Any], status: int, code: str) -> None:
    vid = new_id()
    assert_problem(await put(env, vid, {**venue_body(token()), **change}), status, code)
    r = await env.client.get(f"{API}/venues/{vid}", headers=env.auth("supervisor"))
    assert_problem(r, 404, "venue_not_found")


async def test_supervisor_may_place_a_venue_anywhere_in_town(env: Env) -> None:
    for area in ("town", "v-qingshan-g2", "c-jiezhen"):
        r = await put(env, new_id(), venue_body(token(), area), "supervisor")
        assert r.status_code == 201, r.text


async def test_an_out_of_scope_venue_cannot_be_updated(env: Env) -> None:
    vid = new_id()
    body = venue_body(token())
    assert (await put(env, vid, body)).status_code == 201
    # Taking it over into one's own village: 404, as if it did not exist.
    grab = {**body, "area_code": "v-qingshan-g1", "name": "改名"}
    assert_problem(await put(env, vid, grab, "inspector_qingshan"), 404, "venue_not_found")
    # Leaving it where it is: the area is not the caller's to write to.
    assert_problem(
        await put(env, vid, {**body, "name": "改名"}, "inspector_qingshan"), 403, "area_out_of_scope"
    )
    got = (await env.client.get(f"{API}/venues/{vid}", headers=env.auth(A))).json()
    assert (got["name"], got["area_code"]) == (body["name"], "v-baiyun-g1")
    # An inspector cannot move a venue of the village out of it either.
    assert_problem(await put(env, vid, {**body, "area_code": "v-qingshan-g1"}), 403, "area_out_of_scope")


async def test_venue_stats(env: Env) -> None:
    vid = await put_venue(env, token(), user=A)
    reply = await put_inspection(env, inspection_body(vid, [fail(GENERAL_ITEM)]), A)
    got = (await env.client.get(f"{API}/venues/{vid}", headers=env.auth(A))).json()
    assert got["last_inspected_at"] == reply["submitted_at"]
    assert got["open_findings"] == 1


async def test_demo_venue(env: Env) -> None:
    r = await env.client.get(f"{API}/venues/{venue_id(BAIYUN_SHOP)}", headers=env.auth(A))
    assert r.status_code == 200
    v = r.json()
    assert (v["name"], v["kind"], v["area_code"], v["risk_level"]) == (
        BAIYUN_SHOP,
        "small_retail",
        "v-baiyun-g1",
        "normal",
    )


# --------------------------------------------------------------------------- list


async def names(env: Env, user: str = "supervisor", **params: Any) -> list[str]:
    return [v["name"] async for items, _ in pages(env, "/venues", user, **params) for v in items]


async def test_search_and_filters(env: Env) -> None:
    tok = token()
    await put_venue(env, f"{tok} 甲便利店", "v-baiyun-g1", "small_retail", risk_level="high")
    await put_venue(env, f"{tok} 乙饭店", "v-baiyun-g2", "small_restaurant")
    await put_venue(env, f"{tok} 丙旅馆", "v-qingshan-g1", "small_lodging", risk_level="low")
    await put_venue(env, "无关场所", "v-baiyun-g1", "small_retail", address=f"{tok} 路 1 号")
    await put_venue(env, "另一家", "c-jiezhen-g1", "small_retail", owner_name=f"{tok}先生")
    all_five = await names(env, q=tok)
    assert sorted(all_five) == sorted(
        [f"{tok} 甲便利店", f"{tok} 乙饭店", f"{tok} 丙旅馆", "无关场所", "另一家"]
    )
    assert await names(env, q=tok.lower()) == all_five  # the same order: by name, then id
    assert await names(env, q=f"{tok} 乙") == [f"{tok} 乙饭店"]
    assert sorted(await names(env, q=tok, kind="small_retail")) == sorted(
        [f"{tok} 甲便利店", "无关场所", "另一家"]
    )
    assert await names(env, q=tok, kind="small_lodging") == [f"{tok} 丙旅馆"]
    assert await names(env, q=tok, kind="enterprise") == []
    assert sorted(await names(env, q=tok, area="v-baiyun")) == sorted(
        [f"{tok} 甲便利店", f"{tok} 乙饭店", "无关场所"]
    )
    assert await names(env, q=tok, area="v-baiyun-g2") == [f"{tok} 乙饭店"]
    assert await names(env, q=tok, risk_level="high") == [f"{tok} 甲便利店"]
    # Scope: an inspector sees the venues of the village only.
    assert sorted(await names(env, A, q=tok)) == sorted([f"{tok} 甲便利店", f"{tok} 乙饭店", "无关场所"])
    assert await names(env, "inspector_qingshan", q=tok) == [f"{tok} 丙旅馆"]
    assert await names(env, "inspector_qingshan", q=tok, area="v-baiyun") == []


async def test_list_items_have_the_venue_fields(env: Env) -> None:
    tok = token()
    vid = await put_venue(env, f"{tok} 字段", owner_phone="13700000000")
    r = await env.client.get(f"{API}/venues", params={"q": tok}, headers=env.auth(A))
    (item,) = r.json()["items"]
    assert item["id"] == vid
    assert set(item) >= {
        "id",
        "name",
        "kind",
        "address",
        "area_code",
        "lat",
        "lng",
        "owner_name",
        "owner_phone",
        "risk_level",
    }
    assert item["owner_phone"] == "13700000000"


@pytest.mark.parametrize("limit", [1, 2, 3])
async def test_pagination_by_name(env: Env, limit: int) -> None:
    tok = token()
    made = [f"{tok} {c}" for c in "EBDAFC"]
    for n in made:
        await put_venue(env, n)
    await put_venue(env, f"{tok} B")  # the same name twice: the id breaks the tie
    seen: list[str] = []
    ids: list[str] = []
    count = 0
    async for items, more in pages(env, "/venues", A, limit=limit, q=tok):
        count += 1
        seen += [v["name"] for v in items]
        ids += [v["id"] for v in items]
        if more:
            # A venue added behind the cursor does not shift later pages.
            await put_venue(env, f"{tok} 0-added-{count}")
    assert len(ids) == len(set(ids))
    expected = sorted([*made, f"{tok} B"])
    assert [n for n in seen if "added" not in n] == expected


async def test_venue_list_refusals(env: Env) -> None:
    r = await env.client.get(f"{API}/venues", params={"cursor": "@@@"}, headers=env.auth(A))
    assert_problem(r, 422, "invalid_cursor")
    r = await env.client.get(f"{API}/venues", params={"limit": 10**6}, headers=env.auth(A))
    assert r.status_code == 200 and len(r.json()["items"]) <= 200
    assert_problem(await env.client.get(f"{API}/venues"), 401, "unauthorized")


async def test_racing_puts_of_a_new_venue_make_one(env: Env) -> None:
    import asyncio

    vid = new_id()
    body = venue_body(f"{token()} 并发")
    rs = await asyncio.gather(*(put(env, vid, body) for _ in range(3)))
    assert sorted(r.status_code for r in rs) == [200, 200, 201], [r.text for r in rs]
    assert all(r.json() == rs[0].json() for r in rs)
    assert await names(env, q=body["name"]) == [body["name"]]
