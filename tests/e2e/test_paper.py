"""The phone and the paper: the 今日 list ordered by what is due with its 到期 marks, the 双随机 assignments
on the drawn inspector's list, the notice PDF opened from a finding, and the follow-up of a drawn visit."""

from __future__ import annotations

import uuid
from typing import Any

from conftest import LiveServer

DRAWN = "inspector_qingshan"


def sign_in(page: Any, username: str, password: str) -> None:
    page.goto("/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.login button[type=submit]")
    page.wait_for_selector("[data-testid=venue-row]")


def test_due_marks_and_drawn_assignments_on_the_today_list(live_server: LiveServer, new_context, screenshot):
    # 白云村's venues can only go to the two inspectors from outside the village: both are drawn.
    r = live_server.api(
        "POST",
        "/draws",
        json={"id": str(uuid.uuid4()), "area_code": "v-baiyun", "kinds": ["small_retail"], "count": 1},
    )
    assert r.status_code == 201, r.text
    target = r.json()["targets"][0]
    drawn_venue = target["venue_name"]  # a small shop of 白云村 (other tests may have added some)

    page = new_context().new_page()
    sign_in(page, DRAWN, live_server.password)
    page.wait_for_selector("[data-testid=assignments]")
    # Other tests draw too (the console's 双随机 screen): this draw's task is among the rows.
    row = page.locator("[data-testid=assignment-row]", has_text=drawn_venue)
    assert row.count() >= 1
    # The drawn venue is in reach, and every never-inspected venue is marked due.
    names = page.locator("[data-testid=venue-row] strong").all_inner_texts()
    assert drawn_venue in names and "青山棋牌室" in names
    marks = page.locator("[data-testid=venue-row] [data-testid=due-mark]").all_inner_texts()
    assert marks and set(marks) == {"到期"}
    screenshot(page, "paper-01-today-due-and-drawn")

    # Once a venue is inspected (server receipt today), it drops below the due ones and loses its mark.
    venues = {v["name"]: v for v in live_server.get_all("/venues", DRAWN)}
    club = venues["青山棋牌室"]
    checklists = live_server.api("GET", "/checklists", DRAWN).json()
    tpl = next(c for c in checklists if c["code"] == "small_venue_fire")
    body = {
        "venue_id": club["id"],
        "checklist_code": tpl["code"],
        "checklist_version": tpl["version"],
        "started_at": "2026-11-20T09:00:00+08:00",
        "submitted_at": "2026-11-20T09:20:00+08:00",
        "answers": [{"item_code": tpl["items"][0]["code"], "result": "pass"}],
    }
    r = live_server.api("PUT", f"/inspections/{uuid.uuid4()}", DRAWN, json=body)
    assert r.status_code == 201, r.text
    page.click("text=刷新")
    page.wait_for_timeout(500)
    page.wait_for_selector("[data-testid=venue-row]")
    rows = page.locator("[data-testid=venue-row]")
    texts = rows.all_inner_texts()
    club_row = next(i for i, t in enumerate(texts) if "青山棋牌室" in t)
    assert "到期" not in texts[club_row]
    due_rows = [i for i, t in enumerate(texts) if "到期" in t]
    assert due_rows and max(due_rows) < club_row  # the due ones come first


def test_a_finding_opens_its_notice_as_pdf(live_server: LiveServer, new_context, screenshot):
    venues = {v["name"]: v for v in live_server.get_all("/venues", DRAWN)}
    club = venues["青山木材加工厂"]
    checklists = live_server.api("GET", "/checklists", DRAWN).json()
    tpl = next(c for c in checklists if c["code"] == "small_venue_fire")
    item = next(i for i in tpl["items"] if not i["photo_required"])
    body = {
        "venue_id": club["id"],
        "checklist_code": tpl["code"],
        "checklist_version": tpl["version"],
        "started_at": "2026-11-20T09:00:00+08:00",
        "submitted_at": "2026-11-20T09:20:00+08:00",
        "answers": [{"item_code": item["code"], "result": "fail", "note": "未公示"}],
    }
    r = live_server.api("PUT", f"/inspections/{uuid.uuid4()}", DRAWN, json=body)
    assert r.status_code == 201, r.text
    fid = r.json()["finding_ids"][0]

    ctx = new_context()
    page = ctx.new_page()
    sign_in(page, DRAWN, live_server.password)
    page.goto(f"/#/finding/{fid}")
    page.wait_for_selector("[data-testid=notice-pdf]")
    screenshot(page, "paper-02-finding-with-notice")
    with ctx.expect_page() as popup, page.expect_response(lambda r: r.url.endswith("/notice.pdf")) as reply:
        page.click("[data-testid=notice-pdf]")
    assert reply.value.status == 200
    assert reply.value.headers["content-type"] == "application/pdf"
    assert live_server.api("GET", f"/findings/{fid}/notice.pdf", DRAWN).content[:5] == b"%PDF-"
    pdf_page = popup.value
    # A PDF in a tab never fires "load" in headless Chromium: the navigation itself is the proof. (The
    # app's CSP keeps fetch() to this origin, so the test reads the bytes from the reply, not the blob.)
    pdf_page.wait_for_url(lambda url: url.startswith("blob:"), timeout=30000, wait_until="commit")
    assert page.locator("[data-testid=record-pdf]").count() == 1


