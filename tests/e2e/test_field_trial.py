"""What a new inspector and a new office hit in a trial of the whole app (2026-12-01), each checked in real
headless Chromium against a real server. Waits are on real conditions, never fixed sleeps."""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import wait_js
from playwright.sync_api import expect
from test_console import public_report
from test_inspector_app import (
    INSPECTOR,
    VENUE,
    add_photo,
    answer_all,
    camera_jpeg,
    inspections_of,
    open_checklist,
    photo_required_items,
    sign_in,
    venue_id,
    wait_synced,
)

pytestmark = pytest.mark.e2e

# The phone's storage refuses the next photo: the put goes through and the transaction is then aborted,
# as IndexedDB does when the quota is exceeded at commit.
FAIL_NEXT_PHOTO = """() => {
  const put = IDBObjectStore.prototype.put;
  window.__photoPutsToFail = 1;
  IDBObjectStore.prototype.put = function (...args) {
    const req = put.apply(this, args);
    if (this.name === 'photos' && window.__photoPutsToFail > 0) {
      window.__photoPutsToFail -= 1;
      this.transaction.abort();
    }
    return req;
  };
}"""


def small_photo(path: Path, seed: int) -> Path:
    return camera_jpeg(path, seed=seed, size=(800, 600))


def choose_photo(page: Any, item: Any, path: Path) -> None:
    with page.expect_file_chooser() as chooser:
        item.locator("[data-testid=photo-camera]").click()
    chooser.value.set_files(str(path))


def test_a_photo_the_phone_could_not_store_does_not_block_the_inspection(live_server, new_context, tmp_path):
    """A failed photo save used to leave the photo's id in the draft: the card hid it, the summary
    counted it, and the inspection could never be sent ("退回修改" looped)."""
    vid = venue_id(live_server)
    before = {i["id"] for i in inspections_of(live_server, vid)}
    page = new_context().new_page()
    sign_in(page, INSPECTOR, live_server.password)
    open_checklist(page)
    answer_all(page, "pass")
    (code,) = photo_required_items(live_server, 1)
    item = page.locator(f"#item-{code}")
    item.locator("[data-result=fail]").click()

    page.evaluate(FAIL_NEXT_PHOTO)
    choose_photo(page, page.locator(f"#item-{code}"), small_photo(tmp_path / "a.jpg", 1))
    expect(page.locator("#toast.show", has_text="保存失败")).to_be_visible(timeout=30000)
    expect(page.locator(f"#item-{code} .photo-strip img")).to_have_count(0)
    expect(page.locator(f"#item-{code} .field-error")).to_contain_text("须至少拍一张照片")
    stored = page.evaluate(
        """(code) => new Promise((resolve) => {
          const open = indexedDB.open('safegrid');
          open.onsuccess = () => {
            const req = open.result.transaction('drafts').objectStore('drafts').getAll();
            req.onsuccess = () => resolve(req.result.filter((d) => d.status === 'draft')
              .map((d) => (d.answers[code] || {}).photo_ids || []));
          };
        })""",
        code,
    )
    assert stored == [[]], stored

    # The next photo is stored, and the inspection goes with exactly that one photo.
    choose_photo(page, page.locator(f"#item-{code}"), small_photo(tmp_path / "b.jpg", 2))
    expect(page.locator(f"#item-{code} .photo-strip img")).to_have_count(1, timeout=30000)
    page.click("[data-testid=to-summary]")
    page.click("[data-testid=submit-inspection]")
    wait_synced(page)
    (new,) = [i for i in inspections_of(live_server, vid) if i["id"] not in before]
    assert [len(a["photo_ids"]) for a in new["answers"] if a["item_code"] == code] == [1]


