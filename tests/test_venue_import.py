"""POST /venues/import: .csv (UTF-8 or GBK) and .xlsx lists; bad rows named with their reasons; all or
nothing."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from openpyxl import Workbook

from tests.conftest import Env
from tests.helpers import API, assert_problem, make_user, new_id

HEADER_ZH = ["名称", "类型", "区域编码", "地址", "负责人", "联系电话", "风险等级", "纬度", "经度"]
HEADER_EN = ["name", "kind", "area_code", "address", "owner_name", "owner_phone", "risk_level", "lat", "lng"]


def token() -> str:
    return "Im" + uuid.uuid4().hex[:10]


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    import csv

    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def send(
    env: Env,
    data: bytes,
    name: str = "venues.csv",
    user: str = "supervisor",
    headers: dict[str, str] | None = None,
) -> Any:
    ctype = "text/csv" if name.endswith(".csv") else "application/octet-stream"
    return await env.client.post(
        f"{API}/venues/import",
        files={"file": (name, data, ctype)},
        headers=headers if headers is not None else env.auth(user),
    )


async def listed(env: Env, tok: str) -> dict[str, dict[str, Any]]:
    r = await env.client.get(f"{API}/venues", params={"q": tok, "limit": 200}, headers=env.auth("supervisor"))
    assert r.status_code == 200
    return {v["name"]: v for v in r.json()["items"]}


@pytest.mark.parametrize("fmt", ["csv", "csv-gbk", "xlsx"])
async def test_import_creates_then_updates(env: Env, fmt: str) -> None:
    tok = token()
    rows: list[list[Any]] = [
        HEADER_ZH,
        [
            f"{tok}便利店",
            "small_retail",
            "v-baiyun-g1",
            "白云村一组1号",
            "张三",
            "13800001111",
            "高",
            31.4,
            109.6,
        ],
        [f"{tok}棋牌室", "小休闲健身场所", "v-qingshan-g1", "青山村二组", "李四", "", "", "", ""],
        [f"{tok}自建房", "self_built_house", "c-jiezhen", None, None, None, "low", None, None],
    ]
    data = (
        xlsx_bytes(rows) if fmt == "xlsx" else csv_bytes(rows, "gb18030" if fmt == "csv-gbk" else "utf-8-sig")
    )
    name = "场所.xlsx" if fmt == "xlsx" else "场所.csv"
    r = await send(env, data, name)
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 3, "updated": 0, "errors": []}
    got = await listed(env, tok)
    shop = got[f"{tok}便利店"]
    assert (shop["kind"], shop["area_code"], shop["address"], shop["owner_name"]) == (
        "small_retail",
        "v-baiyun-g1",
        "白云村一组1号",
        "张三",
    )
    assert shop["owner_phone"] == "13800001111"
    assert shop["risk_level"] == "high"
    assert (shop["lat"], shop["lng"]) == (31.4, 109.6)
    club = got[f"{tok}棋牌室"]
    assert (club["kind"], club["risk_level"], club["owner_phone"], club["lat"]) == (
        "small_leisure",
        "normal",
        None,
        None,
    )
    assert got[f"{tok}自建房"]["risk_level"] == "low"

    # The same list again updates (ids follow from area and name) instead of doubling.
    rows[1][3] = "白云村一组2号"
    data = (
        xlsx_bytes(rows) if fmt == "xlsx" else csv_bytes(rows, "gb18030" if fmt == "csv-gbk" else "utf-8-sig")
    )
    r = await send(env, data, name)
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 0, "updated": 3, "errors": []}
    again = await listed(env, tok)
    assert len(again) == 3
    assert again[f"{tok}便利店"]["address"] == "白云村一组2号"
    assert again[f"{tok}便利店"]["id"] == shop["id"]


async def test_import_with_ids_and_english_headers(env: Env) -> None:
    tok = token()
    vid = new_id()
    rows = [
        ["id", *HEADER_EN],
        [vid, f"{tok} Workshop", "small_workshop", "v-qingshan-g2", "", "", "", "normal", "", ""],
    ]
    r = await send(env, csv_bytes(rows))
    assert r.json() == {"created": 1, "updated": 0, "errors": []}
    got = await env.client.get(f"{API}/venues/{vid}", headers=env.auth("supervisor"))
    assert got.status_code == 200 and got.json()["name"] == f"{tok} Workshop"


async def test_bad_rows_are_listed_and_nothing_is_imported(env: Env) -> None:
    tok = token()
    rows: list[list[Any]] = [
        HEADER_ZH,
        [f"{tok}好的一行", "small_retail", "v-baiyun-g1"],
        [f"{tok}类型错", "rocket_shop", "v-baiyun-g1"],
        [],  # a blank line in the middle of the sheet
        [f"{tok}区域错", "small_retail", "no-such-area"],
        ["", "small_retail", "v-baiyun-g1"],
        [f"{tok}风险错", "small_retail", "v-baiyun-g1", "", "", "", "extreme"],
        [f"{tok}纬度错", "small_retail", "v-baiyun-g1", "", "", "", "", "north", ""],
        [f"{tok}好的一行", "small_retail", "v-baiyun-g1"],  # the same venue again
        [f"{tok}另一好行", "small_retail", "v-baiyun-g2"],
    ]
    r = await send(env, csv_bytes(rows))
    body = assert_problem(r, 422, "import_rejected")
    errors = {e["row"]: e["reason"] for e in body["errors"]}
    assert sorted(errors) == [3, 5, 6, 7, 8, 9]
    assert "rocket_shop" in errors[3]
    assert "no-such-area" in errors[5]
    assert errors[6].startswith("name")
    assert errors[7].startswith("risk_level")
    assert errors[8].startswith("lat")
    assert "twice" in errors[9]
    assert "6 row(s)" in body["detail"]
    # Nothing half-imported: not even the good rows.
    assert await listed(env, tok) == {}


async def test_import_is_all_or_nothing_for_xlsx_too(env: Env) -> None:
    tok = token()
    rows = [
        HEADER_EN,
        [f"{tok} ok", "small_retail", "v-baiyun-g1"],
        [f"{tok} bad", "small_retail", "nowhere"],
    ]
    body = assert_problem(await send(env, xlsx_bytes(rows), "v.xlsx"), 422, "import_rejected")
    assert body["errors"] == [{"row": 3, "reason": "area 'nowhere' unknown or outside your areas"}]
    assert await listed(env, tok) == {}


async def test_a_village_supervisor_imports_only_into_the_village(env: Env) -> None:
    h = await make_user(env, "supervisor_baiyun_import", "supervisor", ["v-baiyun"])
    tok = token()
    rows = [
        HEADER_EN,
        [f"{tok} in", "small_retail", "v-baiyun-g2"],
        [f"{tok} out", "small_retail", "v-qingshan-g1"],
    ]
    body = assert_problem(await send(env, csv_bytes(rows), headers=h), 422, "import_rejected")
    assert [e["row"] for e in body["errors"]] == [3]
    r = await send(env, csv_bytes(rows[:2]), headers=h)
    assert r.json() == {"created": 1, "updated": 0, "errors": []}
    # An id of a venue outside the village cannot be overwritten through a file.
    foreign = new_id()
    put = await env.client.put(
        f"{API}/venues/{foreign}",
        json={"name": f"{tok} foreign", "kind": "small_retail", "area_code": "v-qingshan-g1"},
        headers=env.auth("supervisor"),
    )
    assert put.status_code == 201
    rows = [["id", *HEADER_EN[:3]], [foreign, f"{tok} hijack", "small_retail", "v-baiyun-g1"]]
    assert_problem(await send(env, csv_bytes(rows), headers=h), 422, "import_rejected")
    got = await env.client.get(f"{API}/venues/{foreign}", headers=env.auth("supervisor"))
    assert (got.json()["name"], got.json()["area_code"]) == (f"{tok} foreign", "v-qingshan-g1")


@pytest.mark.parametrize(
    ("data", "name", "status", "code"),
    [
        (b"", "v.csv", 422, "empty_file"),
        (csv_bytes([["foo", "bar"], ["1", "2"]]), "v.csv", 422, "missing_columns"),
        (csv_bytes([HEADER_EN]), "v.csv", 200, None),
        (b"PK\x03\x04 definitely not a workbook", "v.xlsx", 422, "unreadable_file"),
        (bytes(range(128, 256)) * 4, "v.csv", 415, "unsupported_file"),
    ],
)
async def test_unusable_files(env: Env, data: bytes, name: str, status: int, code: str | None) -> None:
    r = await send(env, data, name)
    if status == 200:
        assert r.status_code == 200, r.text
        assert r.json() == {"created": 0, "updated": 0, "errors": []}
    else:
        assert_problem(r, status, code)


async def test_import_needs_a_supervisor(env: Env) -> None:
    rows = [HEADER_EN, [f"{token()} x", "small_retail", "v-baiyun-g1"]]
    assert_problem(await send(env, csv_bytes(rows), user="inspector_baiyun"), 403, "role_required")
    assert_problem(await send(env, csv_bytes(rows), headers={}), 401, "unauthorized")
