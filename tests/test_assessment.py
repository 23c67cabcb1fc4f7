"""GET /stats/areas: per-area figures for the assessment (考核), on a village made for the test alone."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook

from api.models import Finding, Report
from api.services.areas import upsert_area
from api.timeutil import LOCAL_TZ
from tests.clock import freeze
from tests.conftest import Env
from tests.helpers import (
    API,
    GENERAL_ITEM,
    MAJOR_ZERO_DAY,
    act,
    assert_problem,
    fail,
    file_finding,
    inspection_body,
    make_user,
    new_id,
    now_iso,
    open_finding,
    put_venue,
    set_finding_fields,
    sh_today,
)
from tests.test_public_reports import public_app, submit


async def new_village(env: Env) -> tuple[str, str, str]:
    code = f"v-t{new_id()[:8]}"
    async with await env.session() as s:
        await upsert_area(s, code, "考核测试村", "town", "village")
        await upsert_area(s, f"{code}-g1", "考核测试村一网格", code, "grid")
        await upsert_area(s, f"{code}-g2", "考核测试村二网格", code, "grid")
        await s.commit()
    return code, f"{code}-g1", f"{code}-g2"


async def figures(env: Env, headers: dict[str, str], **params: Any) -> dict[str, dict[str, Any]]:
    today = sh_today().isoformat()
    query = {"from": today, "to": today, **params}
    r = await env.client.get(f"{API}/stats/areas", params=query, headers=headers)
    assert r.status_code == 200, r.text
    return {row["area_code"]: row for row in r.json()}


async def test_figures_per_grid_and_per_village(env: Env) -> None:
    village, g1, g2 = await new_village(env)
    a = await make_user(env, f"insp_{village}", "inspector", [village])
    b = await make_user(env, f"insp2_{village}", "inspector", [village])
    boss = await make_user(env, f"sup_{village}", "supervisor", [village])
    shop1 = await put_venue(env, "考核一店", g1)
    shop2 = await put_venue(env, "考核二店", g2)

    async def inspect(venue: str, answers: list[dict[str, Any]]) -> list[str]:
        r = await env.client.put(
            f"{API}/inspections/{new_id()}",
            json=inspection_body(venue, answers, started_at=now_iso(), submitted_at=now_iso()),
            headers=a,
        )
        assert r.status_code == 201, r.text
        return list(r.json()["finding_ids"])

    photo = await put_photo_as(env, a)
    general, _major = await inspect(shop1, [fail(GENERAL_ITEM), fail(MAJOR_ZERO_DAY, [photo])])
    (late,) = await inspect(shop2, [fail(GENERAL_ITEM)])
    await inspect(shop2, [{"item_code": GENERAL_ITEM, "result": "pass"}])
    # The general finding is closed on time; the one in grid 2 is left past its deadline.
    r = await env.client.post(f"{API}/findings/{general}/rectification", json={"note": "已整改"}, headers=a)
    assert r.status_code == 200, r.text
    r = await env.client.post(f"{API}/findings/{general}/verification", json={"result": "pass"}, headers=b)
    assert r.status_code == 200, r.text
    await set_finding_fields(env, late, deadline=sh_today() - timedelta(days=2))

    rows = await figures(env, boss)
    assert set(rows) == {g1, g2}
    assert rows[g1] == {
        "area_code": g1,
        "name": "考核测试村一网格",
        "own_level": False,
        "inspections": 1,
        "findings_opened": 2,
        "major_opened": 1,
        "closed": 1,
        "closed_on_time": 1,
        "on_time_rate": 1.0,
        "open": 1,
        "overdue": 0,
        "major_open": 1,
        "findings_general": 1,
        "avg_days_to_close": 0.0,
        "reports_received": 0,
        "reports_accepted": 0,
        "verification_overdue": 0,
    }
    assert (rows[g2]["inspections"], rows[g2]["open"], rows[g2]["overdue"], rows[g2]["on_time_rate"]) == (
        2,
        1,
        1,
        None,
    )
    # From the town, the village is one row with its grids added up.
    town = await figures(env, env.auth("supervisor"), area="town")
    assert {k: town[village][k] for k in ("inspections", "findings_opened", "closed", "open", "overdue")} == {
        "inspections": 3,
        "findings_opened": 3,
        "closed": 1,
        "open": 2,
        "overdue": 1,
    }
    # Closed after its deadline: closed, but not on time.
    r = await env.client.post(f"{API}/findings/{late}/rectification", json={"note": "迟改"}, headers=a)
    assert r.status_code == 200, r.text
    r = await env.client.post(f"{API}/findings/{late}/verification", json={"result": "pass"}, headers=b)
    assert r.status_code == 200, r.text
    rows = await figures(env, boss)
    assert (
        rows[g2]["closed"],
        rows[g2]["closed_on_time"],
        rows[g2]["on_time_rate"],
        rows[g2]["overdue"],
    ) == (
        1,
        0,
        0.0,
        0,
    )
    # A period before any of it counts no work, but the open stock is today's.
    yesterday = (sh_today() - timedelta(days=1)).isoformat()
    past = await figures(env, boss, **{"from": yesterday, "to": yesterday})
    assert (past[g1]["findings_opened"], past[g1]["closed"], past[g1]["open"]) == (0, 0, 1)


async def put_photo_as(env: Env, headers: dict[str, str]) -> str:
    from tests.helpers import make_jpeg

    photo_id = new_id()
    r = await env.client.put(
        f"{API}/photos/{photo_id}", files={"file": ("p.jpg", make_jpeg(), "image/jpeg")}, headers=headers
    )
    assert r.status_code == 201, r.text
    return photo_id


async def test_refusals(env: Env) -> None:
    today = sh_today().isoformat()
    sup = env.auth("supervisor")
    r = await env.client.get(
        f"{API}/stats/areas", params={"from": today, "to": today}, headers=env.auth("inspector_baiyun")
    )
    assert_problem(r, 403, "role_required")
    r = await env.client.get(f"{API}/stats/areas", params={"from": today, "to": "2020-01-01"}, headers=sup)
    assert_problem(r, 422, "invalid_period")
    r = await env.client.get(f"{API}/stats/areas", params={"to": today}, headers=sup)
    assert_problem(r, 422, "validation_error")
    boss = await make_user(env, f"sup_q_{new_id()[:6]}", "supervisor", ["v-qingshan"])
    r = await env.client.get(
        f"{API}/stats/areas", params={"from": today, "to": today, "area": "v-baiyun"}, headers=boss
    )
    assert_problem(r, 403, "area_out_of_scope")


async def test_area_prefixes_are_exact_whatever_the_case_or_wildcards(env: Env) -> None:
    tok = new_id()[:6]
    lower, upper = f"zc{tok}", f"ZC{tok.upper()}"
    village = f"pv{tok}"
    async with await env.session() as s:
        await upsert_area(s, lower, "小写村", "town", "village")
        await upsert_area(s, upper, "大写村", "town", "village")
        await upsert_area(s, village, "通配村", "town", "village")
        await upsert_area(s, f"{village}_1", "下划线网格", village, "grid")
        await upsert_area(s, f"{village}x1", "字母网格", village, "grid")
        await s.commit()
    sup = env.auth("supervisor")
    for area in (upper, f"{village}x1"):
        r = await env.client.post(
            f"{API}/findings", json={"area_code": area, "title": f"前缀 {tok}"}, headers=sup
        )
        assert r.status_code == 201, r.text
    # An inspector of `zc…` does not see what lies in `ZC…` (SQLite's LIKE would ignore the case).
    insp = await make_user(env, f"insp_{lower}", "inspector", [lower])
    r = await env.client.get(f"{API}/findings", params={"q": f"前缀 {tok}"}, headers=insp)
    assert r.status_code == 200 and r.json()["items"] == []
    # `_` in a code is no wildcard: the finding in `…x1` counts there only.
    rows = await figures(env, sup, area=village)
    assert (rows[f"{village}_1"]["findings_opened"], rows[f"{village}x1"]["findings_opened"]) == (0, 1)


async def test_a_period_out_of_range_is_422_not_a_500(env: Env) -> None:
    sup = env.auth("supervisor")
    for period in ({"from": "2026-01-01", "to": "9999-12-31"}, {"from": "0001-01-01", "to": "2026-01-01"}):
        r = await env.client.get(f"{API}/stats/areas", params={**period, "area": "town"}, headers=sup)
        assert_problem(r, 422, "invalid_period")


async def test_an_extension_granted_when_already_overdue_does_not_make_it_punctual(env: Env) -> None:
    # Overdue, then extended, then rectified and verified within the new deadline: closed, but late.
    fid = await open_finding(env)
    await set_finding_fields(env, fid, deadline=sh_today() - timedelta(days=3))
    later = (sh_today() + timedelta(days=10)).isoformat()
    r = await act(env, fid, "extension", "supervisor", {"deadline": later, "reason": "补办延期"})
    assert r.status_code == 200, r.text
    assert (await act(env, fid, "rectification", "inspector_baiyun")).status_code == 200
    assert (await act(env, fid, "verification", "inspector_baiyun2")).status_code == 200
    async with await env.session() as s:
        row = await s.get(Finding, uuid.UUID(fid))
        assert row is not None
        assert row.overdue_since == sh_today() - timedelta(days=2)
        assert row.closed_on_time is False
    # Extended in time, it stays punctual.
    fid = await open_finding(env)
    r = await act(env, fid, "extension", "supervisor", {"deadline": later, "reason": "按时申请延期"})
    assert r.status_code == 200, r.text
    assert (await act(env, fid, "rectification", "inspector_baiyun")).status_code == 200
    assert (await act(env, fid, "verification", "inspector_baiyun2")).status_code == 200
    async with await env.session() as s:
        row = await s.get(Finding, uuid.UUID(fid))
        assert row is not None and row.overdue_since is None and row.closed_on_time is True


async def test_inspections_count_when_they_reached_the_server(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The phone's submitted_at is kept and shown, never trusted: a backdated or future visit counts in
    the period in which the server received it."""
    village, g1, _ = await new_village(env)
    a = await make_user(env, f"insp_{village}", "inspector", [village])
    boss = await make_user(env, f"sup_{village}", "supervisor", [village])
    shop = await put_venue(env, "时间测试店", g1)
    received = datetime.combine(sh_today() - timedelta(days=10), time(10), tzinfo=LOCAL_TZ)
    freeze(monkeypatch, received.astimezone(UTC))
    for claimed in (received - timedelta(days=40), received + timedelta(days=40), received):
        body = inspection_body(shop, [], started_at=claimed.isoformat(), submitted_at=claimed.isoformat())
        body["answers"] = [{"item_code": GENERAL_ITEM, "result": "pass"}]
        r = await env.client.put(f"{API}/inspections/{new_id()}", json=body, headers=a)
        assert r.status_code == 201, r.text
        # Kept as the phone said.
        assert datetime.fromisoformat(r.json()["submitted_at"]) == claimed
    monkeypatch.undo()
    day = received.date().isoformat()
    rows = await figures(env, boss, **{"from": day, "to": day})
    assert rows[g1]["inspections"] == 3
    for other in (received - timedelta(days=40), received + timedelta(days=40)):
        d = other.date().isoformat()
        assert (await figures(env, boss, **{"from": d, "to": d}))[g1]["inspections"] == 0