def test_a_draft_naming_a_photo_the_phone_lacks_is_repaired_when_opened(live_server, new_context, tmp_path):
    """A draft written before the fix may still name such a photo: opening it drops the id and asks for
    the photo again, so "退回修改" leads somewhere."""
    page = new_context().new_page()
    sign_in(page, INSPECTOR, live_server.password)
    open_checklist(page, VENUE)
    answer_all(page, "pass")
    (code,) = photo_required_items(live_server, 1)
    page.locator(f"#item-{code} [data-result=fail]").click()
    choose_photo(page, page.locator(f"#item-{code}"), small_photo(tmp_path / "a.jpg", 3))
    expect(page.locator(f"#item-{code} .photo-strip img")).to_have_count(1, timeout=30000)
    page.goto("/#/today")
    page.wait_for_selector("[data-testid=venue-row]")
    draft_id = page.evaluate(
        """(code) => new Promise((resolve) => {
          const open = indexedDB.open('safegrid');
          open.onsuccess = () => {
            const tx = open.result.transaction(['drafts', 'photos'], 'readwrite');
            const req = tx.objectStore('drafts').getAll();
            req.onsuccess = () => {
              const d = req.result.find((x) => x.status === 'draft' && x.answers[code]);
              tx.objectStore('photos').delete(d.answers[code].photo_ids[0]);
              tx.oncomplete = () => resolve(d.id);
            };
          };
        })""",
        code,
    )
    # "退回修改" opens the summary: the repair happens there as on the checklist.
    page.goto(f"/#/summary/{draft_id}")
    expect(page.locator("#toast.show", has_text="没能存到手机上")).to_be_visible(timeout=15000)
    expect(page.locator("[data-testid=submit-inspection]")).to_be_disabled()
    page.goto(f"/#/inspect/{draft_id}")
    expect(page.locator(f"#item-{code} .field-error")).to_contain_text("须至少拍一张照片")


EXPIRE_TOKEN = """() => new Promise((resolve) => {
  const open = indexedDB.open('safegrid');
  open.onsuccess = () => {
    const tx = open.result.transaction('meta', 'readwrite');
    const store = tx.objectStore('meta');
    const req = store.get('token');
    req.onsuccess = () => {
      store.put({ ...req.result, value: { ...req.result.value, expires_at: '2020-01-01T00:00:00Z' } });
    };
    tx.oncomplete = () => resolve(true);
  };
})"""


def test_an_expired_sign_in_offline_leaves_the_days_work_reachable(live_server, new_context):
    """Offline, 重新登录 cannot succeed; the sign-in screen it opens used to have no way back to the work."""
    ctx = new_context()
    page = ctx.new_page()
    sign_in(page, INSPECTOR, live_server.password)
    open_checklist(page)
    page.locator("[data-testid=item]").first.locator("[data-result=pass]").click()
    page.goto("/#/today")
    page.wait_for_selector("[data-testid=venue-row]")
    page.evaluate(EXPIRE_TOKEN)
    ctx.set_offline(True)
    page.reload()
    page.click("#auth-banner button")
    page.wait_for_selector("form.login")
    page.fill("input[name=password]", "whatever")
    page.click("form.login button[type=submit]")
    expect(page.locator("form.login .form-error")).to_contain_text("没有网络")

    page.click("[data-testid=continue-offline]")
    expect(page.locator("[data-testid=venue-row]").first).to_be_visible()
    expect(page.locator("#auth-banner")).to_be_visible()
    # The tab bar works again, and the half-done checklist opens where it was left.
    page.click(".tabbar >> text=同步")
    page.wait_for_selector("[data-testid=outbox-item], .empty")
    page.click(".tabbar >> text=今日")
    page.click(f"[data-testid=venue-row]:has-text('{VENUE}')")
    page.click("button:has-text('继续：')")
    expect(page.locator("[data-result=pass][aria-pressed=true]")).to_have_count(1)