def test_a_pdf_the_server_refuses_is_not_blamed_on_the_network(
    live_server: LiveServer, new_context, screenshot
):
    from playwright.sync_api import expect

    fid = next(
        f["id"] for f in live_server.get_all("/findings", DRAWN) if f["venue"]["name"] == "青山木材加工厂"
    )
    ctx = new_context()
    page = ctx.new_page()
    sign_in(page, DRAWN, live_server.password)
    page.goto(f"/#/finding/{fid}")
    button = page.get_by_test_id("notice-pdf")
    expect(button).to_be_visible()
    toast = page.locator("#toast")

    page.route(
        "**/notice.pdf",
        lambda route: route.fulfill(status=404, content_type="application/problem+json", body="{}"),
    )
    with ctx.expect_page():
        button.click()
    expect(toast).to_have_text("服务器上没有这份文件，或它不在你的范围内")
    screenshot(page, "paper-03-pdf-refused")

    page.unroute("**/notice.pdf")
    page.route("**/notice.pdf", lambda route: route.abort("internetdisconnected"))
    with ctx.expect_page():
        button.click()
    expect(toast).to_have_text("需要联网才能打开")


def test_a_drawn_inspector_follows_up_the_finding_of_their_drawn_visit(
    live_server: LiveServer, new_context, screenshot, tmp_path
):
    from PIL import Image
    from playwright.sync_api import expect

    r = live_server.api(
        "POST",
        "/draws",
        json={"id": str(uuid.uuid4()), "area_code": "v-baiyun", "kinds": ["small_medical"], "count": 1},
    )
    assert r.status_code == 201, r.text
    target = r.json()["targets"][0]
    drawn_ids = {i["id"] for i in target["inspectors"]}
    assert live_server.api("GET", "/me", DRAWN).json()["id"] in drawn_ids
    checklists = live_server.api("GET", "/checklists", DRAWN).json()
    tpl = next(c for c in checklists if c["code"] == "small_venue_fire")
    item = next(i for i in tpl["items"] if not i["photo_required"])
    body = {
        "venue_id": target["venue_id"],
        "checklist_code": tpl["code"],
        "checklist_version": tpl["version"],
        "started_at": "2026-11-20T09:00:00+08:00",
        "submitted_at": "2026-11-20T09:20:00+08:00",
        "answers": [{"item_code": item["code"], "result": "fail", "note": "未公示"}],
    }
    r = live_server.api("PUT", f"/inspections/{uuid.uuid4()}", DRAWN, json=body)
    assert r.status_code == 201, r.text
    fid = r.json()["finding_ids"][0]

    # The finding lies in 白云村, outside the inspector's own village: it is on their list all the same.
    page = new_context().new_page()
    sign_in(page, DRAWN, live_server.password)
    page.goto("/#/findings")
    row = page.locator(f"[data-testid=finding-row][href='#/finding/{fid}']")
    expect(row).to_contain_text(target["venue_name"])
    row.click()
    expect(page.get_by_test_id("notice-pdf")).to_be_visible()
    screenshot(page, "paper-04-drawn-finding")

    # The owner put it right on the spot; the drawn inspector registers the rectification.
    page.get_by_test_id("rectify").click()
    page.fill("textarea", "已在显眼处公示消防安全责任人")
    after = tmp_path / "after.jpg"
    Image.new("RGB", (800, 600), (40, 120, 60)).save(after, quality=90)
    with page.expect_file_chooser() as fc:
        page.get_by_test_id("rectification-camera").click()
    fc.value.set_files(str(after))
    expect(page.locator(".photo-strip img")).to_have_count(1, timeout=30000)
    page.get_by_test_id("submit-rectification").click()
    page.wait_for_url(f"**/#/finding/{fid}")
    expect(page.get_by_test_id("finding-status")).to_have_text("待复查", timeout=60000)
    expect(page.get_by_role("button", name="同步：全部已上传")).to_be_visible(timeout=60000)
    assert live_server.api("GET", f"/findings/{fid}", "supervisor").json()["status"] == "submitted"
    # Verifying is for the village's own inspectors: the phone says so instead of offering 复查.
    expect(page.get_by_test_id("read-only")).to_contain_text("复查")
    expect(page.get_by_test_id("verify")).to_have_count(0)

    # A finding the village's own inspector made at the same venue: readable by the drawn inspector, but
    # not theirs to rectify (the server would refuse it after the photo was sent).
    other = {**body, "answers": [{"item_code": item["code"], "result": "fail", "note": "又未公示"}]}
    r = live_server.api("PUT", f"/inspections/{uuid.uuid4()}", "inspector_baiyun", json=other)
    assert r.status_code == 201, r.text
    theirs = r.json()["finding_ids"][0]
    page.goto(f"/#/finding/{theirs}")
    expect(page.get_by_test_id("read-only")).to_contain_text("整改")
    expect(page.get_by_test_id("rectify")).to_have_count(0)
