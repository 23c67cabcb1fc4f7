"""The public report page in headless Chromium against `safegrid serve`: a reporter on a phone."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import GPS_FIX, LiveServer
from tests.helpers import gps_exif, jpeg_segments

pytestmark = pytest.mark.e2e

RECEIPT_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){3}$")
USER_AGENT = "Mozilla/5.0 (Linux; Android 10; K) ReportProbe/4.2 Mobile Safari/537.36"


def gps_photo() -> bytes:
    """A camera-like photo: 2400x1800 with GPS, time and camera model in its EXIF."""
    exif = gps_exif(31.40412, 109.63321)
    exif[0x0110] = "PhoneModel-X9"
    img = Image.new("RGB", (2400, 1800), (200, 60, 40))
    for x in range(0, 2400, 200):
        img.paste((20, 20, 160), (x, 0, x + 100, 1800))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, exif=exif)
    return buf.getvalue()


class Watch:
    """Every request the page makes and every console error it logs."""

    def __init__(self, page: Any, origin: str) -> None:
        self.origin = origin
        self.urls: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda req: self.urls.append(req.url))
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def check(self, expected_404s: int = 0) -> None:
        foreign = [
            u for u in self.urls if not (u.startswith(self.origin) or u.startswith(("blob:", "data:")))
        ]
        assert foreign == []
        # Network failures while offline are expected; a CSP violation or a script error is not.
        real = [
            e
            for e in self.errors
            if "ERR_INTERNET_DISCONNECTED" not in e and "Failed to fetch" not in e and "ERR_FAILED" not in e
        ]
        not_found = [e for e in real if "status of 404" in e]
        assert len(not_found) == expected_404s, (real, self.urls)
        assert [e for e in real if e not in not_found] == [], (real, self.urls)


def fill_report(page: Any, description: str, photo: bytes | None = None) -> None:
    page.goto("/report")
    expect(page.locator("#category option[value=blocked_exit]")).to_be_attached()
    page.select_option("#category", "blocked_exit")
    page.fill("#description", description)
    page.fill("#location_text", "白云村一组12号旁边的楼道")
    if photo is not None:
        page.set_input_files(
            "#photos", files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo}]
        )
        page.wait_for_selector("#photo-list li img")
        expect(page.locator("#submit")).to_be_enabled()


def read_receipt(page: Any) -> str:
    page.wait_for_selector("#receipt-view:not([hidden]) .receipt")
    receipts = page.locator(".receipt").all_inner_texts()
    assert len(receipts) == 1
    receipt = receipts[0].strip()
    assert RECEIPT_RE.match(receipt), receipt
    return receipt


def drafts_on_phone(page: Any) -> int:
    return int(
        page.evaluate("""() => new Promise((resolve) => {
        const req = indexedDB.open('safegrid-report', 1);
        req.onupgradeneeded = () => req.result.createObjectStore('drafts', {keyPath: 'draft_id'});
        req.onsuccess = () => {
            const tx = req.result.transaction('drafts', 'readonly');
            const c = tx.objectStore('drafts').count();
            c.onsuccess = () => { resolve(c.result); req.result.close(); };
        };
    })""")
    )


def reports_with(server: LiveServer, description: str) -> list[dict[str, Any]]:
    return [r for r in server.get_all("/reports") if r["description"] == description]


def test_report_with_a_gps_photo_then_check_its_status(
    live_server: LiveServer, new_context: Callable[..., Any], screenshot: Callable[..., Any]
) -> None:
    ctx = new_context(user_agent=USER_AGENT)
    page = ctx.new_page()
    watch = Watch(page, live_server.url)
    description = f"楼道里有人给电动车充电，堵住了安全出口 {uuid.uuid4().hex[:8]}"
    fill_report(page, description, gps_photo())
    # The location is shared only when asked for, and the page says what that means.
    assert "经纬度" in page.inner_text("#geo-explain")
    page.click("#geo-use")
    page.wait_for_selector("#geo-state:has-text('已获取位置')")
    page.fill("#contact", "13700001111")
    screenshot(page, "report-form", full_page=True)
    page.click("#submit")
    receipt = read_receipt(page)
    assert "只显示这一次" in page.inner_text("#receipt-view")
    assert page.locator("#receipt-view button.copy").is_visible()
    screenshot(page, "report-receipt")
    assert drafts_on_phone(page) == 0  # sent: nothing of the report is left on the phone

    [report] = reports_with(live_server, description)
    assert report["lat"] == pytest.approx(GPS_FIX["latitude"]) and report["lng"] == pytest.approx(
        GPS_FIX["longitude"]
    )
    assert report["location_text"] == "白云村一组12号旁边的楼道" and report["has_contact"] is True
    assert len(report["photo_ids"]) == 1
    stored = live_server.api("GET", f"/photos/{report['photo_ids'][0]}").content
    img = Image.open(io.BytesIO(stored))
    assert max(img.size) <= 1600  # compressed on the phone
    assert not img.getexif() and b"GPS" not in stored and b"PhoneModel" not in stored
    assert not [m for m in jpeg_segments(stored) if 0xE1 <= m <= 0xEF or m == 0xFE]

    r = live_server.api(
        "POST",
        f"/reports/{report['id']}/triage",
        json={"action": "accept", "venue_id": _venue(live_server), "reply": "已派网格员核查"},
    )
    assert r.status_code == 200, r.text

    page.goto("/report/status")
    page.fill("#receipt-input", receipt.replace("-", "").lower())
    page.click("#status-submit")
    page.wait_for_selector("#status-result:not([hidden])")
    assert page.inner_text("#status-text") == "已受理，正在核查整改"
    assert page.inner_text("#status-reply") == "已派网格员核查"
    screenshot(page, "report-status")
    page.fill("#receipt-input", "ABCDE-FGHJK-MNPQR-STVWX")
    page.click("#status-submit")
    page.wait_for_selector("#status-error:not([hidden])")
    assert "没有找到" in page.inner_text("#status-error")

    assert ctx.cookies() == []
    watch.check(expected_404s=1)  # the unknown receipt
    log = live_server.log()
    for secret in (
        receipt,
        receipt.replace("-", ""),
        receipt.replace("-", "").lower(),
        "ReportProbe",
        "13700001111",
    ):
        assert secret not in log


def _venue(server: LiveServer) -> str:
    venues = server.api("GET", "/venues", params={"q": "白云便利店"}).json()["items"]
    return str(venues[0]["id"])


def test_offline_draft_is_kept_and_sent_when_the_network_returns(
    live_server: LiveServer, new_context: Callable[..., Any], screenshot: Callable[..., Any]
) -> None:
    ctx = new_context()
    page = ctx.new_page()
    watch = Watch(page, live_server.url)
    description = f"仓库里私存大量烟花爆竹 {uuid.uuid4().hex[:8]}"
    fill_report(page, description, gps_photo())
    ctx.set_offline(True)
    page.click("#submit")
    page.wait_for_selector("#outbox:not([hidden])")
    assert "保存在这部手机上" in page.inner_text("#outbox")
    assert page.locator("#receipt-view").is_hidden()
    assert drafts_on_phone(page) == 1
    screenshot(page, "report-offline")
    assert reports_with(live_server, description) == []

    ctx.set_offline(False)
    receipt = read_receipt(page)
    assert page.locator("#outbox").is_hidden()
    assert drafts_on_phone(page) == 0
    [report] = reports_with(live_server, description)
    assert len(report["photo_ids"]) == 1
    status = httpx.get(f"{live_server.url}/api/v1/public/reports/{receipt}")
    assert status.status_code == 200 and status.json()["status"] == "received"
    watch.check()


def test_a_draft_left_offline_is_sent_when_the_page_is_opened_again(
    live_server: LiveServer, new_context: Callable[..., Any]
) -> None:
    ctx = new_context()
    page = ctx.new_page()
    description = f"小饭店后厨液化气瓶放在门口 {uuid.uuid4().hex[:8]}"
    fill_report(page, description)
    ctx.set_offline(True)
    page.click("#submit")
    page.wait_for_selector("#outbox:not([hidden])")
    page.close()
    ctx.set_offline(False)
    page = ctx.new_page()
    page.goto("/report/status")  # either page sends what is waiting
    read_receipt(page)
    assert len(reports_with(live_server, description)) == 1


def test_a_lost_reply_is_retried_into_the_same_report_and_receipt(
    live_server: LiveServer, new_context: Callable[..., Any]
) -> None:
    ctx = new_context()
    page = ctx.new_page()
    description = f"网吧安全出口上了锁 {uuid.uuid4().hex[:8]}"
    fill_report(page, description)
    answers: list[dict[str, Any]] = []

    def lose_reply(route: Any) -> None:
        # The server files the report, but its reply never reaches the phone.
        response = route.fetch()
        answers.append({"status": response.status, "body": response.json()})
        route.abort("internetdisconnected")

    page.route("**/api/v1/public/reports", lose_reply)
    page.click("#submit")
    page.wait_for_selector("#outbox:not([hidden])")
    assert answers and answers[0]["status"] == 201
    assert len(reports_with(live_server, description)) == 1
    page.unroute("**/api/v1/public/reports")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    receipt = read_receipt(page)
    assert receipt == answers[0]["body"]["receipt"]
    assert len(reports_with(live_server, description)) == 1


def test_a_send_that_fails_while_online_is_retried_without_a_reload(
    live_server: LiveServer, new_context: Callable[..., Any]
) -> None:
    ctx = new_context()
    page = ctx.new_page()
    description = f"加油站旁边有人卖散装汽油 {uuid.uuid4().hex[:8]}"
    fill_report(page, description)
    failures: list[str] = []

    def fail_once(route: Any) -> None:
        # The link drops this one request; the phone still says it is online.
        failures.append(route.request.url)
        if len(failures) == 1:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/public/reports", fail_once)
    page.click("#submit")
    # No `online` event and no reload: the page tries again by itself.
    read_receipt(page)
    assert len(failures) == 2  # the failed send and its retry
    assert len(reports_with(live_server, description)) == 1


def test_the_published_draw_is_a_page_anyone_can_open(live_server: LiveServer, new_context: Any) -> None:
    """双随机一公开: the link the office posts opens a page with the draw, how to check it, and each result,
    venue names only; a voided draw says so and why; a wrong link says there is no such draw."""
    body = {"id": str(uuid.uuid4()), "area_code": "v-baiyun", "kinds": ["small_retail"], "count": 1}
    r = live_server.api("POST", "/draws", json=body)
    assert r.status_code == 201, r.text
    draw = r.json()
    ctx = new_context()
    page = ctx.new_page()
    watch = Watch(page, live_server.url)
    page.goto(f"/report/draws/{draw['id']}")
    facts = page.get_by_test_id("facts")
    expect(facts).to_contain_text(draw["seed"])
    expect(facts).to_contain_text("小购物场所")
    expect(facts).to_contain_text("已检查 0/1")
    row = page.get_by_test_id("results").locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(draw["targets"][0]["venue_name"])
    expect(row).to_contain_text("未检查")
    text = page.locator("main").inner_text()
    for inspector in draw["targets"][0]["inspectors"]:
        assert inspector["display_name"] not in text
    expect(page.get_by_test_id("voided")).to_be_hidden()
    headers = httpx.get(f"{live_server.url}/report/draws/{draw['id']}", timeout=30).headers
    assert headers["cache-control"] == "no-store"
    assert "script-src 'self'" in headers["content-security-policy"]

    r = live_server.api("POST", f"/draws/{draw['id']}/void", json={"reason": "类型选错"})
    assert r.status_code == 200, r.text
    page.reload()
    expect(page.get_by_test_id("voided")).to_contain_text("理由：类型选错。抽中的场所")
    expect(facts).to_contain_text("已作废")
    expect(facts).not_to_contain_text("已检查")

    page.goto(f"/report/draws/{uuid.uuid4()}")
    expect(page.locator("#error")).to_have_text("没有这次抽查。请检查链接是否复制完整。")
    watch.check(expected_404s=1)