async def test_days_to_close_reports_and_the_workbook(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    village, g1, g2 = await new_village(env)
    a = await make_user(env, f"insp_{village}", "inspector", [village])
    b = await make_user(env, f"insp2_{village}", "inspector", [village])
    boss = await make_user(env, f"sup_{village}", "supervisor", [village])
    shop = await put_venue(env, "结案测试店", g1)
    opened = datetime.combine(sh_today() - timedelta(days=4), time(9), tzinfo=LOCAL_TZ)
    freeze(monkeypatch, opened.astimezone(UTC))
    r = await env.client.put(
        f"{API}/inspections/{new_id()}", json=inspection_body(shop, [fail(GENERAL_ITEM)]), headers=a
    )
    assert r.status_code == 201, r.text
    (fid,) = r.json()["finding_ids"]
    freeze(monkeypatch, (opened + timedelta(days=3)).astimezone(UTC))
    r = await env.client.post(f"{API}/findings/{fid}/rectification", json={"note": "已整改"}, headers=a)
    assert r.status_code == 200, r.text
    r = await env.client.post(f"{API}/findings/{fid}/verification", json={"result": "pass"}, headers=b)
    assert r.status_code == 200, r.text
    monkeypatch.undo()
    # A report placed in grid 2 by triage, accepted.
    async with await env.session() as s:
        now = datetime.now(UTC)
        s.add(
            Report(
                receipt_hash=new_id(),
                category="RPT-10",
                description="测试举报",
                status="accepted",
                area_code=g2,
                created_at=now,
                updated_at=now,
            )
        )
        await s.commit()
    start = (sh_today() - timedelta(days=5)).isoformat()
    rows = await figures(env, boss, **{"from": start})
    assert rows[g1]["avg_days_to_close"] == 3.0 and rows[g1]["closed"] == 1
    assert (rows[g2]["reports_received"], rows[g2]["reports_accepted"], rows[g2]["avg_days_to_close"]) == (
        1,
        1,
        None,
    )
    r = await env.client.get(
        f"{API}/stats/areas/export", params={"from": start, "to": sh_today().isoformat()}, headers=boss
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(r.content)).worksheets[0]
    table = list(sheet.iter_rows(values_only=True))
    assert table[0][:3] == ("区域代码", "区域", "检查次数")
    assert sheet.auto_filter.ref == f"A1:P{len(table)}"
    by_code = {row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]}
    assert by_code[g1]["平均整改天数"] == 3.0 and by_code[g2]["收到举报"] == by_code[g2]["受理举报"] == 1
    # The screen's words and its percentages: the rate is a number shown as one.
    rate = table[0].index("按期销号率")
    cell = next(row[rate] for row in sheet.iter_rows(min_row=2) if row[0].value == g1)
    assert (cell.value, cell.number_format) == (1.0, "0.0%")
    r = await env.client.get(
        f"{API}/stats/areas/export", params={"from": start, "to": start}, headers=env.auth("inspector_baiyun")
    )
    assert_problem(r, 403, "role_required")


