"""Evidence that holds: a photo taken in the app keeps when and where it was taken (read from the original's
EXIF on the phone, with the phone's position at capture time), stored with it on the phone and sent with it
as form fields of `PUT /photos/{id}`; photos open large; a verifier sees before and after side by side."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import GPS_FIX, LiveServer
from PIL import Image
from playwright.sync_api import expect
from test_inspector_app import (
    INSPECTOR,
    TEMPLATE,
    VENUE,
    add_photo,
    answer_all,
    open_checklist,
    sign_in,
    venue_id,
)

from tests.helpers import gps_exif

pytestmark = pytest.mark.e2e

INSPECTOR2 = "inspector_baiyun2"
RECORD_UPLOADS = """
(() => {
  const open = XMLHttpRequest.prototype.open;
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url, ...rest) {
    this.__url = url;
    return open.call(this, method, url, ...rest);
  };
  XMLHttpRequest.prototype.send = function (body) {
    if (body instanceof FormData) {
      const fields = {};
      let file = null;
      for (const [k, v] of body.entries()) {
        if (typeof v === 'string') fields[k] = v;
        else file = k;
      }
      (window.__uploads = window.__uploads || []).push({ url: this.__url, fields, file });
    }
    return send.call(this, body);
  };
})();
"""


def photo_file(path: Path, exif: Any = None, seed: int = 0) -> Path:
    img = Image.effect_noise((1200, 900), 40 + seed).convert("RGB")
    img.save(path, "JPEG", quality=90, **({"exif": exif} if exif is not None else {}))
    return path


def test_capture_time_and_position_go_with_the_photo(live_server, new_context, tmp_path):
    own = photo_file(tmp_path / "own.jpg", gps_exif(31.40412, 109.63321, taken="2026:11:30 09:41:07"))
    plain = photo_file(tmp_path / "plain.jpg", seed=1)
    ctx = new_context()
    # What the page puts in each upload's form (DevTools does not hand over multipart bodies holding a Blob).
    ctx.add_init_script(RECORD_UPLOADS)
    page = ctx.new_page()
    sign_in(page, INSPECTOR, live_server.password)
    open_checklist(page)
    ctx.set_offline(True)
    answer_all(page, "pass")
    tpl = live_server.api("GET", f"/checklists/{TEMPLATE}", INSPECTOR).json()
    codes = [i["code"] for i in tpl["items"] if i["photo_required"] and "small_retail" in i["kinds"]][:2]
    for code, path in zip(codes, (own, plain), strict=True):
        page.locator(f"#item-{code} [data-result=fail]").click()
        add_photo(page, page.locator(f"#item-{code}"), path)

    # A photo opens large, and zooms.
    page.locator(f"#item-{codes[0]} .photo-open").first.click()
    box = page.locator("[data-testid=lightbox]")
    expect(box).to_be_visible()
    img = page.locator("[data-testid=lightbox-img]")
    expect(img).to_have_attribute("src", re.compile("^blob:"))
    assert img.bounding_box()["width"] > 300
    page.locator(".lb-stage").dblclick()
    expect(img).to_have_attribute("data-scale", "2.5")
    page.click("[data-testid=lightbox-close]")
    expect(box).to_have_count(0)

    # Saved offline, sent later: what goes with each photo was stored with it on the phone.
    page.click("[data-testid=to-summary]")
    expect(page.locator("[data-testid=gps-line]")).to_contain_text("已记录")
    page.click("[data-testid=submit-inspection]")
    expect(page.locator("[data-testid=outbox-item][data-state=pending]")).to_have_count(1)
    page.reload()
    expect(page.locator("[data-testid=outbox-item][data-state=pending]")).to_have_count(1)
    ctx.set_offline(False)
    expect(page.locator("[data-testid=outbox-item][data-state=done]")).to_have_count(1, timeout=60000)

    sent = {
        u["url"].rsplit("/", 1)[1]: u["fields"]
        for u in page.evaluate("window.__uploads || []")
        if "/api/v1/photos/" in u["url"]
    }
    inspection = live_server.get_all("/inspections", venue_id=venue_id(live_server))[0]
    by_item = {a["item_code"]: a["photo_ids"] for a in inspection["answers"]}
    assert len(sent) == 2, sent
    own_fields = sent[by_item[codes[0]][0]]
    plain_fields = sent[by_item[codes[1]][0]]
    # The photo's own: its EXIF time (local, the phone in Asia/Shanghai) and its GPS.
    assert own_fields["captured_at"] == "2026-11-30T09:41:07+08:00"
    assert abs(float(own_fields["lat"]) - 31.40412) < 1e-5
    assert abs(float(own_fields["lng"]) - 109.63321) < 1e-5
    # A photo with no EXIF: the phone's position when it was taken, and the time of the file.
    assert abs(float(plain_fields["lat"]) - GPS_FIX["latitude"]) < 1e-6
    assert abs(float(plain_fields["lng"]) - GPS_FIX["longitude"]) < 1e-6
    assert float(plain_fields["accuracy_m"]) == GPS_FIX["accuracy"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", plain_fields["captured_at"])
    assert set(own_fields) <= {"captured_at", "lat", "lng", "accuracy_m"}


def test_position_can_be_retried_on_the_summary_when_it_failed(live_server, new_context):
    ctx = new_context(permissions=[])  # no permission: the fix fails
    page = ctx.new_page()
    sign_in(page, INSPECTOR, live_server.password)
    open_checklist(page, "山泉民宿", "fire_exits")
    answer_all(page, "pass")
    page.click("[data-testid=to-summary]")
    line = page.locator("[data-testid=gps-line]")
    expect(line).to_contain_text("未取得")
    ctx.grant_permissions(["geolocation"])
    page.click("[data-testid=gps-retry]")
    expect(line).to_contain_text("已记录（约 8 米）")
    expect(line).not_to_contain_text("null")
    expect(page.locator("[data-testid=gps-retry]")).to_have_count(0)


def _photo(server: LiveServer, user: str, seed: int) -> str:
    buf = io.BytesIO()
    Image.effect_noise((640, 480), 30 + seed).convert("RGB").save(buf, "JPEG", quality=85)
    pid = str(uuid.uuid4())
    r = server.api("PUT", f"/photos/{pid}", user, files={"file": ("p.jpg", buf.getvalue(), "image/jpeg")})
    assert r.status_code in (200, 201), r.text
    return pid


def test_a_verifier_sees_before_and_after_side_by_side(live_server, new_context):
    tpl = live_server.api("GET", f"/checklists/{TEMPLATE}", INSPECTOR).json()
    body = {
        "venue_id": venue_id(live_server, VENUE),
        "checklist_code": TEMPLATE,
        "checklist_version": tpl["version"],
        "started_at": "2026-11-30T09:00:00+08:00",
        "submitted_at": "2026-11-30T09:20:00+08:00",
        "lat": None,
        "lng": None,
        "accuracy_m": None,
        "note": None,
        "answers": [
            {
                "item_code": "JX-EQ-02",
                "result": "fail",
                "note": "压力表在红区",
                "photo_ids": [_photo(live_server, INSPECTOR, 1), _photo(live_server, INSPECTOR, 2)],
            }
        ],
    }
    r = live_server.api("PUT", f"/inspections/{uuid.uuid4()}", INSPECTOR, json=body)
    assert r.status_code == 201, r.text
    fid = r.json()["finding_ids"][0]
    r = live_server.api(
        "POST",
        f"/findings/{fid}/rectification",
        INSPECTOR,
        json={"note": "已更换新灭火器", "photo_ids": [_photo(live_server, INSPECTOR, 3)]},
    )
    assert r.status_code == 200, r.text

    page = new_context().new_page()
    sign_in(page, INSPECTOR2, live_server.password)
    page.goto(f"/#/verify/{fid}")
    pair = page.locator("[data-testid=before-after]")
    before, after = pair.locator("[data-testid=before]"), pair.locator("[data-testid=after]")
    expect(before.locator("img.big")).to_be_visible()
    expect(after.locator("img.big")).to_be_visible()
    expect(before.locator("figcaption")).to_have_text("整改前（2 张）")
    expect(after.locator("figcaption")).to_have_text("整改后（1 张）")
    b, a = before.bounding_box(), after.bounding_box()
    assert abs(b["y"] - a["y"]) < 2 and b["x"] + b["width"] <= a["x"], (b, a)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # The after photo opens large, from the server at full size.
    after.locator("button.photo-open").first.click()
    expect(page.locator(".lb-caption")).to_contain_text("整改后（3/3）")
    img = page.locator("[data-testid=lightbox-img]")
    expect(img).to_have_attribute("src", re.compile("^blob:"))
    expect(img).to_have_js_property("naturalWidth", 640)


def test_a_photo_zooms_with_two_fingers(live_server, new_context, tmp_path):
    ctx = new_context()
    page = ctx.new_page()
    sign_in(page, INSPECTOR, live_server.password)
    open_checklist(page, "山泉民宿", "fire_exits")
    item = page.locator("[data-testid=item]").first
    item.locator("[data-result=fail]").click()
    item = page.locator("[data-testid=item]").first
    add_photo(page, item, photo_file(tmp_path / "p.jpg", seed=3))
    page.locator("[data-testid=item] .photo-open").first.click()
    img = page.locator("[data-testid=lightbox-img]")
    expect(img).to_have_attribute("src", re.compile("^blob:"))
    box = page.locator(".lb-stage").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp = ctx.new_cdp_session(page)

    def touch(kind: str, spread: float | None) -> None:
        points = (
            []
            if spread is None
            else [{"x": cx - spread, "y": cy, "id": 0}, {"x": cx + spread, "y": cy, "id": 1}]
        )
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", 30)
    for spread in range(40, 130, 10):
        touch("touchMove", spread)
    touch("touchEnd", None)
    # Fingers moved from 60 px apart to 240 px: about four times larger (capped at 5).
    scale = float(img.get_attribute("data-scale") or "1")
    assert 3 <= scale <= 5, scale


RECORD_THUMBNAILS = """
(() => {
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (body) {
    if (body instanceof FormData && body.get('thumbnail') instanceof Blob) {
      const read = body.get('thumbnail').arrayBuffer().then((b) => Array.from(new Uint8Array(b)));
      (window.__thumbs = window.__thumbs || []).push(read);
    }
    return send.call(this, body);
  };
})();
"""


def test_the_phone_sends_its_own_thumbnail_and_the_server_keeps_it(live_server, new_context, tmp_path):
    """The phone draws a 320 px thumbnail from the canvas it encoded the photo from, shows it in its lists and
    sends it with the photo; the server keeps it (stripped) instead of decoding the photo to make one."""
    ctx = new_context()
    ctx.add_init_script(RECORD_THUMBNAILS)
    page = ctx.new_page()
    sign_in(page, INSPECTOR, live_server.password)
    open_checklist(page)
    answer_all(page, "pass")
    tpl = live_server.api("GET", f"/checklists/{TEMPLATE}", INSPECTOR).json()
    code = next(i["code"] for i in tpl["items"] if i["photo_required"] and "small_retail" in i["kinds"])
    page.locator(f"#item-{code} [data-result=fail]").click()
    add_photo(page, page.locator(f"#item-{code}"), photo_file(tmp_path / "p.jpg", seed=3))
    preview = page.locator(f"#item-{code} .photo-open img").first
    expect(preview).to_have_attribute("src", re.compile("^blob:"))
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
    assert preview.evaluate("(img) => [img.naturalWidth, img.naturalHeight]") == [320, 240]

    page.click("[data-testid=to-summary]")
    page.click("[data-testid=submit-inspection]")
    expect(page.locator("[data-testid=outbox-item][data-state=done]")).to_have_count(1, timeout=60000)
    sent = page.evaluate("Promise.all(window.__thumbs || [])")
    assert len(sent) == 1
    phone = bytes(sent[0])
    assert Image.open(io.BytesIO(phone)).size == (320, 240)

    inspection = live_server.get_all("/inspections", venue_id=venue_id(live_server))[0]
    photo_id = next(a["photo_ids"][0] for a in inspection["answers"] if a["item_code"] == code)
    stored = live_server.api("GET", f"/photos/{photo_id}/thumbnail", INSPECTOR).content
    assert stored[stored.index(b"\xff\xda") :] == phone[phone.index(b"\xff\xda") :]
    assert Image.open(io.BytesIO(stored)).size == (320, 240)
