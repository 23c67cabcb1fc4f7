"""GET /findings/export: the findings ledger (隐患台账) as an Excel workbook."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.conftest import Env
from tests.helpers import (
    API,
    BAIYUN_SHOP,
    GENERAL_ITEM,
    QINGSHAN_CLUB,
    assert_problem,
    new_id,
    open_finding,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def sheet_rows(env: Env, user: str, **params: str) -> list[tuple[object, ...]]:
    r = await env.client.get(f"{API}/findings/export", params=params, headers=env.auth(user))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    assert r.headers["content-disposition"].startswith('attachment; filename="findings-')
    book = load_workbook(io.BytesIO(r.content), read_only=True)
    return [tuple(row) for row in book["隐患台账"].iter_rows(values_only=True)]


async def test_the_ledger_lists_what_the_list_lists_in_scope(env: Env) -> None:
    tok = new_id()[:8]
    mine = await open_finding(env, venue=BAIYUN_SHOP, note=f"台账 {tok} 白云")
    other = await open_finding(env, venue=QINGSHAN_CLUB, user="inspector_qingshan", note=f"台账 {tok} 青山")

    rows = await sheet_rows(env, "supervisor", q=tok)
    assert rows[0][:3] == ("编号", "场所", "区域")
    by_id = {row[0]: row for row in rows[1:]}
    assert set(by_id) == {mine, other}
    row = by_id[mine]
    assert row[1] == "白云便利店" and row[2] == "白云村第一网格"
    assert (row[3], row[4], row[6], row[7], row[9]) == ("检查", GENERAL_ITEM, "一般隐患", "待整改", "否")
    assert str(row[5]).endswith(f"\n台账 {tok} 白云")

    # Scope holds: an inspector's ledger has only their village.
    rows = await sheet_rows(env, "inspector_baiyun", q=tok)
    assert [row[0] for row in rows[1:]] == [mine]
    # The list's filters apply.
    rows = await sheet_rows(env, "supervisor", q=tok, area="v-qingshan")
    assert [row[0] for row in rows[1:]] == [other]


async def test_the_ledger_refuses_bad_filters_and_strangers(env: Env) -> None:
    r = await env.client.get(
        f"{API}/findings/export", params={"status": "lost"}, headers=env.auth("supervisor")
    )
    assert_problem(r, 422, "validation_error")
    assert_problem(await env.client.get(f"{API}/findings/export"), 401, "unauthorized")


async def test_text_that_looks_like_a_formula_stays_text(env: Env) -> None:
    tok = new_id()[:8]
    title = f'=HYPERLINK("http://example.invalid/{tok}","点此")'
    r = await env.client.post(
        f"{API}/findings",
        json={"area_code": "v-baiyun-g1", "title": title},
        headers=env.auth("inspector_baiyun"),
    )
    assert r.status_code == 201, r.text
    export = await env.client.get(f"{API}/findings/export", params={"q": tok}, headers=env.auth("supervisor"))
    book = load_workbook(io.BytesIO(export.content))
    (cell,) = [row[5] for row in book["隐患台账"].iter_rows(min_row=2)]
    assert cell.data_type == "s" and cell.value == title