def test_a_reported_hazard_shows_where_it_is_and_a_suspected_one_is_called_so(live_server, new_context):
    """A finding from a public report has no venue: the phone shows the reporter's place and position, and
    labels the words as the report's. A suspected major hazard is 疑似 until the office confirms it."""
    words = f"后门消防通道被货物堵死 {uuid.uuid4().hex[:6]}"
    report = public_report(live_server, words, "场镇老街18号后门", 31.40123, 109.63456)
    r = live_server.api(
        "POST",
        f"/reports/{report['id']}/triage",
        json={
            "action": "accept",
            "area_code": "v-baiyun-g1",
            "severity": "major",
            "title": "老街18号后门通道堵塞",
        },
    )
    assert r.status_code == 200, r.text
    finding_id = r.json()["finding_id"]
    assert live_server.api("GET", f"/findings/{finding_id}").json()["major_status"] == "suspected"

    page = new_context().new_page()
    sign_in(page, INSPECTOR, live_server.password)
    page.goto(f"/#/finding/{finding_id}")
    place = page.get_by_test_id("finding-place")
    expect(place).to_contain_text("场镇老街18号后门")
    expect(place).to_contain_text("31.40123, 109.63456")
    expect(page.locator("main")).to_contain_text(f"举报内容：{words}")
    expect(page.locator("main .facts")).to_contain_text("疑似重大事故隐患")
    page.goto("/#/findings/open")
    row = page.locator("[data-testid=finding-row]", has_text="老街18号后门通道堵塞")
    expect(row.locator(".tag.danger").first).to_have_text("疑似重大")


def test_verifying_offline_a_rectification_never_opened_online_says_it_is_unknown(live_server, new_context):
    """The phone had only the list row: it used to show "整改后（0 张）无照片" for a rectification that has
    a photo and a note."""
    from test_field_bugs import rectified_by_the_other_inspector

    fid = rectified_by_the_other_inspector(live_server)
    ctx = new_context()
    page = ctx.new_page()
    sign_in(page, INSPECTOR, live_server.password)
    page.goto("/#/findings/submitted")
    expect(page.locator(f"[data-testid=finding-row][href='#/finding/{fid}']")).to_be_visible()
    ctx.set_offline(True)
    page.goto(f"/#/verify/{fid}")
    expect(page.get_by_test_id("rectification-unknown")).to_be_visible()
    expect(page.locator("[data-testid=after]")).to_have_count(0)
    # Online, the same screen shows the rectification's photo and note.
    ctx.set_offline(False)
    page.reload()
    expect(page.locator("[data-testid=after] figcaption")).to_have_text("整改后（1 张）")
    expect(page.locator("main")).to_contain_text("整改说明：已移走")


def report_worker_ready(page: Any) -> None:
    page.goto("/report")
    expect(page.locator("#category option[value=ebike]")).to_be_attached()
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")


def back_online(ctx: Any, page: Any) -> None:
    """The network returns. The page hears of it once its navigator says so: an `online` event sent before
    that (the browser applies the change a moment later, longer on a busy machine) finds the page still
    offline, and a real phone never sends one early."""
    ctx.set_offline(False)
    wait_js(page, "() => navigator.onLine")
    page.evaluate("() => window.dispatchEvent(new Event('online'))")


SAVED_REPORTS = """() => new Promise((resolve) => {
  const open = indexedDB.open('safegrid-report', 1);
  open.onerror = () => resolve('no store');
  open.onsuccess = () => {
    const req = open.result.transaction('drafts').objectStore('drafts').getAll();
    req.onsuccess = () => resolve(req.result.map((d) => ({ id: d.draft_id, retry_at: d.retry_at || null })));
  };
})"""


def expect_receipt(page: Any) -> None:
    """The saved report is sent and its receipt shown; if not, says what the page held."""
    try:
        expect(page.locator("#receipt-view .receipt")).to_have_count(1, timeout=30000)
    except AssertionError as exc:
        state = {
            "online": page.evaluate("() => navigator.onLine"),
            "saved": page.evaluate(SAVED_REPORTS),
            "outbox": page.locator("#outbox").inner_text(),
            "now": page.evaluate("() => Date.now()"),
        }
        raise AssertionError(f"no receipt shown; page state {state}") from exc


