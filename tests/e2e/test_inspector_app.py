"""The inspector app in real headless Chromium at a phone viewport, against a real server.

1. a checklist done offline, with two failed items and camera photos, survives a reload and drains once
   online: one inspection, two findings, the photos, and no EXIF on the server;
2. the network drops in the middle of the uploads: after retries every record is on the server once;
3. a finding rectified on the phone and verified by a second inspector; a rectification whose reply was
   lost lands once, and a colleague's earlier one is never taken for the inspector's own;
4. the app opens from the service worker with no network after a restart of the browser;
5. a photo taken just before leaving the checklist is kept.
"""

from __future__ import annotations

import io
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, context_options, running_server, wait_js
from PIL import Image, ImageChops
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

INSPECTOR = "inspector_baiyun"
INSPECTOR2 = "inspector_baiyun2"
VENUE = "白云便利店"  # a small_retail venue of the demo village 白云村
TEMPLATE = "small_venue_fire"


# ---- helpers ----------------------------------------------------------------------------------


def camera_jpeg(path: Path, seed: int = 0, size: tuple[int, int] = (4000, 3000)) -> Path:
    """A camera-like 4000×3000 JPEG: a scene with coarse detail, per-pixel sensor noise, saved at the high
    quality phones use, with EXIF that includes a GPS position."""
    w, h = size
    img = Image.effect_noise((w // 8, h // 8), 40 + seed).convert("RGB").resize((w, h))
    overlay = Image.linear_gradient("L").resize((w, h))
    img = Image.merge("RGB", (img.getchannel(0), overlay, img.getchannel(2)))
    sensor = Image.effect_noise((w, h), 5).convert("RGB")  # centred on 128
    img = ImageChops.add(img, sensor, scale=1.0, offset=-128)
    exif = Image.Exif()
    exif[0x010F] = "Xiaomi"  # Make
    exif[0x0110] = "Redmi 9A"  # Model
    exif[0x0132] = "2024:05:01 10:00:00"  # DateTime
    gps = {1: "N", 2: (31.0, 24.0, 7.56), 3: "E", 4: (109.0, 38.0, 0.6)}
    exif[0x8825] = gps  # GPSInfo
    img.save(path, "JPEG", quality=95, exif=exif.tobytes())
    # The fixture itself must carry the GPS tags, or the test proves nothing.
    with Image.open(path) as check:
        assert check.size == size
        assert check.getexif().get_ifd(0x8825)
    return path


def shot(screenshot: Any, page: Any, name: str) -> None:
    """Save a screenshot of a main screen, which must fit a 360 px wide phone without horizontal scrolling."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{name}: the page is {width}px wide"
    screenshot(page, name)


def sign_in(page: Any, username: str, password: str) -> None:
    page.goto("/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.login button[type=submit]")
    page.wait_for_selector("[data-testid=venue-row]")


SW_ACTIVATED = """() => Promise.race([
  navigator.serviceWorker.ready.then((r) => new Promise((resolve) => {
    const w = r.active;
    if (w.state === 'activated') resolve(true);
    else w.addEventListener('statechange', () => w.state === 'activated' && resolve(true));
  })),
  new Promise((resolve) => setTimeout(() => resolve(false), 20000)),
])"""


def wait_for_service_worker(page: Any) -> None:
    """The worker is active and holds the shell: from now on every load of the app goes through it (the
    page that registered it is usually claimed as well, but a reload is what the tests rely on)."""
    if not page.evaluate(SW_ACTIVATED):
        state = page.evaluate(
            "navigator.serviceWorker.getRegistration().then((r) => r ? {installing: r.installing && "
            "r.installing.state, waiting: r.waiting && r.waiting.state, active: r.active && r.active.state} "
            ": 'no registration')"
        )
        raise AssertionError(f"the service worker did not activate: {state}")


def open_checklist(page: Any, venue: str = VENUE, template: str = TEMPLATE) -> None:
    page.click(f"[data-testid=venue-row]:has-text('{venue}')")
    page.click(f"[data-testid=start-{template}]")
    page.wait_for_selector("[data-testid=item]")


def answer_all(page: Any, result: str = "pass") -> None:
    items = page.locator("[data-testid=item]")
    for i in range(items.count()):
        items.nth(i).locator(f"[data-result={result}]").click()


def add_photo(page: Any, item: Any, path: Path, via: str = "camera") -> None:
    before = item.locator(".photo-strip img").count()
    with page.expect_file_chooser() as fc:
        item.locator(f"[data-testid=photo-{via}]").click()
    fc.value.set_files(str(path))
    wait_js(
        page,
        "([code, n]) => document.querySelectorAll(`#item-${code} .photo-strip img`).length > n",
        [item.get_attribute("data-code"), before],
        timeout=30000,
    )


def fail_with_photos(page: Any, photo_required_codes: list[str], photos: list[list[Path]]) -> list[str]:
    """Fail the given items and attach photos; returns their codes."""
    for code, paths in zip(photo_required_codes, photos, strict=True):
        item = page.locator(f"#item-{code}")
        item.locator("[data-result=fail]").click()
        item = page.locator(f"#item-{code}")
        for i, p in enumerate(paths):
            add_photo(page, item, p, "camera" if i == 0 else "gallery")
            item = page.locator(f"#item-{code}")
    return photo_required_codes


def photo_required_items(server: Any, n: int, template: str = TEMPLATE) -> list[str]:
    checklists = server.api("GET", "/checklists", INSPECTOR).json()
    tpl = next(c for c in checklists if c["code"] == template)
    return [i["code"] for i in tpl["items"] if i["photo_required"]][:n]


def venue_id(server: Any, name: str = VENUE) -> str:
    return next(v["id"] for v in server.get_all("/venues", INSPECTOR) if v["name"] == name)


def wait_synced(page: Any, timeout: int = 60000) -> None:
    page.goto("/#/sync")
    try:
        wait_js(
            page,
            "() => { const items = [...document.querySelectorAll('[data-testid=outbox-item]')];"
            " return items.length > 0 && items.every((i) => i.dataset.state === 'done'); }",
            timeout=timeout,
        )
    except Exception as exc:
        raise AssertionError(
            f"outbox did not drain: {page.evaluate('location.hash')} {page.inner_text('main')}"
        ) from exc


def assert_no_metadata(server: Any, photo_id: str) -> None:
    r = server.api("GET", f"/photos/{photo_id}", "supervisor")
    assert r.status_code == 200, r.text
    with Image.open(io.BytesIO(r.content)) as img:
        assert img.format == "JPEG"
        assert max(img.size) <= 1600, img.size
        assert "exif" not in img.info
        exif = img.getexif()
        assert len(exif) == 0, dict(exif)
        assert not exif.get_ifd(0x8825)


def inspections_of(server: Any, vid: str) -> list[dict[str, Any]]:
    return server.get_all("/inspections", "supervisor", venue_id=vid)


# ---- 1. offline checklist ---------------------------------------------------------------------


def test_offline_checklist_survives_reload_and_syncs_once(live_server, new_context, screenshot, tmp_path):
    vid = venue_id(live_server)
    before = {i["id"] for i in inspections_of(live_server, vid)}
    ctx = new_context()
    page = ctx.new_page()
    page.goto("/")
    shot(screenshot, page, "01-login")
    sign_in(page, INSPECTOR, live_server.password)
    wait_for_service_worker(page)
    shot(screenshot, page, "02-today")

    open_checklist(page)
    shot(screenshot, page, "03-checklist")
    ctx.set_offline(True)
    page.wait_for_selector("#net-state:not([hidden])")

    answer_all(page, "pass")
    codes = photo_required_items(live_server, 2)
    photos = [camera_jpeg(tmp_path / f"p{i}.jpg", seed=i) for i in range(3)]
    fail_with_photos(page, codes, [[photos[0]], [photos[1], photos[2]]])
    shot(screenshot, page, "04-checklist-failed-item-with-photos")

    # A reload with no network: the shell comes from the service worker, the answers from IndexedDB.
    page.reload()
    page.wait_for_selector("[data-testid=item]")
    for code, n in zip(codes, (1, 2), strict=True):
        item = page.locator(f"#item-{code}")
        assert item.locator("[data-result=fail]").get_attribute("aria-pressed") == "true"
        assert item.locator(".photo-strip img").count() == n
    assert (
        page.locator("[data-result=pass][aria-pressed=true]").count()
        == page.locator("[data-testid=item]").count() - 2
    )

    page.click("[data-testid=to-summary]")
    page.wait_for_selector("[data-testid=counts]")
    counts = page.locator("[data-testid=counts] strong").all_inner_texts()
    assert counts[1] == "2" and counts[3] == "0"
    shot(screenshot, page, "05-summary")
    page.click("[data-testid=submit-inspection]")
    page.wait_for_selector("[data-testid=outbox-item][data-state=pending]")
    assert page.locator("#sync-badge .count").inner_text() == "1"
    shot(screenshot, page, "06-sync-offline-waiting")

    # Kill and reopen the tab while still offline: the outbox is still there.
    page.close()
    page = ctx.new_page()
    page.goto("/#/sync")
    page.wait_for_selector("[data-testid=outbox-item][data-state=pending]")
    assert page.locator("#sync-badge .count").inner_text() == "1"
    assert {i["id"] for i in inspections_of(live_server, vid)} == before

    # Back online: the outbox drains by itself.
    ctx.set_offline(False)
    page.wait_for_selector("[data-testid=outbox-item][data-state=done]", timeout=60000)
    expect(page.locator("#sync-badge .count")).to_have_text("0")
    shot(screenshot, page, "07-sync-done")

    new = [i for i in inspections_of(live_server, vid) if i["id"] not in before]
    assert len(new) == 1, new
    inspection = new[0]
    findings = [
        f
        for f in live_server.get_all("/findings", "supervisor", venue_id=vid)
        if f["inspection_id"] == inspection["id"]
    ]
    assert len(findings) == 2
    assert sorted(f["item_code"] for f in findings) == sorted(codes)
    photo_ids = [p for a in inspection["answers"] for p in a["photo_ids"]]
    assert len(photo_ids) == 3
    for pid in photo_ids:
        assert_no_metadata(live_server, pid)

    page.click(".tabbar >> text=隐患")
    page.wait_for_selector("[data-testid=finding-row]")
    shot(screenshot, page, "08-findings")
    page.locator("[data-testid=finding-row]").first.click()
    page.wait_for_selector("[data-testid=events]")
    shot(screenshot, page, "09-finding-detail")
    page.goto("/#/me")
    page.wait_for_selector("[data-testid=sign-out]")
    shot(screenshot, page, "10-me")


# ---- 2. network drops mid-upload --------------------------------------------------------------


def test_uploads_interrupted_then_retried_land_exactly_once(live_server, new_context, screenshot, tmp_path):
    vid = venue_id(live_server, "白云农家乐")
    before = {i["id"] for i in inspections_of(live_server, vid)}
    ctx = new_context()
    page = ctx.new_page()
    sign_in(page, INSPECTOR, live_server.password)
    open_checklist(page, "白云农家乐")
    answer_all(page, "pass")
    codes = photo_required_items(live_server, 2)
    photos = [camera_jpeg(tmp_path / f"q{i}.jpg", seed=10 + i) for i in range(3)]
    fail_with_photos(page, codes, [[photos[0], photos[1]], [photos[2]]])

    seen: dict[str, int] = {}

    def flaky(route: Any) -> None:
        req = route.request
        key = f"{req.method} {req.url.split('/api/v1')[1]}"
        seen[key] = seen.get(key, 0) + 1
        n = seen[key]
        kind = "photo" if "/photos/" in key else "inspection"
        order = sum(1 for k in seen if ("/photos/" in k) == (kind == "photo"))
        if n == 1 and kind == "photo" and order == 1:
            route.abort("connectionreset")  # dropped before the server saw it
        elif n == 1 and kind == "photo" and order == 2:
            route.fetch()  # the server stores it, the reply is lost
            route.abort("connectionreset")
        elif n == 1 and kind == "inspection":
            route.fetch()  # the inspection is stored, the reply is lost
            route.abort("timedout")
        else:
            route.continue_()

    page.route("**/api/v1/photos/*", flaky)
    page.route("**/api/v1/inspections/*", flaky)

    page.click("[data-testid=to-summary]")
    page.click("[data-testid=submit-inspection]")
    page.wait_for_selector("[data-testid=outbox-item]")
    page.wait_for_selector("[data-testid=outbox-item][data-state=retry]", timeout=20000)
    shot(screenshot, page, "11-sync-retry-after-drop")
    page.wait_for_selector("[data-testid=outbox-item][data-state=done]", timeout=90000)
    shot(screenshot, page, "12-sync-done-after-retries")

    assert max(seen.values()) >= 2, seen  # something was really retried
    inspection_puts = [k for k in seen if k.startswith("PUT /inspections/")]
    assert len(inspection_puts) == 1 and seen[inspection_puts[0]] >= 2

    new = [i for i in inspections_of(live_server, vid) if i["id"] not in before]
    assert len(new) == 1, new
    findings = [
        f
        for f in live_server.get_all("/findings", "supervisor", venue_id=vid)
        if f["inspection_id"] == new[0]["id"]
    ]
    assert sorted(f["item_code"] for f in findings) == sorted(codes)
    photo_ids = [p for a in new[0]["answers"] for p in a["photo_ids"]]
    assert len(photo_ids) == len(set(photo_ids)) == 3
    for pid in photo_ids:
        assert live_server.api("GET", f"/photos/{pid}/meta", "supervisor").status_code == 200


# ---- 3. rectify and verify --------------------------------------------------------------------


def make_finding(server: Any, tmp_path: Path, venue: str = "白云村卫生室") -> dict[str, Any]:
    """An inspection with one failed item, made through the API as the first inspector."""
    vid = venue_id(server, venue)
    kinds = {v["id"]: v["kind"] for v in server.get_all("/venues", INSPECTOR)}
    checklists = server.api("GET", "/checklists", INSPECTOR).json()
    tpl = next(c for c in checklists if c["code"] == TEMPLATE and kinds[vid] in c["venue_kinds"])
    pid = str(uuid.uuid4())
    with (tmp_path / "f.jpg").open("wb") as fh:
        Image.new("RGB", (800, 600), (200, 80, 60)).save(fh, "JPEG")
    r = server.api(
        "PUT",
        f"/photos/{pid}",
        INSPECTOR,
        files={"file": ("f.jpg", (tmp_path / "f.jpg").read_bytes(), "image/jpeg")},
    )
    assert r.status_code in (200, 201), r.text
    # A general item: a suspected major hazard closes only after the office's decision.
    failed = next(i for i in tpl["items"] if i["photo_required"] and not i["major"])
    body = {
        "venue_id": vid,
        "checklist_code": tpl["code"],
        "checklist_version": tpl["version"],
        "started_at": "2024-05-01T09:00:00+08:00",
        "submitted_at": "2024-05-01T09:20:00+08:00",
        "lat": None,
        "lng": None,
        "accuracy_m": None,
        "note": None,
        "answers": [
            {
                "item_code": i["code"],
                "result": "fail" if i is failed else "pass",
                "note": None,
                "photo_ids": [pid] if i is failed else [],
            }
            for i in tpl["items"]
        ],
    }
    iid = str(uuid.uuid4())
    r = server.api("PUT", f"/inspections/{iid}", INSPECTOR, json=body)
    assert r.status_code == 201, r.text
    return server.api("GET", f"/findings/{r.json()['finding_ids'][0]}", INSPECTOR).json()


def test_rectify_on_phone_and_verify_as_second_inspector(live_server, new_context, screenshot, tmp_path):
    finding = make_finding(live_server, tmp_path)
    fid = finding["id"]

    # The first inspector records the rectification with an "after" photo.
    ctx1 = new_context()
    page = ctx1.new_page()
    sign_in(page, INSPECTOR, live_server.password)
    page.goto(f"/#/finding/{fid}")
    page.click("[data-testid=rectify]")
    page.fill("textarea", "已清理通道，张贴责任人公示")
    with page.expect_file_chooser() as fc:
        page.click("[data-testid=rectification-camera]")
    fc.value.set_files(str(camera_jpeg(tmp_path / "after.jpg", seed=3)))
    page.wait_for_selector(".photo-strip img", timeout=30000)
    shot(screenshot, page, "13-rectify")
    page.click("[data-testid=submit-rectification]")
    page.wait_for_url(f"**/#/finding/{fid}")
    wait_synced(page)
    assert live_server.api("GET", f"/findings/{fid}", "supervisor").json()["status"] == "submitted"
    # Four eyes: the submitter is not offered the verification.
    page.goto(f"/#/finding/{fid}")
    page.wait_for_selector("[data-testid=finding-status]:has-text('待复查')")
    assert page.locator("[data-testid=verify]").count() == 0

    # A second inspector of the same village verifies it.
    ctx2 = new_context()
    page2 = ctx2.new_page()
    sign_in(page2, INSPECTOR2, live_server.password)
    page2.goto("/#/findings/submitted")
    page2.wait_for_selector(f"[data-testid=finding-row][href='#/finding/{fid}']")
    page2.click(f"[data-testid=finding-row][href='#/finding/{fid}']")
    page2.click("[data-testid=verify]")
    page2.click("[data-result=pass]")
    page2.fill("textarea", "复查合格")
    shot(screenshot, page2, "14-verify")
    page2.click("[data-testid=submit-verification]")
    page2.wait_for_url(f"**/#/finding/{fid}")
    wait_synced(page2)

    detail = live_server.api("GET", f"/findings/{fid}", "supervisor").json()
    assert detail["status"] == "closed"
    actions = [e["action"] for e in detail["events"]]
    assert actions[0] == "create" and "rectify" in actions and actions[-1] == "verify_pass"
    assert detail["rectification"]["note"] == "已清理通道，张贴责任人公示"

    page2.goto(f"/#/finding/{fid}")
    page2.wait_for_selector("[data-testid=finding-status]:has-text('已销号')")
    assert page2.locator("[data-testid=events] > li").count() == len(detail["events"])
    shot(screenshot, page2, "15-finding-history")


PHOTOS_ON_PHONE = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open('safegrid');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const req = open.result.transaction('photos').objectStore('photos').count();
    req.onsuccess = () => { open.result.close(); resolve(req.result); };
  };
})"""


def rectify_on_phone(page: Any, fid: str, note: str, photo: Path) -> None:
    page.goto(f"/#/finding/{fid}")
    page.click("[data-testid=rectify]")
    page.fill("textarea", note)
    with page.expect_file_chooser() as fc:
        page.click("[data-testid=rectification-camera]")
    fc.value.set_files(str(photo))
    page.wait_for_selector(".photo-strip img", timeout=30000)
    page.click("[data-testid=submit-rectification]")
    page.wait_for_url(f"**/#/finding/{fid}")


def test_rectification_lost_reply_lands_once_and_a_colleagues_is_not_taken_for_ours(
    live_server, new_context, screenshot, tmp_path
):
    me = live_server.api("GET", "/me", INSPECTOR).json()
    ctx = new_context()
    page = ctx.new_page()
    sign_in(page, INSPECTOR, live_server.password)

    # The first rectification reaches the server, its reply is lost: the resend is answered as the first.
    fid = make_finding(live_server, tmp_path)["id"]
    posts: list[str] = []

    def lose_first_reply(route: Any) -> None:
        posts.append(route.request.url)
        if len(posts) == 1:
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/findings/*/rectification", lose_first_reply)
    rectify_on_phone(page, fid, "已清理通道", camera_jpeg(tmp_path / "r1.jpg", seed=31, size=(1200, 900)))
    wait_synced(page)
    page.unroute("**/api/v1/findings/*/rectification")
    assert len(posts) == 2, posts
    detail = live_server.api("GET", f"/findings/{fid}", "supervisor").json()
    assert detail["status"] == "submitted"
    assert [e["actor_id"] for e in detail["events"] if e["action"] == "rectify"] == [me["id"]]
    page.goto(f"/#/finding/{fid}")
    page.wait_for_selector("[data-testid=finding-status]:has-text('待复查')")
    assert page.locator("[data-testid=rectify]").count() == 0

    # Offline, the inspector rectifies a finding a colleague rectifies meanwhile from another phone.
    fid = make_finding(live_server, tmp_path)["id"]
    page.goto(f"/#/finding/{fid}")
    page.wait_for_selector("[data-testid=rectify]")
    ctx.set_offline(True)
    page.wait_for_selector("#net-state:not([hidden])")
    rectify_on_phone(page, fid, "已更换灭火器", camera_jpeg(tmp_path / "r2.jpg", seed=32, size=(1200, 900)))
    theirs = str(uuid.uuid4())
    jpeg = camera_jpeg(tmp_path / "theirs.jpg", seed=33, size=(800, 600)).read_bytes()
    r = live_server.api("PUT", f"/photos/{theirs}", INSPECTOR2, files={"file": ("t.jpg", jpeg, "image/jpeg")})
    assert r.status_code == 201, r.text
    r = live_server.api(
        "POST",
        f"/findings/{fid}/rectification",
        INSPECTOR2,
        json={"note": "同事已整改", "photo_ids": [theirs]},
    )
    assert r.status_code == 200, r.text

    # Back online: the server refuses the second rectification (409). It is not the inspector's own, so
    # it is not "already done": it waits for the inspector, with the reason, and the photo stays.
    ctx.set_offline(False)
    page.goto("/#/sync")
    refused = page.locator("[data-testid=outbox-item][data-kind=rectification][data-state=attention]")
    refused.wait_for(timeout=30000)
    assert "待复查" in refused.locator("[data-testid=reason]").inner_text()
    assert page.evaluate(PHOTOS_ON_PHONE) == 1
    shot(screenshot, page, "23-rectification-taken-by-colleague")
    detail = live_server.api("GET", f"/findings/{fid}", "supervisor").json()
    assert detail["rectification"]["note"] == "同事已整改"
    assert len([e for e in detail["events"] if e["action"] == "rectify"]) == 1


# ---- 4. offline start after a browser restart -------------------------------------------------


def test_app_opens_offline_from_service_worker_after_restart(live_server, new_context, screenshot, tmp_path):
    profile = tmp_path / "phone-profile"
    ctx = new_context(persistent=True, user_data_dir=profile)
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    sign_in(page, INSPECTOR, live_server.password)
    wait_for_service_worker(page)
    expect(page.locator("[data-testid=venue-row]").nth(2)).to_be_attached()
    ctx.close()

    # The phone comes back in a valley with no signal.
    ctx = new_context(persistent=True, user_data_dir=profile, offline=True)
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    page.goto("/")
    page.wait_for_selector("[data-testid=venue-row]")
    assert page.locator("#net-state").is_visible()
    assert page.locator(f"[data-testid=venue-row]:has-text('{VENUE}')").count() == 1
    shot(screenshot, page, "16-offline-start")

    # And a checklist can be started from the cached templates.
    open_checklist(page)
    assert page.locator("[data-testid=item]").count() > 10

    # Signing out warns about unsynced work.
    page.click("[data-result=pass] >> nth=0")
    page.goto("/#/me")
    page.click("[data-testid=sign-out]")
    page.wait_for_selector("dialog .warn")
    shot(screenshot, page, "17-sign-out-warning")
    page.click("dialog button:has-text('取消')")
    ctx.close()


# ---- 5. a photo taken just before leaving the checklist --------------------------------------


def test_photo_taken_just_before_leaving_the_checklist_is_kept(live_server, new_context, tmp_path):
    ctx = new_context()
    page = ctx.new_page()
    sign_in(page, INSPECTOR, live_server.password)
    open_checklist(page, "白云村卫生室")
    answer_all(page, "pass")
    [code] = photo_required_items(live_server, 1)
    page.locator(f"#item-{code} [data-result=fail]").click()
    with page.expect_file_chooser() as fc:
        page.locator(f"#item-{code} [data-testid=photo-camera]").click()
    fc.value.set_files(str(camera_jpeg(tmp_path / "quick.jpg", seed=41)))
    # At once, while the 12 MP photo is still being compressed.
    page.click("[data-testid=to-summary]")
    page.wait_for_selector("[data-testid=counts]")
    assert "照片 1 张" in page.inner_text("main")
    assert page.locator("[data-testid=submit-inspection]").is_enabled()
    page.reload()
    page.wait_for_selector("[data-testid=counts]")
    assert "照片 1 张" in page.inner_text("main")
    assert page.evaluate(PHOTOS_ON_PHONE) == 1


# ---- refusals: 4xx needs the inspector, 401 keeps the outbox -----------------------------------


def test_refused_item_shows_reason_and_401_keeps_outbox(live_server, new_context, screenshot):
    venue = "山泉民宿"
    vid = venue_id(live_server, venue)
    before = {i["id"] for i in inspections_of(live_server, vid)}
    ctx = new_context()
    page = ctx.new_page()
    sign_in(page, INSPECTOR, live_server.password)
    open_checklist(page, venue, "fire_exits")
    answer_all(page, "na")

    def refuse(route: Any) -> None:
        route.fulfill(
            status=422,
            content_type="application/problem+json",
            body='{"status":422,"title":"Unprocessable","detail":"检查表版本已停用，请重新检查","code":"bad_version"}',
        )

    page.route("**/api/v1/inspections/*", refuse)
    page.click("[data-testid=to-summary]")
    page.click("[data-testid=submit-inspection]")
    page.wait_for_selector("[data-testid=outbox-item][data-state=attention]")
    assert "检查表版本已停用" in page.inner_text("[data-testid=reason]")
    page.wait_for_timeout(3000)  # not retried blindly
    assert page.locator("[data-testid=outbox-item][data-state=attention]").count() == 1
    shot(screenshot, page, "18-sync-needs-attention")

    # The inspector sends it back to a draft, then submits again: now the token has expired.
    page.click("text=退回修改")
    page.click("dialog button:has-text('退回修改')")
    page.wait_for_selector("[data-testid=submit-inspection]")
    page.unroute("**/api/v1/inspections/*")
    page.route(
        "**/api/v1/inspections/*",
        lambda r: r.fulfill(status=401, content_type="application/problem+json", body='{"status":401}'),
    )
    page.click("[data-testid=submit-inspection]")
    page.wait_for_selector("[data-testid=outbox-item][data-state=auth]")
    page.wait_for_selector("#auth-banner")
    assert page.locator("#sync-badge .count").inner_text() == "1"

    # Signing in again keeps the outbox and drains it.
    page.unroute("**/api/v1/inspections/*")
    page.click("#auth-banner button")
    page.wait_for_selector("form.login")
    assert page.input_value("input[name=username]") == INSPECTOR
    page.fill("input[name=password]", live_server.password)
    page.click("form.login button[type=submit]")
    wait_synced(page)
    new = [i for i in inspections_of(live_server, vid) if i["id"] not in before]
    assert len(new) == 1
    assert all(a["result"] == "na" for a in new[0]["answers"])


# ---- app updates ------------------------------------------------------------------------------


def test_new_version_waits_for_the_inspector_and_never_interrupts_a_checklist(
    playwright_instance, screenshot, tmp_path
):
    """A new service worker is announced, but not while a checklist is open, and applied only on request."""
    pwa = tmp_path / "pwa"
    shutil.copytree(ROOT / "pwa", pwa, ignore=shutil.ignore_patterns("report*"))
    with running_server({"SAFEGRID_PWA_DIR": str(pwa)}) as server:
        ctx = playwright_instance.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            **context_options(base_url=server.url),
        )
        try:
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            sign_in(page, INSPECTOR, server.password)
            wait_for_service_worker(page)
            open_checklist(page, "山泉民宿", "fire_exits")
            first = page.locator("[data-testid=item]").first
            first.locator("[data-result=fail]").click()

            # The office deploys a new version while the inspector is in the middle of the checklist:
            # one stylesheet changes, and nobody touches the service worker (its version is the
            # shell's content hash, made by the server).
            old_keys = page.evaluate("caches.keys()")
            assert len(old_keys) == 1 and old_keys[0].startswith("safegrid-shell-"), old_keys
            css = pwa / "css" / "app.css"
            css.write_text(css.read_text(encoding="utf-8") + "\n/* 2 */\n", encoding="utf-8")
            page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
            wait_js(page, "() => window.safegrid.waitingWorker !== null", timeout=20000)
            page.wait_for_timeout(500)
            assert page.locator("#update-banner").count() == 0  # never mid-checklist
            assert (
                page.locator("[data-testid=item]")
                .first.locator("[data-result=fail]")
                .get_attribute("aria-pressed")
                == "true"
            )

            # Leaving the checklist, the update is offered; nothing happens until the inspector agrees.
            page.click("a.back")
            page.wait_for_selector("#update-banner")
            shot(screenshot, page, "19-update-offered")
            new_keys = [k for k in page.evaluate("caches.keys()") if k not in old_keys]
            assert len(new_keys) == 1 and new_keys[0].startswith("safegrid-shell-"), new_keys
            with page.expect_event("load"):
                page.click("#update-banner button")
            for _ in range(100):
                if page.evaluate("caches.keys()") == new_keys:
                    break
                page.wait_for_timeout(200)
            assert page.evaluate("caches.keys()") == new_keys
            # The draft is still there after the update.
            page.goto("/#/sync")
            page.wait_for_selector("text=未提交（1）")
        finally:
            ctx.close()