async def test_a_supervisor_of_several_villages_and_a_grid_get_rows_not_an_empty_table(env: Env) -> None:
    """Figures for someone with two villages are one row per village; asked for a grid, which has nothing
    below it, they are the grid's own row (an empty table would read as "nothing happened there")."""
    first, g1, _ = await new_village(env)
    second, h1, _ = await new_village(env)
    inspector = await make_user(env, f"insp_{first}", "inspector", [first, second])
    both = await make_user(env, f"sup_{first}", "supervisor", [first, second])
    for grid in (g1, h1, h1):
        venue = await put_venue(env, "两村店", grid)
        r = await env.client.put(
            f"{API}/inspections/{new_id()}",
            json=inspection_body(venue, [fail(GENERAL_ITEM)], started_at=now_iso(), submitted_at=now_iso()),
            headers=inspector,
        )
        assert r.status_code == 201, r.text

    rows = await figures(env, both)
    assert {code: row["findings_opened"] for code, row in rows.items()} == {first: 1, second: 2}
    assert rows[first]["name"] == "考核测试村"
    rows = await figures(env, both, area=h1)
    assert {code: row["findings_opened"] for code, row in rows.items()} == {h1: 2}


def test_the_workbook_and_the_console_name_each_figure_alike() -> None:
    """The office reads the exported sheet beside the 各村考核 screen: one word per figure in both."""
    import re
    from pathlib import Path

    from api.services.assessment import FIGURE_COLUMNS

    source = (Path(__file__).resolve().parent.parent / "pwa/console/js/views/stats.js").read_text("utf-8")
    block = source[source.index("const COLUMNS = [") : source.index("];", source.index("const COLUMNS = ["))]
    console = dict(re.findall(r"\['(\w+)', '([^']+)'", block))
    sheet = {key: title for key, title, _ in FIGURE_COLUMNS if key in console}
    assert console == sheet