def test_a_report_being_typed_survives_the_receipt_of_an_earlier_one(live_server, new_context):
    """A report saved offline is sent while the next is being typed; "再举报一条" used to wipe the next one.
    On the status page, the same button used to do nothing."""
    ctx = new_context()
    page = ctx.new_page()
    report_worker_ready(page)
    ctx.set_offline(True)
    page.reload()
    tag = uuid.uuid4().hex[:6]
    page.select_option("#category", "ebike")
    page.fill("#description", f"楼道里给电动车充电 {tag}")
    page.click("#submit")
    expect(page.locator("#outbox")).to_contain_text("有 1 条举报保存在这部手机上")
    page.fill("#description", f"第二条：安全出口锁着 {tag}")

    back_online(ctx, page)
    expect_receipt(page)
    page.click("#new-report")
    expect(page.locator("#description")).to_have_value(f"第二条：安全出口锁着 {tag}")

    # The status page: a saved report sent there shows its receipt, and the button leads to a new report.
    ctx.set_offline(True)
    page.select_option("#category", "ebike")
    page.click("#submit")
    expect(page.locator("#outbox")).to_contain_text("有 1 条举报保存在这部手机上")
    page.goto("/report/status")
    expect(page.locator("#status-view")).to_be_visible()
    back_online(ctx, page)
    expect_receipt(page)
    page.click("#new-report")
    expect(page).to_have_url(f"{live_server.url}/report")
    expect(page.locator("#report-form")).to_be_visible()
    sent = [r["description"] for r in live_server.get_all("/reports") if tag in r["description"]]
    assert sorted(sent) == sorted([f"楼道里给电动车充电 {tag}", f"第二条：安全出口锁着 {tag}"])


def test_a_report_hung_in_flight_is_sent_again_when_the_signal_returns(live_server, new_context):
    """As the signal comes and goes, a send can hang instead of failing, until its two-minute limit. When
    the network comes back the page starts it again at once (the server answers a draft it has with its
    receipt)."""
    ctx = new_context()
    page = ctx.new_page()
    report_worker_ready(page)
    held: list[Any] = []

    def hang_first(route: Any) -> None:
        if not held:
            held.append(route)  # never answered: the request hangs
        else:
            route.continue_()

    page.route("**/api/v1/public/reports", hang_first)
    tag = uuid.uuid4().hex[:6]
    page.select_option("#category", "ebike")
    page.fill("#description", f"桥洞下堆放废旧轮胎 {tag}")
    page.click("#submit")
    deadline = time.monotonic() + 30
    while not held and time.monotonic() < deadline:  # until the request is on its way, and hangs there
        page.wait_for_timeout(50)
    assert len(held) == 1
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    expect_receipt(page)
    page.unroute("**/api/v1/public/reports")
    with contextlib.suppress(Exception):
        held[0].abort()
    sent = [r for r in live_server.get_all("/reports") if tag in r["description"]]
    assert len(sent) == 1


def test_a_photo_hung_in_flight_on_the_phone_is_sent_again_when_the_signal_returns(
    live_server, new_context, tmp_path
):
    """The inspector's outbox, as the report page above: a photo upload that hangs as the signal comes and
    goes would wait at least 30 s for a reply that never comes. The network's return starts it again at
    once, and the inspection follows."""
    ctx = new_context()
    page = ctx.new_page()
    sign_in(page, INSPECTOR, live_server.password)
    held: list[Any] = []

    def hang_first(route: Any) -> None:
        if route.request.method == "PUT" and not held:
            held.append(route)  # never answered: the upload hangs
        else:
            route.continue_()

    page.route("**/api/v1/photos/*", hang_first)
    vid = venue_id(live_server)
    before = len(inspections_of(live_server, vid))
    open_checklist(page)
    answer_all(page, "pass")
    code = photo_required_items(live_server, 1)[0]
    item = page.locator(f"#item-{code}")
    item.locator("[data-result=fail]").click()
    add_photo(page, item, camera_jpeg(tmp_path / "hung.jpg", seed=5, size=(1200, 900)))
    page.click("[data-testid=to-summary]")
    page.click("[data-testid=submit-inspection]")
    deadline = time.monotonic() + 30
    while not held and time.monotonic() < deadline:  # until the upload is on its way, and hangs there
        page.wait_for_timeout(50)
    assert len(held) == 1
    # The signal is back a few seconds later; an upload that moved bytes just now would be left to go on.
    page.wait_for_timeout(2500)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    started = time.monotonic()
    wait_synced(page, timeout=20000)
    assert time.monotonic() - started < 20
    page.unroute("**/api/v1/photos/*")
    with contextlib.suppress(Exception):
        held[0].abort()
    assert len(inspections_of(live_server, vid)) == before + 1


