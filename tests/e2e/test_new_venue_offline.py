"""A venue found in the field, offline: made on the phone with its GPS position, inspected at once with a
failed item and a photo, kept across a reload with no network, and sent once the network is back — the
venue before the inspection that refers to it, the photo before the inspection, each exactly once.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from conftest import wait_js
from playwright.sync_api import expect
from test_inspector_app import (
    INSPECTOR,
    add_photo,
    answer_all,
    camera_jpeg,
    photo_required_items,
    shot,
    sign_in,
    wait_for_service_worker,
)

pytestmark = pytest.mark.e2e

# Where the inspector stands: a spot in 白云村 other than the default fix of the test contexts.
HERE = {"latitude": 31.41073, "longitude": 109.64127, "accuracy": 6}
GRID = "v-baiyun-g1"  # 白云村第一网格, inside inspector_baiyun's area
ALL_DONE = (
    "() => { const items = [...document.querySelectorAll('[data-testid=outbox-item]')];"
    " return items.length > 0 && items.every((i) => i.dataset.state === 'done'); }"
)
WRITE = re.compile(r"safegrid\.access (PUT|POST) (/\S+) (\d{3}) ")


def writes(log: str) -> list[tuple[str, str, int]]:
    """The writes the server answered, in order: (method, route template, status)."""
    return [(m[1], m[2], int(m[3])) for m in WRITE.finditer(log) if not m[2].startswith("/auth/")]


def areas_below(server: Any, codes: list[str]) -> set[str]:
    tree = server.api("GET", "/areas", INSPECTOR).json()
    found, todo = set(), list(codes)
    while todo:
        code = todo.pop()
        found.add(code)
        todo += [a["code"] for a in tree if a["parent_code"] == code and a["code"] not in found]
    return found


def server_state(server: Any, name: str) -> tuple[list[dict], list[dict], list[dict]]:
    venues = [v for v in server.get_all("/venues", "supervisor") if v["name"] == name]
    inspections = [i for v in venues for i in server.get_all("/inspections", "supervisor", venue_id=v["id"])]
    findings = [f for v in venues for f in server.get_all("/findings", "supervisor", venue_id=v["id"])]
    return venues, inspections, findings


def test_new_venue_made_offline_is_inspected_and_synced_in_order_once(
    live_server, new_context, screenshot, tmp_path
):
    name = f"离线新建小卖部{uuid.uuid4().hex[:6]}"
    ctx = new_context()
    ctx.grant_permissions(["geolocation"], origin=live_server.url)
    ctx.set_geolocation(HERE)
    page = ctx.new_page()
    sign_in(page, INSPECTOR, live_server.password)
    wait_for_service_worker(page)

    # In a valley with no signal: a shop that is on no list yet.
    ctx.set_offline(True)
    page.wait_for_selector("#net-state:not([hidden])")
    page.click("[data-testid=new-venue]")
    page.wait_for_selector("[data-testid=gps]:has-text('已定位')")
    assert "31.41073, 109.64127" in page.inner_text("[data-testid=gps]")
    page.fill("input[name=name]", name)
    page.select_option("select[name=kind]", "small_retail")
    page.select_option("select[name=area_code]", GRID)
    page.fill("input[name=address]", "白云村三组 12 号")
    page.fill("input[name=owner_name]", "李四")
    page.fill("input[name=owner_phone]", "138 0000 1234")
    shot(screenshot, page, "20-new-venue-offline")
    page.click("[data-testid=save-venue]")
    page.wait_for_url(re.compile(r".*#/venue/[0-9a-f-]{36}$"))
    vid = page.url.rsplit("/", 1)[1]

    # A checklist at the new venue: everything passes but one item, which fails with a photo.
    page.click("[data-testid=start-small_venue_fire]")
    page.wait_for_selector("[data-testid=item]")
    answer_all(page, "pass")
    [code] = photo_required_items(live_server, 1)
    item = page.locator(f"#item-{code}")
    item.locator("[data-result=fail]").click()
    add_photo(page, page.locator(f"#item-{code}"), camera_jpeg(tmp_path / "shop.jpg", seed=7))

    # A reload with no network: the venue and the answers are still on the phone.
    page.reload()
    page.wait_for_selector("[data-testid=item]")
    item = page.locator(f"#item-{code}")
    assert item.locator("[data-result=fail]").get_attribute("aria-pressed") == "true"
    assert item.locator(".photo-strip img").count() == 1
    page.goto("/#/today")
    row = page.locator(f"[data-testid=venue-row]:has-text('{name}')")
    row.wait_for()
    assert row.count() == 1 and "新建·待上传" in row.inner_text()
    row.click()
    page.click("[data-testid=start-small_venue_fire]")  # 继续：… (the same draft)
    page.wait_for_selector("[data-testid=item]")
    page.click("[data-testid=to-summary]")
    page.wait_for_selector("[data-testid=counts]")
    counts = page.locator("[data-testid=counts] strong").all_inner_texts()
    assert counts[1] == "1" and counts[3] == "0"
    assert "照片 1 张" in page.inner_text("main") and "已记录（约 6 米）" in page.inner_text("main")
    page.click("[data-testid=submit-inspection]")
    page.wait_for_selector("[data-testid=outbox-item][data-kind=inspection]")

    # Reloaded again, still offline: both pieces of work wait, the inspection behind the venue.
    page.reload()
    page.wait_for_selector("[data-testid=outbox-item][data-kind=inspection]")
    assert page.locator("[data-testid=outbox-item][data-state=pending]").count() == 2
    assert page.locator("#sync-badge .count").inner_text() == "2"
    assert f"等待：新建场所：{name}" in page.inner_text("[data-testid=outbox-item][data-kind=inspection]")
    shot(screenshot, page, "21-new-venue-outbox-offline")
    assert server_state(live_server, name) == ([], [], [])

    # Back online: the outbox drains by itself.
    mark = len(live_server.log())
    ctx.set_offline(False)
    wait_js(page, ALL_DONE, timeout=60000)
    expect(page.locator("#sync-badge .count")).to_have_text("0")

    # In order: the venue, then the photo, then the inspection that needs both; each once.
    sent = [(m, route) for m, route, status in writes(live_server.log()[mark:]) if status < 300]
    assert sent == [
        ("PUT", "/venues/{venue_id}"),
        ("PUT", "/photos/{photo_id}"),
        ("PUT", "/inspections/{inspection_id}"),
    ], sent

    def check_server() -> None:
        venues, inspections, findings = server_state(live_server, name)
        assert [v["id"] for v in venues] == [vid]
        venue = venues[0]
        me = live_server.api("GET", "/me", INSPECTOR).json()
        assert venue["area_code"] == GRID and GRID in areas_below(live_server, me["area_codes"])
        assert venue["kind"] == "small_retail" and venue["owner_phone"] == "138 0000 1234"
        assert (venue["lat"], venue["lng"]) == pytest.approx((HERE["latitude"], HERE["longitude"]))
        assert len(inspections) == 1, inspections
        inspection = inspections[0]
        assert inspection["lat"] == pytest.approx(HERE["latitude"])
        failed = [a for a in inspection["answers"] if a["result"] == "fail"]
        assert [a["item_code"] for a in failed] == [code] and len(failed[0]["photo_ids"]) == 1
        assert len(findings) == 1, findings
        finding = findings[0]
        assert finding["item_code"] == code and finding["inspection_id"] == inspection["id"]
        assert finding["area_code"] == GRID and finding["photo_ids"] == failed[0]["photo_ids"]

    check_server()

    # A second sync, and the app opened again: nothing is sent twice.
    mark = len(live_server.log())
    page.click("[data-testid=sync-now]")
    page.wait_for_selector("[data-testid=sync-now]:not([disabled])")
    page.goto("/#/today")
    page.reload()
    row = page.locator(f"[data-testid=venue-row]:has-text('{name}')")
    row.wait_for()
    page.goto("/#/sync")
    wait_js(page, ALL_DONE)
    page.wait_for_timeout(1000)
    assert writes(live_server.log()[mark:]) == []
    check_server()
    # On the phone: one row for the venue, now the server's, with its open finding.
    page.goto("/#/today")
    page.wait_for_selector(f"[data-testid=venue-row]:has-text('{name}'):has-text('隐患 1')")
    row = page.locator(f"[data-testid=venue-row]:has-text('{name}')")
    assert row.count() == 1 and "新建·待上传" not in row.inner_text()
    shot(screenshot, page, "22-new-venue-synced")
