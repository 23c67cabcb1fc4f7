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
    act,
    assert_problem,
    get_finding,
    new_id,
    open_finding,
    set_finding_fields,
    undrawn,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMNS = (
    "隐患编号",
    "系统ID",
    "场所",
    "负责人",
    "联系电话",
    "区域",
    "来源",
    "检查项",
    "隐患描述",
    "等级",
    "状态",
    "整改期限",
    "是否逾期",
    "督办级别",
    "整改措施",
    "整改人",
    "复查人",
    "发现时间",
    "销号时间",
)


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
    assert rows[0] == COLUMNS
    by_id = {row[1]: dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]}
    assert set(by_id) == {mine, other}
    row = by_id[mine]
    finding = await get_finding(env, mine)
    assert row["隐患编号"] == finding["number"] and str(row["隐患编号"]).startswith("FX-")
    assert (row["场所"], row["负责人"], row["联系电话"], row["区域"]) == (
        "白云便利店",
        "张华",
        "13800000001",
        "白云村第一网格",
    )
    # The checklist item's text, not its code.
    assert row["检查项"] == finding["checklist_item"] and row["检查项"] != GENERAL_ITEM
    assert (row["来源"], row["等级"], row["状态"], row["是否逾期"], row["督办级别"]) == (
        "检查发现",
        "一般隐患",
        "待整改",
        "否",
        "未督办",
    )
    assert str(row["隐患描述"]).endswith(f"\n台账 {tok} 白云")

    # Scope holds: an inspector's ledger has only their village.
    rows = await sheet_rows(env, await undrawn(env, ["v-baiyun"]), q=tok)
    assert [row[1] for row in rows[1:]] == [mine]
    # The list's filters apply.
    rows = await sheet_rows(env, "supervisor", q=tok, area="v-qingshan")
    assert [row[1] for row in rows[1:]] == [other]


async def test_the_ledger_names_measures_rectifier_verifier_and_level(env: Env) -> None:
    tok = new_id()[:8]
    fid = await open_finding(env, venue=BAIYUN_SHOP, note=f"台账 {tok} 复查")
    r = await act(env, fid, "rectification", "inspector_baiyun", {"note": f"已更换插座 {tok}"})
    assert r.status_code == 200, r.text
    r = await act(env, fid, "verification", "inspector_baiyun2")
    assert r.status_code == 200, r.text
    late = await open_finding(env, venue=BAIYUN_SHOP, note=f"台账 {tok} 逾期")
    await set_finding_fields(env, late, escalation_level=2)

    r = await env.client.get(f"{API}/findings/export", params={"q": tok}, headers=env.auth("supervisor"))
    book = load_workbook(io.BytesIO(r.content))
    sheet = book["隐患台账"]
    # The office filters the table in Excel: the autofilter covers the header and every row.
    assert sheet.auto_filter.ref == f"A1:S{sheet.max_row}"
    rows = {
        row[1]: dict(zip(COLUMNS, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    closed = rows[fid]
    assert (closed["状态"], closed["整改措施"], closed["整改人"], closed["复查人"]) == (
        "已销号",
        f"已更换插座 {tok}",
        "白云村网格员 王芳",
        "白云村网格员 陈刚",
    )
    assert rows[late]["督办级别"] == "二级督办(逾期7天)"
    assert not rows[late]["整改人"] and not rows[late]["复查人"]


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
    (cell,) = [row[8] for row in book["隐患台账"].iter_rows(min_row=2)]
    assert cell.data_type == "s" and cell.value == title