def test_the_count_of_venues_due_drops_with_an_inspection_still_on_the_phone(live_server, new_context):
    # A venue of its own, never inspected and so due: other tests inspect the demo town's venues.
    name = f"到期小店 {uuid.uuid4().hex[:6]}"
    body = {"name": name, "kind": "small_retail", "area_code": "v-baiyun-g1"}
    r = live_server.api("PUT", f"/venues/{uuid.uuid4()}", INSPECTOR, json=body)
    assert r.status_code == 201, r.text
    ctx = new_context()
    page = ctx.new_page()
    sign_in(page, INSPECTOR, live_server.password)
    header = page.locator("p.muted", has_text="到期待检")

    def due() -> int:
        match = re.search(r"到期待检 (\d+) 个", header.inner_text())
        assert match, header.inner_text()
        return int(match.group(1))

    before = due()
    page.fill("input[type=search]", name)  # the list shows a page at a time; other tests add venues
    row = page.locator("[data-testid=venue-row]", has_text=name)
    expect(row.get_by_test_id("due-mark")).to_have_text("到期")
    ctx.set_offline(True)
    row.click()
    page.locator("[data-testid^=start-]").first.click()
    page.wait_for_selector("[data-testid=item]")
    answer_all(page, "pass")
    page.click("[data-testid=to-summary]")
    page.click("[data-testid=submit-inspection]")
    page.wait_for_selector("[data-testid=outbox-item][data-state=pending]")
    page.goto("/#/today")
    page.fill("input[type=search]", name)
    waiting = page.locator("[data-testid=venue-row]", has_text=name).get_by_test_id("inspection-waiting")
    expect(waiting).to_be_visible()
    assert due() == before - 1


def test_seven_files_one_not_a_photo_fill_the_reports_five_places(live_server, new_context, tmp_path):
    page = new_context().new_page()
    report_worker_ready(page)
    files = [small_photo(tmp_path / f"r{i}.jpg", 10 + i) for i in range(6)]
    text = tmp_path / "note.txt"
    text.write_text("不是照片")
    page.set_input_files("#photos", files=[str(files[0]), str(text), *map(str, files[1:])])
    expect(page.locator("#photo-list li img")).to_have_count(5, timeout=30000)
    error = page.locator("#form-error")
    expect(error).to_contain_text("有 1 个文件不是能读取的照片")
    expect(error).to_contain_text("多出的 1 张没有加入")


def test_a_new_venue_is_filed_in_no_grid_until_the_inspector_chooses_one(live_server, new_context):
    page = new_context().new_page()
    sign_in(page, INSPECTOR, live_server.password)
    page.click("[data-testid=new-venue]")
    area = page.locator("select[name=area_code]")
    expect(area).to_have_value("")
    page.fill("input[name=name]", f"无网格小店 {uuid.uuid4().hex[:6]}")
    page.select_option("select[name=kind]", "small_retail")
    page.click("[data-testid=save-venue]")
    expect(page.locator("form .form-error")).to_contain_text("请选择所属区域")
    assert "#/venue/" not in page.url


def test_the_report_pages_small_buttons_are_big_enough_to_tap(live_server, new_context, tmp_path):
    page = new_context().new_page()
    report_worker_ready(page)
    page.set_input_files("#photos", files=[str(small_photo(tmp_path / "t.jpg", 30))])
    expect(page.locator("#photo-list li img")).to_have_count(1, timeout=30000)
    for selector in ("#photo-list button", "#nav-report", "#nav-status"):
        box = page.locator(selector).first.bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44, (selector, box)
    photo = page.locator("#photo-list img").bounding_box()
    button = page.locator("#photo-list button").bounding_box()
    assert photo and button and button["y"] >= photo["y"] + photo["height"]  # not covering the picture
