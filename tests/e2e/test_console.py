"""The town office's console (/console) in real headless Chromium, at a desktop (1280×800), a tablet
(768×1024) and a phone (360×740) viewport, against a real server:

1. a supervisor triages a public report into a finding that keeps the report's place and position,
   confirms a suspected major hazard with its register entry (the five 落实 and the supervising official),
   grants an extension, and sees the village comparison chart; every step is checked on the server, and
   the page makes no request to another origin and logs no error (a CSP violation would be one);
2. an inspector who signs in is sent to the phone app;
3. a refusal of the server (four eyes) is shown in Chinese, and a decision sent twice is applied once;
4. photos open large and zoom; an export is saved as a file.
"""

from __future__ import annotations

import io
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import LiveServer
from PIL import Image
from playwright.sync_api import expect
from test_inspector_app import camera_jpeg
from test_report_page import Watch

pytestmark = pytest.mark.e2e

SUPERVISOR = "supervisor"
INSPECTOR = "inspector_baiyun"
VIEWPORTS = {
    "desktop": {"width": 1280, "height": 800},
    "tablet": {"width": 768, "height": 1024},
    "phone": {"width": 360, "height": 740},
}
SHANGHAI = timezone(timedelta(hours=8))
WAIT = 30000  # ms: a busy two-core machine runs the server, Chromium and the other tests at once
expect.set_options(timeout=WAIT)


def today() -> date:
    return datetime.now(SHANGHAI).date()


@pytest.fixture
def viewport() -> str:
    """Desktop, unless a test is parametrized over VIEWPORTS (the rules do not depend on the screen)."""
    return "desktop"


@pytest.fixture
def console_page(browser: Any, live_server: LiveServer, viewport: str) -> Iterator[Any]:
    size = VIEWPORTS[viewport]
    ctx = browser.new_context(
        base_url=live_server.url,
        viewport=size,
        screen=size,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        accept_downloads=True,
    )
    ctx.set_default_timeout(WAIT)
    page = ctx.new_page()
    yield page
    ctx.close()


def jpeg(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), color).save(buf, "JPEG")
    return buf.getvalue()


