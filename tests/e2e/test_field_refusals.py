"""What an inspector meets around a rectification or verification on a 360×740 phone: a double tap, the back
button after 提交, a refusal by the server, a suspected major hazard awaiting the town's decision, someone
else signing in while work is unfinished, and a photo going out over a slow uplink. Real headless Chromium
against a real server.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import LiveServer
from playwright.sync_api import expect
from test_field_bugs import inspect_via_api, template
from test_inspector_app import (
    INSPECTOR,
    INSPECTOR2,
    TEMPLATE,
    VENUE,
    add_photo,
    answer_all,
    camera_jpeg,
    make_finding,
    open_checklist,
    photo_required_items,
    sign_in,
    wait_synced,
)

pytestmark = pytest.mark.e2e

STORE_COUNT = """([store, kind]) => new Promise((resolve, reject) => {
  const open = indexedDB.open('safegrid');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const req = open.result.transaction(store).objectStore(store).getAll();
    req.onsuccess = () => {
      open.result.close();
      resolve(req.result.filter((x) => !kind || x.kind === kind).length);
    };
  };
})"""


def count(page: Any, store: str, kind: str | None = None) -> int:
    return int(page.evaluate(STORE_COUNT, [store, kind]))


def fill_rectification(page: Any, fid: str, photo: Path) -> None:
    page.goto(f"/#/finding/{fid}")
    page.click("[data-testid=rectify]")
    page.fill("textarea", "已清理通道")
    with page.expect_file_chooser() as fc:
        page.click("[data-testid=rectification-camera]")
    fc.value.set_files(str(photo))
    page.wait_for_selector(".photo-strip img", timeout=30000)


def test_a_double_tap_sends_one_rectification_and_back_does_not_reopen_the_form(
    live_server: LiveServer, new_context: Any, tmp_path: Path
) -> None:
    fid = make_finding(live_server, tmp_path)["id"]
    page = new_context().new_page()
    sign_in(page, INSPECTOR, live_server.password)
    fill_rectification(page, fid, camera_jpeg(tmp_path / "r.jpg", seed=41, size=(1200, 900)))
    # Two taps before the first has been saved (a slow phone): one rectification, not two.
    page.evaluate(
        "() => { const b = document.querySelector('[data-testid=submit-rectification]');"
        " b.click(); b.click(); }"
    )
    page.wait_for_url(f"**/#/finding/{fid}")
    assert count(page, "outbox", "rectification") == 1
    # Back goes past the sent form, which is not offered again, and leaves no empty draft behind.
    page.go_back()
    expect(page).not_to_have_url(f"**/#/rectify/{fid}")
    page.goto(f"/#/rectify/{fid}")
    expect(page.locator("main")).to_contain_text("已有一份整改在手机上")
    assert page.locator("[data-testid=submit-rectification]").count() == 0
    assert count(page, "drafts", "rectification") == 0
    wait_synced(page)
    detail = live_server.api("GET", f"/findings/{fid}", "supervisor").json()
    assert len([e for e in detail["events"] if e["action"] == "rectify"]) == 1
    page.goto(f"/#/rectify/{fid}")
    expect(page.locator("main")).to_contain_text("不能整改")


def test_a_refused_rectification_is_said_on_the_finding_and_dropped_there(
    live_server: LiveServer, new_context: Any, tmp_path: Path
) -> None:
    fid = make_finding(live_server, tmp_path)["id"]
    ctx = new_context()
    page = ctx.new_page()
    sign_in(page, INSPECTOR, live_server.password)
    page.goto(f"/#/finding/{fid}")
    page.wait_for_selector("[data-testid=rectify]")
    ctx.set_offline(True)
    page.wait_for_selector("#net-state:not([hidden])")
    fill_rectification(page, fid, camera_jpeg(tmp_path / "mine.jpg", seed=42, size=(1200, 900)))
    page.click("[data-testid=submit-rectification]")
    page.wait_for_url(f"**/#/finding/{fid}")
    # A colleague's rectification reaches the server first.
    r = live_server.api(
        "POST", f"/findings/{fid}/rectification", INSPECTOR2, json={"note": "同事已整改", "photo_ids": []}
    )
    assert r.status_code == 200, r.text
    ctx.set_offline(False)
    page.goto("/#/sync")
    refused_row = page.locator("[data-testid=outbox-item][data-kind=rectification][data-state=attention]")
    refused_row.wait_for(timeout=30000)
    expect(refused_row.get_by_test_id("retry")).to_have_count(0)  # the same answer every time
    page.goto(f"/#/finding/{fid}")
    refused = page.get_by_test_id("refused")
    expect(refused).to_contain_text("被服务器拒绝")
    expect(refused).to_contain_text("待复查")
    page.get_by_test_id("drop-refused").click()
    page.locator("dialog button", has_text="放弃").click()
    expect(page.get_by_test_id("refused")).to_have_count(0)
    assert count(page, "outbox", "rectification") == 0


def test_a_suspected_major_hazard_is_not_offered_a_passing_verification(
    live_server: LiveServer, new_context: Any, tmp_path: Path
) -> None:
    major = next(i for i in template(live_server)["items"] if i["major"])
    [fid] = inspect_via_api(live_server, VENUE, TEMPLATE, {major["code"]: "通道锁闭"})
    r = live_server.api("POST", f"/findings/{fid}/rectification", INSPECTOR, json={"note": "已打开通道"})
    assert r.status_code == 200, r.text

    page = new_context().new_page()
    sign_in(page, INSPECTOR2, live_server.password)
    page.goto("/#/findings/submitted")
    page.click(f"[data-testid=finding-row][href='#/finding/{fid}']")
    page.click("[data-testid=verify]")
    expect(page.get_by_test_id("awaiting-decision")).to_contain_text("镇里认定")
    expect(page.locator("[data-result=pass]")).to_be_disabled()
    expect(page.locator("[data-result=fail]")).to_be_enabled()


def test_someone_else_cannot_sign_in_over_an_unfinished_inspection(
    live_server: LiveServer, new_context: Any
) -> None:
    page = new_context().new_page()
    sign_in(page, INSPECTOR, live_server.password)
    open_checklist(page)
    page.locator("[data-testid=item]").first.locator("[data-result=pass]").click()
    assert count(page, "drafts") == 1
    # The sign-in expired (as after a revoked token): another inspector tries to sign in on this phone.
    page.evaluate("() => window.safegrid.showLogin({ relogin: true })")
    page.fill("input[name=username]", INSPECTOR2)
    page.fill("input[name=password]", live_server.password)
    page.click("form.login button[type=submit]")
    expect(page.locator(".form-error")).to_contain_text(f"请用 {INSPECTOR} 登录")
    assert count(page, "drafts") == 1


def test_a_photo_on_a_slow_uplink_goes_out_in_one_go(
    live_server: LiveServer, new_context: Any, tmp_path: Path
) -> None:
    """The upload is watched for stalls, not timed as a whole: a photo that takes a long while over a weak
    signal, bytes still moving, is sent in one go (the limits themselves: tests/js/upload.test.mjs)."""
    ctx = new_context()
    page = ctx.new_page()
    sign_in(page, INSPECTOR, live_server.password)
    open_checklist(page)
    answer_all(page)
    code = photo_required_items(live_server, 1)[0]
    item = page.locator(f"#item-{code}")
    item.locator("[data-result=fail]").click()
    add_photo(
        page, page.locator(f"#item-{code}"), camera_jpeg(tmp_path / "slow.jpg", seed=44, size=(1600, 1200))
    )
    puts: list[str] = []
    page.on("request", lambda r: puts.append(r.url) if r.method == "PUT" and "/photos/" in r.url else None)
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    rate = 40_000  # bytes a second up
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 150, "downloadThroughput": 200_000, "uploadThroughput": rate},
    )
    started = time.monotonic()
    page.click("[data-testid=to-summary]")
    page.click("[data-testid=submit-inspection]")
    wait_synced(page, timeout=180_000)
    took = time.monotonic() - started
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    assert len(puts) == 1, puts  # one attempt, never cut off and begun again
    photo_id = puts[0].rsplit("/", 1)[1]
    size = live_server.api("GET", f"/photos/{photo_id}", INSPECTOR).headers.get("content-length")
    assert size is not None and took >= int(size) / rate / 2, (took, size)  # the link really was slow


def test_a_half_filled_new_venue_survives_a_reload_and_is_filed_once(
    live_server: LiveServer, new_context: Any
) -> None:
    page = new_context().new_page()
    sign_in(page, INSPECTOR, live_server.password)
    name = f"测试小卖部 {uuid.uuid4().hex[:6]}"
    page.click("[data-testid=new-venue]")
    page.fill("input[name=name]", name)
    page.fill("input[name=address]", "白云村四组 3 号")
    page.select_option("select[name=kind]", "small_retail")
    page.reload()
    page.wait_for_selector("input[name=name]")
    expect(page.locator("input[name=name]")).to_have_value(name)
    expect(page.locator("input[name=address]")).to_have_value("白云村四组 3 号")
    expect(page.locator("select[name=kind]")).to_have_value("small_retail")
    if page.locator("select[name=area_code]").is_visible():
        page.select_option("select[name=area_code]", index=1)
    # Two taps on 保存: one venue.
    page.evaluate(
        "() => { const b = document.querySelector('[data-testid=save-venue]'); b.click(); b.click(); }"
    )
    page.wait_for_url("**/#/venue/*")
    assert count(page, "outbox", "venue") == 1
    # A new form starts empty once the venue is saved.
    page.goto("/#/new-venue")
    page.wait_for_selector("input[name=name]")
    expect(page.locator("input[name=name]")).to_have_value("")


def test_a_draft_overtaken_by_a_colleague_can_be_dropped(
    live_server: LiveServer, new_context: Any, tmp_path: Path
) -> None:
    """A rectification begun on the phone, then a colleague's reaches the server first: the draft can no
    longer be sent, and is offered for discarding rather than left on the phone for good."""
    fid = make_finding(live_server, tmp_path)["id"]
    page = new_context().new_page()
    sign_in(page, INSPECTOR, live_server.password)
    page.goto(f"/#/finding/{fid}")
    page.click("[data-testid=rectify]")
    page.fill("textarea", "正在整改")
    expect(page.locator("textarea")).to_have_value("正在整改")
    r = live_server.api(
        "POST", f"/findings/{fid}/rectification", INSPECTOR2, json={"note": "同事已整改", "photo_ids": []}
    )
    assert r.status_code == 200, r.text
    page.evaluate("() => window.safegrid.refreshData()")  # as when the app next comes online
    page.goto("/#/findings/submitted")
    page.wait_for_selector(f"[data-testid=finding-row][href='#/finding/{fid}']")  # the phone has heard
    assert count(page, "drafts", "rectification") == 1
    page.goto(f"/#/rectify/{fid}")
    expect(page.locator("main")).to_contain_text("不能整改")
    page.get_by_test_id("drop-draft").click()
    page.locator("dialog button", has_text="放弃").click()
    page.wait_for_url(f"**/#/finding/{fid}")
    assert count(page, "drafts", "rectification") == 0