async def test_what_is_placed_on_the_town_itself_has_a_row_of_its_own(env: Env) -> None:
    """A finding filed on the town and a report not yet placed anywhere are in no village's row: a last
    row counts them (云岭镇（本级）), so the villages and it add up to the town's ledger."""
    town = env.auth("supervisor")
    before = await figures(env, town, area="town")
    await file_finding(env, area_code="town", title="镇文化站疏散通道堆放杂物")
    after = await figures(env, town, area="town")
    own = after["town"]
    assert (own["name"], own["own_level"]) == ("云岭镇（本级）", True)
    was = before.get("town", {})
    assert own["findings_opened"] == was.get("findings_opened", 0) + 1
    assert own["open"] == was.get("open", 0) + 1
    for code, row in after.items():
        if code != "town":
            assert row["findings_opened"] == before[code]["findings_opened"]
    # A report waiting for triage has no area yet: the town's report desk received it.
    async with public_app(env) as (_, pub):
        assert (await submit(pub, description=f"镇上有人私拉电线 {new_id()}")).status_code == 201
    received = await figures(env, town, area="town")
    assert received["town"]["reports_received"] == own["reports_received"] + 1
    assert received["town"]["reports_accepted"] == own["reports_accepted"]
    # A village supervisor's figures have no such row while nothing is placed on the village itself.
    village, _g1, _g2 = await new_village(env)
    boss = await make_user(env, f"sup_own_{village}", "supervisor", [village])
    assert all(not row["own_level"] for row in (await figures(env, boss)).values())