def public_report(server: LiveServer, description: str, place: str, lat: float, lng: float) -> dict[str, Any]:
    r = httpx.post(
        f"{server.url}/api/v1/public/reports",
        data={
            "category": "RPT-10",
            "description": description,
            "location_text": place,
            "lat": str(lat),
            "lng": str(lng),
        },
        files=[("files", ("p.jpg", jpeg((190, 60, 40)), "image/jpeg"))],
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return next(x for x in server.get_all("/reports", status="received") if x["description"] == description)


def venue_id(server: LiveServer, name: str) -> str:
    return next(v["id"] for v in server.get_all("/venues", INSPECTOR, q=name) if v["name"] == name)


def manual_finding(
    server: LiveServer, title: str, severity: str, venue: str = "白云农家乐"
) -> dict[str, Any]:
    r = server.api(
        "POST",
        "/findings",
        INSPECTOR,
        json={
            "id": str(uuid.uuid4()),
            "venue_id": venue_id(server, venue),
            "title": title,
            "severity": severity,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def inspection(server: LiveServer, venue: str = "白云便利店") -> dict[str, Any]:
    """An inspection of a 白云村 venue with every item passed, sent now."""
    vid = venue_id(server, venue)
    kind = next(v["kind"] for v in server.get_all("/venues", INSPECTOR, q=venue) if v["id"] == vid)
    tpl = next(c for c in server.api("GET", "/checklists", INSPECTOR).json() if kind in c["venue_kinds"])
    now = datetime.now(SHANGHAI)
    body = {
        "venue_id": vid,
        "checklist_code": tpl["code"],
        "checklist_version": tpl["version"],
        "started_at": (now - timedelta(minutes=20)).isoformat(),
        "submitted_at": (now - timedelta(minutes=1)).isoformat(),
        "lat": None,
        "lng": None,
        "accuracy_m": None,
        "note": None,
        "answers": [
            {"item_code": i["code"], "result": "pass", "note": None, "photo_ids": []} for i in tpl["items"]
        ],
    }
    r = server.api("PUT", f"/inspections/{uuid.uuid4()}", INSPECTOR, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def shot(screenshot: Callable[..., Any], page: Any, name: str, full_page: bool = False) -> None:
    """A screenshot of a screen, which must fit the viewport's width (no sideways scrolling)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{name}: the page is {width}px wide"
    # A finding's row keeps at least half its width for its title and place (on a phone its tags took it all).
    squeezed = page.evaluate(
        """() => [...document.querySelectorAll('.frow')].filter((row) => {
             const main = row.querySelector('.frow-main');
             return main && main.getBoundingClientRect().width < row.getBoundingClientRect().width / 2;
           }).length"""
    )
    assert squeezed == 0, f"{name}: {squeezed} finding rows leave their title less than half the row"
    page.mouse.move(0, 0)  # no hover highlight left where the last click was
    screenshot(page, name, full_page=full_page)


def sign_in(page: Any, username: str, password: str) -> None:
    page.goto("/console")  # no trailing slash: the server sends the browser on to /console/
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def open_finding(page: Any, server: LiveServer, finding_id: str) -> None:
    """Sign in as the town's supervisor, wait for the home page, then open one finding."""
    sign_in(page, SUPERVISOR, server.password)
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    page.goto(f"/console/#/finding/{finding_id}")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_supervisor_triages_confirms_extends_and_compares_villages(
    live_server: LiveServer, console_page: Any, viewport: str, screenshot: Callable[..., Any]
) -> None:
    page = console_page
    inspection(live_server)  # for the figures
    watch = Watch(page, live_server.url)
    tag = uuid.uuid4().hex[:6]
    place = f"白云村一组12号旁边的楼道 {tag}"
    report = public_report(
        live_server, f"楼道里给电动车充电，堵住了安全出口 {tag}", place, 31.40412, 109.63321
    )
    major = manual_finding(live_server, f"液化气钢瓶放在人员密集的大厅 {tag}", "major")
    general = manual_finding(live_server, f"灭火器压力不足 {tag}", "general")

    sign_in(page, SUPERVISOR, live_server.password)
    expect(page).to_have_url(re.compile(r"/console/#/$"))
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    expect(page.get_by_test_id("q-reports").locator(".tile-count")).not_to_have_text("0")
    expect(page.get_by_test_id("major-stock")).not_to_have_text(re.compile(r"^\s*0"))
    shot(screenshot, page, f"console-{viewport}-home")

    # 1. Triage: the report becomes a finding of a chosen venue, with the report's place and position.
    page.get_by_test_id("q-reports").click()
    page.locator(f"[data-testid=report-row][data-id='{report['id']}'] a").click()
    expect(page.get_by_test_id("carried-place")).to_contain_text(place)
    page.get_by_test_id("area-select").select_option("v-baiyun-g1")
    venue = page.get_by_test_id("venue-select")
    expect(venue.locator("option", has_text="白云便利店")).to_have_count(1)
    venue.select_option(label=venue.locator("option", has_text="白云便利店").inner_text())
    page.locator("textarea[name=reply_accept]").fill("已受理，已安排网格员核查整改。")
    shot(screenshot, page, f"console-{viewport}-triage", full_page=True)
    page.get_by_test_id("triage-submit").click()
    expect(page.get_by_test_id("report-status")).to_have_text("已受理")
    page.get_by_test_id("report-finding").click()
    expect(page.get_by_test_id("location")).to_have_text(place)
    expect(page.get_by_test_id("position")).to_contain_text("31.40412")
    expect(page.get_by_test_id("venue")).to_contain_text("白云便利店")
    triaged = live_server.api("GET", f"/reports/{report['id']}").json()
    finding = live_server.api("GET", f"/findings/{triaged['finding_id']}").json()
    assert finding["location_text"] == place and finding["venue"]["name"] == "白云便利店"
    assert finding["lat"] == pytest.approx(31.40412) and finding["lng"] == pytest.approx(109.63321)
    # The report's photo, large and zoomed.
    page.get_by_test_id("photos-before").get_by_test_id("thumb").first.click()
    box = page.get_by_test_id("lightbox")
    expect(box).to_be_visible()
    expect(page.get_by_test_id("lightbox-image")).to_have_attribute("src", re.compile(r"^blob:"))
    page.get_by_test_id("zoom-in").click()
    expect(box.locator(".lb-zoom")).to_have_text("150%")
    page.get_by_test_id("lightbox-close").click()
    expect(box).to_have_count(0)

    # 2. A suspected major hazard confirmed with its register entry.
    page.get_by_role("link", name="工作台").click()
    page.get_by_test_id("q-major").click()
    page.get_by_role("link", name=major["title"]).click()
    expect(page.get_by_test_id("severity")).to_have_text("疑似重大事故隐患")  # not 重大 before the 认定
    page.get_by_test_id("act-major").click()
    dlg = page.get_by_test_id("major-dialog")
    # The register's deadline is a new one: never offered in the past (the suspicion's may have run out).
    expect(dlg.locator("[data-field=deadline]")).to_have_attribute("min", today().isoformat())
    assert dlg.locator("[data-field=deadline]").input_value() >= today().isoformat()
    deadline = (today() + timedelta(days=30)).isoformat()
    dlg.get_by_label("参加认定人员").fill("镇应急办 李主任、安监站 张工、白云村 王书记")
    dlg.get_by_test_id("dialog-submit").click()
    expect(dlg.get_by_test_id("dialog-error")).to_contain_text("请填写")  # the five 落实 are required
    dlg.locator("[data-field=responsible_person]").fill("李强（经营者）")
    dlg.locator("[data-field=measures]").fill("钢瓶移出大厅，设独立气瓶间并安装燃气报警器")
    dlg.locator("[data-field=funds]").fill("8000 元，经营者自筹")
    dlg.locator("[data-field=deadline]").fill(deadline)
    dlg.locator("[data-field=contingency_plan]").fill("整改期间停用大厅，配灭火器两具，专人值守")
    dlg.locator("[data-field=supervising_official]").fill("镇应急办 李主任")
    shot(screenshot, page, f"console-{viewport}-major-decision")
    dlg.get_by_test_id("dialog-submit").click()
    expect(dlg).to_have_count(0)
    expect(page.get_by_test_id("major-status")).to_have_text("重大（已认定）")
    expect(page.get_by_test_id("severity")).to_have_text("重大事故隐患")
    expect(page.get_by_test_id("register")).to_contain_text("钢瓶移出大厅")
    expect(page.get_by_test_id("events").locator("[data-action=confirm_major]")).to_have_count(1)
    # Before the decision it was only suspected, and the history says so.
    created = page.get_by_test_id("events").locator("[data-action=create]")
    expect(created).to_contain_text("疑似重大事故隐患")
    confirmed = live_server.api("GET", f"/findings/{major['id']}").json()
    assert confirmed["major_status"] == "confirmed" and confirmed["deadline"] == deadline
    assert confirmed["register"]["supervising_official"] == "镇应急办 李主任"
    page.get_by_role("link", name="重大隐患").click()
    row = page.locator(f"[data-testid=major-row][data-id='{major['id']}']")
    expect(row).to_contain_text("责任人 李强（经营者）")
    expect(row).to_contain_text("督办人 镇应急办 李主任")
    shot(screenshot, page, f"console-{viewport}-major-register", full_page=True)

    # 3. An extension with its reason.
    page.goto(f"/console/#/finding/{general['id']}")
    expect(page.get_by_test_id("finding-title")).to_contain_text(general["title"])  # not the last one's
    page.get_by_test_id("act-extend").click()
    dlg = page.get_by_test_id("extension-dialog")
    later = (date.fromisoformat(general["deadline"]) + timedelta(days=20)).isoformat()
    dlg.get_by_label("新的整改期限").fill(later)
    dlg.get_by_label("延期理由").fill("需要更换整批灭火器，供货需两周")
    dlg.get_by_test_id("dialog-submit").click()
    expect(dlg).to_have_count(0)
    expect(page.get_by_test_id("deadline")).to_contain_text(later)
    expect(page.get_by_test_id("events").locator("[data-action=extend]")).to_contain_text("批准延期")
    extended = live_server.api("GET", f"/findings/{general['id']}").json()
    assert extended["deadline"] == later
    assert [e["note"] for e in extended["events"] if e["action"] == "extend"] == [
        "需要更换整批灭火器，供货需两周"
    ]
    shot(screenshot, page, f"console-{viewport}-finding", full_page=True)

    # 4. The village comparison.
    page.get_by_role("link", name="各村考核").click()
    chart = page.get_by_test_id("chart-on-time")
    expect(chart).to_be_visible()
    for village in ("白云村", "青山村", "场镇社区"):
        expect(chart.locator(f"g.bar[data-label='{village}']")).to_have_count(1)
        expect(page.get_by_test_id("stats-table").get_by_role("rowheader", name=village)).to_be_visible()
    expect(page.get_by_test_id("chart-overdue").locator("title")).to_have_text("各村当前超期的隐患数")
    expect(page.get_by_test_id("chart-inspections").locator("g.bar")).to_have_count(3)
    inspections = page.get_by_test_id("chart-inspections").locator("g.bar[data-label='白云村'] text").last
    expect(inspections).not_to_have_text("0")
    shot(screenshot, page, f"console-{viewport}-stats", full_page=True)
    with page.expect_download() as dl:
        page.get_by_test_id("export-stats").click()
    assert dl.value.suggested_filename.endswith(".xlsx")
    assert dl.value.path().read_bytes()[:2] == b"PK"  # an XLSX is a zip

    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    assert page.context.cookies() == []
    watch.check()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_an_inspector_is_sent_to_the_phone_app(live_server: LiveServer, console_page: Any) -> None:
    page = console_page
    sign_in(page, INSPECTOR, live_server.password)
    expect(page.get_by_test_id("login-error")).to_contain_text("网格员请使用手机端")
    expect(page.get_by_test_id("phone-app-link")).to_have_attribute("href", "/")
    assert page.evaluate("sessionStorage.length") == 0


def test_refusal_in_chinese_and_a_decision_sent_twice_is_applied_once(
    live_server: LiveServer, console_page: Any, screenshot: Callable[..., Any]
) -> None:
    page = console_page
    f = manual_finding(live_server, f"疏散通道堆放杂物 {uuid.uuid4().hex[:6]}", "general", "山泉民宿")
    # The supervisor rectifies it (through the API), so the same supervisor may not verify it.
    r = live_server.api(
        "POST",
        f"/findings/{f['id']}/rectification",
        SUPERVISOR,
        json={"id": str(uuid.uuid4()), "note": "已清理"},
    )
    assert r.status_code == 200, r.text
    open_finding(page, live_server, f["id"])
    expect(page.get_by_text("须由其他人复查")).to_be_visible()
    page.get_by_test_id("act-verify").click()
    dlg = page.get_by_test_id("verify-dialog")
    dlg.get_by_text("通过，销号").click()
    dlg.get_by_test_id("dialog-submit").click()
    expect(dlg.get_by_test_id("dialog-error")).to_have_text("整改是你提交的，须由其他人复查（四眼原则）。")
    shot(screenshot, page, "console-desktop-four-eyes")
    dlg.get_by_role("button", name="取消").click()

    # A void whose first reply is lost: the retry carries the same client id and lands once.
    page.get_by_test_id("act-void").click()
    dlg = page.get_by_test_id("void-dialog")
    dlg.get_by_label("作废理由").fill("重复登记")
    sent: list[str] = []

    def lose_first_reply(route: Any) -> None:
        sent.append(route.request.post_data_json["id"])
        if len(sent) == 1:
            route.fetch()  # reaches the server, which applies it ...
            route.abort()  # ... but the reply never comes back
        else:
            route.continue_()

    page.route(f"**/api/v1/findings/{f['id']}/void", lose_first_reply)
    dlg.get_by_test_id("dialog-submit").click()
    expect(dlg.get_by_test_id("dialog-error")).to_contain_text("连不上服务器")
    dlg.get_by_test_id("dialog-submit").click()
    expect(dlg).to_have_count(0)
    expect(page.get_by_test_id("finding-status").first).to_have_text("已作废")
    assert len(sent) == 2 and sent[0] == sent[1]
    events = live_server.api("GET", f"/findings/{f['id']}").json()["events"]
    assert [e["action"] for e in events].count("void") == 1


REGISTER = {
    "responsible_person": "王梅（经营者）",
    "measures": "拆除违规加建的彩钢板隔间",
    "funds": "12000 元",
    "contingency_plan": "拆除期间停止接待住客",
    "supervising_official": "镇应急办 李主任",
}


def test_a_confirmed_major_hazard_closes_only_with_photo_evidence(
    live_server: LiveServer, console_page: Any, screenshot: Callable[..., Any], tmp_path: Path
) -> None:
    page = console_page
    f = manual_finding(live_server, f"彩钢板隔间住人 {uuid.uuid4().hex[:6]}", "major", "山泉民宿")
    r = live_server.api(
        "POST",
        f"/findings/{f['id']}/major-decision",
        json={
            "id": str(uuid.uuid4()),
            "decision": "confirm",
            "decided_on": today().isoformat(),
            "participants": "镇应急办 李主任、白云村 王书记",
            "register": {**REGISTER, "deadline": (today() + timedelta(days=10)).isoformat()},
        },
    )
    assert r.status_code == 200, r.text
    r = live_server.api(
        "POST",
        f"/findings/{f['id']}/rectification",
        INSPECTOR,
        json={"id": str(uuid.uuid4()), "note": "已拆除"},
    )
    assert r.status_code == 200, r.text

    open_finding(page, live_server, f["id"])
    expect(page.get_by_test_id("register")).to_contain_text("拆除违规加建的彩钢板隔间")
    page.get_by_test_id("act-register").click()
    dlg = page.get_by_test_id("register-dialog")
    expect(dlg.locator("[data-field=funds]")).to_have_value("12000 元")
    dlg.locator("[data-field=funds]").fill("15000 元，镇财政补助 5000 元")
    dlg.get_by_test_id("dialog-submit").click()
    expect(dlg).to_have_count(0)
    expect(page.get_by_test_id("register")).to_contain_text("镇财政补助")
    expect(page.get_by_test_id("events").locator("[data-action=update_register]")).to_contain_text(
        "修改挂牌督办信息"
    )
    page.get_by_test_id("act-verify").click()
    dlg = page.get_by_test_id("verify-dialog")
    dlg.get_by_text("通过，销号").click()
    dlg.get_by_test_id("dialog-submit").click()
    expect(dlg.get_by_test_id("dialog-error")).to_have_text("重大事故隐患销号必须有整改或复查照片作为证据。")
    # A camera's photo, as the office has it from the inspector: the console sends it as the phone app does.
    dlg.get_by_label("复查照片（可选）").set_input_files(str(camera_jpeg(tmp_path / "after.jpg", seed=9)))
    dlg.get_by_test_id("dialog-submit").click()
    expect(dlg).to_have_count(0)
    expect(page.get_by_test_id("finding-status").first).to_have_text("已销号")
    expect(page.get_by_test_id("photos-after").get_by_test_id("thumb")).to_have_count(1)
    shot(screenshot, page, "console-desktop-major-closed", full_page=True)
    closed = live_server.api("GET", f"/findings/{f['id']}").json()
    assert closed["status"] == "closed"
    [verify] = [e for e in closed["events"] if e["action"] == "verify_pass"]
    assert len(verify["photo_ids"]) == 1
    # Compressed in the browser (a 4000x3000 upload would be stored at 2048 px), and when and where it was
    # taken read from its EXIF there, since the canvas drops it.
    meta = live_server.api("GET", f"/photos/{verify['photo_ids'][0]}/meta").json()
    assert (meta["width"], meta["height"]) == (1600, 1200)
    assert abs(meta["lat"] - (31 + 24 / 60 + 7.56 / 3600)) < 1e-5
    assert abs(meta["lng"] - (109 + 38 / 60 + 0.6 / 3600)) < 1e-5


def test_ledger_pages_filters_and_photos_by_keyboard(
    live_server: LiveServer, console_page: Any, screenshot: Callable[..., Any]
) -> None:
    page = console_page
    tag = uuid.uuid4().hex[:6]
    pid = str(uuid.uuid4())
    r = live_server.api(
        "PUT", f"/photos/{pid}", INSPECTOR, files={"file": ("a.jpg", jpeg((200, 120, 40)), "image/jpeg")}
    )
    assert r.status_code == 201, r.text
    vid = venue_id(live_server, "白云农家乐")
    for i in range(3):
        body = {
            "id": str(uuid.uuid4()),
            "venue_id": vid,
            "title": f"厨房油烟管道积油 {tag} {i}",
            "severity": "general",
        }
        if i == 0:
            body["photo_ids"] = [pid]
        r = live_server.api("POST", "/findings", INSPECTOR, json=body)
        assert r.status_code == 201, r.text

    sign_in(page, SUPERVISOR, live_server.password)
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    page.goto(f"/console/#/findings?q={tag}&limit=2")
    rows = page.get_by_test_id("finding-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("李强 13800000002")  # the venue's owner and phone
    page.get_by_test_id("load-more").click()
    expect(rows).to_have_count(3)
    expect(page.get_by_test_id("load-more")).to_be_hidden()
    expect(page.get_by_text("已显示 3 条，已全部显示")).to_be_visible()

    # The photo opens from the keyboard, zooms with +, closes with Escape and gives the focus back.
    thumb = page.locator(f"[data-testid=finding-row]:has-text('{tag} 0') [data-testid=thumb]")
    expect(thumb.locator("img")).to_have_count(1)
    thumb.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("lightbox")).to_be_visible()
    expect(page.get_by_test_id("lightbox-image")).to_have_attribute("src", re.compile(r"^blob:"))
    page.keyboard.press("+")
    expect(page.get_by_test_id("lightbox").locator(".lb-zoom")).to_have_text("150%")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("lightbox")).to_have_count(0)
    expect(thumb).to_be_focused()

    # The filter form writes the address, so a filtered list can be bookmarked and sent on.
    page.get_by_label("状态").select_option("submitted")
    page.get_by_test_id("apply-filters").click()
    expect(page).to_have_url(re.compile(rf"#/findings\?q={tag}&status=submitted$"))
    expect(page.get_by_text("没有符合条件的隐患。")).to_be_visible()
    expect(page.get_by_test_id("active-filters")).to_have_text(f"当前筛选：搜索：{tag}；状态：待复查")
    shot(screenshot, page, "console-desktop-ledger")


def test_a_report_rejected_with_a_reply(live_server: LiveServer, console_page: Any) -> None:
    page = console_page
    report = public_report(live_server, f"有人说后山有烟 {uuid.uuid4().hex[:6]}", "后山", 31.41, 109.62)
    sign_in(page, SUPERVISOR, live_server.password)
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    page.goto(f"/console/#/report/{report['id']}")
    page.get_by_label("不予受理").check()
    page.get_by_test_id("triage-submit").click()
    expect(page.get_by_test_id("triage-error")).to_have_text("不予受理时，请写明理由（会告诉举报人）。")
    page.get_by_label("答复举报人的理由").fill("经现场核查，是村民焚烧秸秆，已劝止。")
    page.get_by_test_id("triage-submit").click()
    expect(page.get_by_test_id("report-status")).to_have_text("不予受理")
    after = live_server.api("GET", f"/reports/{report['id']}").json()
    assert after["status"] == "rejected" and after["reply"] == "经现场核查，是村民焚烧秸秆，已劝止。"
    assert after["finding_id"] is None


def test_a_downgrade_sets_the_general_hazards_deadline(live_server: LiveServer, console_page: Any) -> None:
    page = console_page
    f = manual_finding(live_server, f"灶台旁堆放柴火 {uuid.uuid4().hex[:6]}", "major")
    open_finding(page, live_server, f["id"])
    page.get_by_test_id("act-major").click()
    dlg = page.get_by_test_id("major-dialog")
    expect(dlg.get_by_test_id("downgrade-deadline")).to_be_hidden()  # a confirmation takes the register's
    dlg.get_by_label("不构成重大，降为一般隐患").check()
    chosen = dlg.get_by_test_id("downgrade-deadline")
    expect(chosen).to_be_visible()
    assert chosen.input_value() >= today().isoformat()
    later = (today() + timedelta(days=15)).isoformat()
    chosen.fill(later)
    dlg.get_by_label("参加认定人员").fill("镇应急办 李主任、安监站 张工")
    dlg.get_by_test_id("dialog-submit").click()
    expect(dlg).to_have_count(0)
    expect(page.get_by_test_id("deadline")).to_contain_text(later)
    after = live_server.api("GET", f"/findings/{f['id']}").json()
    assert (after["severity"], after["major_status"], after["deadline"]) == ("general", "downgraded", later)


def test_a_report_whose_finding_was_voided_asks_for_a_word_to_the_reporter(
    live_server: LiveServer, console_page: Any
) -> None:
    """The reporter still reads 已受理 after the finding was voided: the report says so until the office
    replies."""
    page = console_page
    report = public_report(live_server, f"桥头有人私接电线 {uuid.uuid4().hex[:6]}", "桥头", 31.4, 109.63)
    r = live_server.api(
        "POST", f"/reports/{report['id']}/triage", json={"action": "accept", "area_code": "v-baiyun"}
    )
    assert r.status_code == 200, r.text
    finding_id = r.json()["finding_id"]
    r = live_server.api("POST", f"/findings/{finding_id}/void", json={"reason": "与已有隐患重复"})
    assert r.status_code == 200, r.text
    sign_in(page, SUPERVISOR, live_server.password)
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    page.goto(f"/console/#/report/{report['id']}")
    expect(page.get_by_test_id("finding-voided")).to_contain_text("请修改答复")
    page.get_by_test_id("edit-reply").click()
    page.get_by_test_id("reply-dialog").get_by_role("textbox").fill(
        "经核查，该隐患已在此前检查中登记并整改，谢谢您的举报。"
    )
    page.get_by_test_id("reply-dialog").get_by_test_id("dialog-submit").click()
    expect(page.get_by_test_id("finding-voided")).to_have_text("所转隐患已作废，作废后已答复举报人。")


def test_a_report_marked_as_a_duplicate_of_a_nearby_one(live_server: LiveServer, console_page: Any) -> None:
    page = console_page
    tag = uuid.uuid4().hex[:6]
    first = public_report(
        live_server, f"场镇老街烟花店门口堆放烟花 {tag}", "场镇老街18号", 31.41201, 109.62502
    )
    second = public_report(live_server, f"老街18号门口又堆了烟花 {tag}", "老街18号", 31.41203, 109.62504)
    sign_in(page, SUPERVISOR, live_server.password)
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    page.goto(f"/console/#/report/{second['id']}")
    page.get_by_label("重复举报").check()
    choice = page.get_by_label("与哪条重复")
    expect(choice.locator(f"option[value='{first['id']}']")).to_contain_text(tag)
    choice.select_option(first["id"])
    page.get_by_test_id("triage-submit").click()
    expect(page.get_by_test_id("report-status")).to_have_text("重复举报")
    after = live_server.api("GET", f"/reports/{second['id']}").json()
    assert after["status"] == "duplicate" and after["duplicate_of_report_id"] == first["id"]


def test_the_office_takes_what_points_at_the_reporter_out_of_the_finding(
    live_server: LiveServer, console_page: Any
) -> None:
    """The reporter's words go to the inspectors, the ledger and the notice handed to the reported owner:
    the triage form lets the office edit them first (the API always could)."""
    page = console_page
    # Letters only: a tag such as "bf303e" would put the reporter's door number back into the notice.
    tag = uuid.uuid4().hex[:6].translate(str.maketrans("0123456789", "ghijklmnop"))
    words = f"我是隔壁303的刘阿姨，楼下小卖部晚上在店里给电瓶车充电 {tag}"
    report = public_report(live_server, words, f"白云村小卖部 {tag}", 31.4, 109.63)
    sign_in(page, SUPERVISOR, live_server.password)
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    page.goto(f"/console/#/report/{report['id']}")
    text = page.get_by_test_id("triage-description")
    expect(text).to_have_value(words)
    page.get_by_test_id("area-select").select_option("v-baiyun-g1")
    text.fill("")
    page.get_by_test_id("triage-submit").click()
    expect(page.get_by_test_id("triage-error")).to_contain_text("不能为空")
    text.fill(f"小卖部晚上在店里给电动自行车充电 {tag}")
    place = page.get_by_test_id("triage-place")
    expect(place).to_have_value(f"白云村小卖部 {tag}")
    place.fill(f"白云村小卖部门口 {tag}")
    page.get_by_test_id("triage-submit").click()
    expect(page.get_by_test_id("report-status")).to_have_text("已受理")
    triaged = live_server.api("GET", f"/reports/{report['id']}").json()
    finding = live_server.api("GET", f"/findings/{triaged['finding_id']}").json()
    assert finding["description"] == finding["note"] == f"小卖部晚上在店里给电动自行车充电 {tag}"
    assert finding["location_text"] == f"白云村小卖部门口 {tag}"
    notice = live_server.api("GET", f"/findings/{finding['id']}/notice.pdf")
    assert notice.status_code == 200
    text_of_notice = subprocess.run(
        ["pdftotext", "-", "-"], input=notice.content, capture_output=True, check=True
    ).stdout.decode()
    assert "刘阿姨" not in text_of_notice and "303" not in text_of_notice


def test_the_office_prints_the_notice_and_the_inspection_record_from_a_finding(
    live_server: LiveServer, console_page: Any
) -> None:
    from test_field_bugs import TEMPLATE, inspect_via_api

    page = console_page
    (fid,) = inspect_via_api(live_server, "白云便利店", TEMPLATE, {"JX-EB-01": "门口充电"})
    open_finding(page, live_server, fid)
    for testid, words in (("pdf-notice", "整改通知书"), ("pdf-record", "现场检查记录")):
        with page.expect_download() as download:
            page.get_by_test_id(testid).click()
        path = download.value.path()
        assert download.value.suggested_filename.endswith(".pdf")
        text = subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, check=True, text=True
        ).stdout
        assert words in "".join(text.split()), text[:200]
    # A finding with no inspection has a notice but no record.
    manual = manual_finding(live_server, f"灭火器过期 {uuid.uuid4().hex[:6]}", "general")
    page.goto(f"/console/#/finding/{manual['id']}")
    expect(page.get_by_test_id("pdf-notice")).to_be_visible()
    expect(page.get_by_test_id("pdf-record")).to_have_count(0)


def test_a_sign_in_that_expires_under_an_open_dialog_reaches_the_sign_in_form(
    live_server: LiveServer, console_page: Any
) -> None:
    """The modal dialog used to stay on top of the sign-in form, which could then not be used."""
    page = console_page
    finding = manual_finding(live_server, f"楼道堆放杂物 {uuid.uuid4().hex[:6]}", "general")
    open_finding(page, live_server, finding["id"])
    page.get_by_test_id("act-void").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    dialog.locator("textarea, input").first.fill("重复录入")
    token = page.evaluate("JSON.parse(sessionStorage.getItem('safegrid.console.token')).access_token")
    r = httpx.post(f"{live_server.url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 204
    dialog.get_by_test_id("dialog-submit").click()
    expect(page.get_by_test_id("login-error")).to_contain_text("需要重新填写")
    expect(page.locator("dialog[open]")).to_have_count(0)
    page.get_by_label("用户名").fill(SUPERVISOR)
    page.get_by_label("密码").fill(live_server.password)
    page.get_by_role("button", name="登录", exact=True).click()
    # Back where the supervisor was, and nothing was voided behind their back.
    expect(page.get_by_test_id("act-void")).to_be_visible()
    assert live_server.api("GET", f"/findings/{finding['id']}").json()["status"] == "open"


def test_a_revoked_sign_in_returns_to_the_sign_in_form(live_server: LiveServer, console_page: Any) -> None:
    page = console_page
    sign_in(page, SUPERVISOR, live_server.password)
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    token = page.evaluate("JSON.parse(sessionStorage.getItem('safegrid.console.token')).access_token")
    r = httpx.post(f"{live_server.url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 204
    page.get_by_role("link", name="隐患台账").click()
    expect(page.get_by_test_id("login-error")).to_have_text("登录已过期，请重新登录。")
    assert page.evaluate("sessionStorage.length") == 0
    page.get_by_label("用户名").fill(SUPERVISOR)
    page.get_by_label("密码").fill(live_server.password)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(
        page.get_by_role("heading", name="隐患台账")
    ).to_be_visible()  # back where the supervisor was going


def test_an_admin_works_in_the_console_too(live_server: LiveServer, console_page: Any) -> None:
    page = console_page
    sign_in(page, "admin", live_server.password)
    expect(page.get_by_test_id("queue")).to_be_visible()
    expect(page.get_by_test_id("stock-table").get_by_role("rowheader", name="白云村")).to_be_visible()
    page.get_by_role("link", name="各村考核").click()
    expect(page.get_by_test_id("chart-overdue").locator("g.bar")).to_have_count(3)


def test_a_suspected_major_hazard_downgraded(live_server: LiveServer, console_page: Any) -> None:
    page = console_page
    f = manual_finding(live_server, f"仓库内存放少量油漆 {uuid.uuid4().hex[:6]}", "major", "白云便利店")
    open_finding(page, live_server, f["id"])
    page.get_by_test_id("act-major").click()
    dlg = page.get_by_test_id("major-dialog")
    dlg.get_by_label("不构成重大，降为一般隐患").check()
    expect(dlg.locator("[data-field=responsible_person]")).to_be_hidden()  # no register for a downgrade
    dlg.get_by_label("参加认定人员").fill("镇应急办 李主任、安监站 张工")
    dlg.get_by_label("说明").fill("油漆不足 20 升，不构成重大事故隐患")
    dlg.get_by_test_id("dialog-submit").click()
    expect(dlg).to_have_count(0)
    expect(page.get_by_test_id("major-status")).to_have_text("已降为一般")
    expect(page.get_by_test_id("events").locator("[data-action=downgrade_major]")).to_contain_text(
        "降为一般隐患"
    )
    after = live_server.api("GET", f"/findings/{f['id']}").json()
    assert after["major_status"] == "downgraded" and after["severity"] == "general"
    assert after["register"] is None


def test_the_console_refuses_other_origins_and_inline_code(
    live_server: LiveServer, console_page: Any
) -> None:
    page = console_page
    page.goto("/console/")
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible()
    other = live_server.url.replace("127.0.0.1", "localhost")  # the same server, another origin
    violated = page.evaluate(
        """(src) => new Promise((resolve) => {
            const seen = (e) => resolve(e.effectiveDirective);
            document.addEventListener('securitypolicyviolation', seen, {once: true});
            const img = new Image();
            img.src = src;
        })""",
        f"{other}/icons/icon-192.png",
    )
    assert violated == "img-src"
    blocked = page.evaluate(
        """() => new Promise((resolve) => {
            const seen = (e) => resolve(e.effectiveDirective);
            document.addEventListener('securitypolicyviolation', seen, {once: true});
            const s = document.createElement('script');
            s.textContent = 'window.injected = true';
            document.body.append(s);
        })"""
    )
    assert blocked == "script-src-elem" and page.evaluate("window.injected") is None


def test_each_tile_of_the_queue_opens_a_list_of_its_size(live_server: LiveServer, console_page: Any) -> None:
    page = console_page
    sign_in(page, SUPERVISOR, live_server.password)
    tiles = {
        "q-reports": "report-row",
        "q-major": "finding-row",
        "q-due": "finding-row",
        "q-overdue-1": "finding-row",
        "q-overdue-2": "finding-row",
        "q-overdue-3": "finding-row",
        "q-verify": "finding-row",
        "q-verify-overdue": "finding-row",
    }
    for tile, row in tiles.items():
        page.goto("/console/#/")
        count = page.get_by_test_id(tile).locator(".tile-count")
        expect(count).to_have_text(re.compile(r"^\d+$"))
        n = int(count.inner_text())
        page.get_by_test_id(tile).click()
        expect(page.get_by_role("status").filter(has_text=re.compile("已显示|没有"))).to_be_visible()
        expect(page.get_by_test_id(row)).to_have_count(n)


def test_the_office_changes_its_reply_to_a_triaged_report(live_server: LiveServer, console_page: Any) -> None:
    """After triage the reporter still reads the reply (the finding may be voided, or late): the console
    can change it, and the report tabs include 已整改完毕."""
    page = console_page
    tag = uuid.uuid4().hex[:6]
    report = public_report(live_server, f"河边护栏缺失 {tag}", f"白云村河边 {tag}", 31.4, 109.63)
    r = live_server.api(
        "POST",
        f"/reports/{report['id']}/triage",
        json={"action": "reject", "reply": "经核查不属于安全生产隐患。"},
    )
    assert r.status_code == 200, r.text
    sign_in(page, SUPERVISOR, live_server.password)
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    page.goto("/console/#/reports")
    expect(page.locator("nav.tabs a", has_text="已整改完毕")).to_have_attribute(
        "href", "#/reports?status=resolved"
    )
    page.goto(f"/console/#/report/{report['id']}")
    page.get_by_test_id("edit-reply").click()
    dialog = page.get_by_test_id("reply-dialog")
    expect(dialog.locator("textarea")).to_have_value("经核查不属于安全生产隐患。")
    dialog.locator("textarea").fill("经核查属于水利设施，已转交水务站处理。")
    dialog.get_by_test_id("dialog-submit").click()
    expect(page.locator("main")).to_contain_text("经核查属于水利设施，已转交水务站处理。")
    assert (
        live_server.api("GET", f"/reports/{report['id']}").json()["reply"]
        == "经核查属于水利设施，已转交水务站处理。"
    )


def test_the_office_draws_at_random_and_follows_the_results(
    live_server: LiveServer, console_page: Any
) -> None:
    """双随机: a draw made from the console is the server's seeded draw, shown with its targets, inspectors,
    progress and what is published; a refused draw is said in Chinese and stores nothing."""
    page = console_page
    sign_in(page, SUPERVISOR, live_server.password)
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    page.get_by_role("link", name="双随机抽查").click()
    expect(page.get_by_role("heading", name="双随机抽查")).to_be_visible()
    before = len(live_server.get_all("/draws"))
    page.get_by_test_id("new-draw").click()
    dialog = page.get_by_test_id("draw-dialog")
    dialog.get_by_test_id("dialog-submit").click()
    expect(dialog.get_by_test_id("dialog-error")).to_have_text("请选择区域。")
    dialog.locator("select[name=area_code]").select_option("v-baiyun")
    dialog.locator("input[name=count]").fill("999")
    dialog.get_by_test_id("dialog-submit").click()
    expect(dialog.get_by_test_id("dialog-error")).to_contain_text("超过了该区域符合条件的场所数")
    assert len(live_server.get_all("/draws")) == before  # nothing stored on a refusal
    dialog.locator("input[name=count]").fill("1")
    dialog.get_by_test_id("dialog-submit").click()
    expect(page.get_by_test_id("draw-targets").locator("tbody tr")).to_have_count(1)
    draw_id = page.url.rsplit("/", 1)[1]
    draw = live_server.api("GET", f"/draws/{draw_id}").json()
    assert draw["count"] == 1 and len(draw["targets"][0]["inspectors"]) == 2
    names = [i["display_name"] for i in draw["targets"][0]["inspectors"]]
    row = page.get_by_test_id("draw-targets").locator("tbody tr").first
    for name in names:
        expect(row).to_contain_text(name)
    expect(row).to_contain_text("未检查")
    expect(page.get_by_test_id("draw-progress")).to_have_text("已检查 0/1")
    expect(page.get_by_test_id("draw-facts")).to_contain_text(draw["seed"])
    public = httpx.get(f"{live_server.url}/api/v1/public/draws/{draw_id}", timeout=30)
    assert public.status_code == 200 and public.json()["seed"] == draw["seed"]
    assert len(live_server.get_all("/draws")) == before + 1
    page.get_by_role("link", name="‹ 双随机抽查").click()
    expect(page.locator(f"[data-testid=draw-row] a[href='#/draw/{draw_id}']")).to_be_visible()

    # Made by mistake: voided with a reason, kept on record and on the public page, and said so.
    page.locator(f"[data-testid=draw-row] a[href='#/draw/{draw_id}']").click()
    public_link = page.get_by_role("link", name="查看公示页面")
    expect(public_link).to_have_attribute("href", f"/report/draws/{draw_id}")
    page.get_by_test_id("void-draw").click()
    dialog = page.get_by_test_id("void-draw-dialog")
    dialog.get_by_test_id("dialog-submit").click()
    expect(dialog.get_by_test_id("dialog-error")).to_have_text("请填写作废理由。")
    dialog.locator("textarea[name=reason]").fill("范围选错，应抽全镇")
    dialog.get_by_test_id("dialog-submit").click()
    expect(page.get_by_test_id("draw-voided")).to_contain_text("理由：范围选错，应抽全镇。抽中的人员")
    expect(page.get_by_test_id("void-draw")).to_have_count(0)
    assert live_server.api("GET", f"/draws/{draw_id}").json()["void_reason"] == "范围选错，应抽全镇"
    public = httpx.get(f"{live_server.url}/api/v1/public/draws/{draw_id}", timeout=30)
    assert public.json()["void_reason"] == "范围选错，应抽全镇"
    page.get_by_role("link", name="‹ 双随机抽查").click()
    row = page.get_by_test_id("draw-row").filter(has=page.locator(f"a[href='#/draw/{draw_id}']"))
    expect(row).to_contain_text("已作废")
