"""Front-end figures of the inspector app, measured in one run against a fresh server.

1. cold first load of the app shell: bytes of every response the page and its service worker receive
   as transferred (the server compresses the app's files), and the shell's files before compression
   (the size on disk, with the goal of <= 150 KB);
2. Lighthouse mobile performance and accessibility scores (goal >= 0.95 each) via `npx --yes lighthouse`;
3. bytes uploaded for one inspection with three 4000x3000 camera photos, against the raw photo bytes
   (goal <= 0.1);
4. field conditions: the same inspection sent over an emulated 3G link (Chromium network emulation:
   1.6 Mbps down, 750 kbps up, 150 ms latency; goal <= 30 s), against the time its bytes need at that
   upload rate; a day's work saved offline (20 inspections, 60 photos) through reloads and a browser
   restart: the phone storage it uses against the photo bytes, the time to sync it, and the order it
   reaches the server in; the public report page opened with no network after a first visit.

Usage: python bench/pwa.py [--skip-lighthouse] [--only-field]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

import time  # noqa: E402

from conftest import CHROMIUM, CHROMIUM_ARGS, GPS_FIX, context_options, running_server  # noqa: E402
from fieldwork import phone_photos, phone_storage, save_inspections, wait_synced  # noqa: E402
from test_inspector_app import (  # noqa: E402
    answer_all,
    camera_jpeg,
    fail_with_photos,
    open_checklist,
    photo_required_items,
    sign_in,
    wait_for_service_worker,
)

KB = 1024


def cold_load(pw: Any, url: str) -> dict[str, Any]:
    """Open / in a fresh profile; add up the response bodies received (page and service worker) until the
    worker has cached the shell. Bodies are counted as transferred (compressed where the server compressed
    them; a revalidated 304 or a cache hit adds nothing); `shell_on_disk` is the same files before
    compression."""
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    ctx = browser.new_context(**context_options(base_url=url))
    rows: list[tuple[str, str, int]] = []

    def on_finished(req: Any) -> None:
        who = "worker" if req.service_worker is not None else "page"
        rows.append((who, req.url.replace(url, ""), max(0, req.sizes()["responseBodySize"])))

    ctx.on("requestfinished", on_finished)
    page = ctx.new_page()
    page.goto("/")
    page.wait_for_selector("form.login")
    wait_for_service_worker(page)
    page.wait_for_timeout(1000)
    browser.close()
    sw_src = (ROOT / "pwa" / "sw.js").read_text()
    shell = json.loads(
        sw_src.split("const SHELL = ")[1].split(";")[0].replace("'", '"').replace(",\n]", "\n]")
    )
    disk = (ROOT / "pwa" / "sw.js").stat().st_size + sum(
        (ROOT / "pwa" / ("index.html" if p == "/" else p.lstrip("/"))).stat().st_size
        for p in shell
        if p != "/"
    )
    # The browser fetches the worker script itself; that request is seen by neither the page nor the worker.
    if not any(path == "/sw.js" and n for _, path, n in rows):
        rows.append(("worker", "/sw.js (script, size from disk)", (ROOT / "pwa" / "sw.js").stat().st_size))
    return {
        "page": sum(n for who, _, n in rows if who == "page"),
        "page_requests": sum(1 for who, _, _ in rows if who == "page"),
        "worker": sum(n for who, _, n in rows if who == "worker"),
        "worker_requests": sum(1 for who, _, _ in rows if who == "worker"),
        "shell_on_disk": disk,
        "rows": rows,
    }


def lighthouse(url: str) -> dict[str, Any]:
    npx = shutil.which("npx")
    if not npx:
        return {"error": "npx is not installed"}
    out = Path(tempfile.mkdtemp()) / "lh.json"
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    cmd = [
        npx,
        "--yes",
        "lighthouse",
        url,
        "--only-categories=performance,accessibility",
        "--form-factor=mobile",
        "--output=json",
        f"--output-path={out}",
        "--quiet",
        "--chrome-flags=--headless --no-sandbox --disable-gpu",
    ]
    try:
        subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        return {"error": f"lighthouse could not run: {str(detail).strip()[-400:]}"}
    report = json.loads(out.read_text())
    cats = report["categories"]
    failed = [
        a["id"]
        for a in report["audits"].values()
        if a.get("score") is not None and a["score"] < 1 and a.get("scoreDisplayMode") == "binary"
    ]
    return {
        "performance": cats["performance"]["score"],
        "accessibility": cats["accessibility"]["score"],
        "failed_binary_audits": failed[:12],
    }


def upload_ratio(pw: Any, server: Any, tmp: Path) -> dict[str, Any]:
    """One inspection with three 4000x3000 photos: bytes on the wire against the raw photos."""
    photos = [camera_jpeg(tmp / f"raw{i}.jpg", seed=20 + i) for i in range(3)]
    raw = sum(p.stat().st_size for p in photos)
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    ctx = browser.new_context(**context_options(base_url=server.url))
    page = ctx.new_page()
    sent: list[tuple[str, int]] = []

    def on_finished(req: Any) -> None:
        if req.method == "PUT" and ("/api/v1/photos/" in req.url or "/api/v1/inspections/" in req.url):
            sizes = req.sizes()
            sent.append(
                (
                    req.url.split("/api/v1/")[1].split("/")[0],
                    sizes["requestBodySize"] + sizes["requestHeadersSize"],
                )
            )

    page.on("requestfinished", on_finished)
    sign_in(page, "inspector_qingshan", server.password)
    venues = server.get_all("/venues", "inspector_qingshan")
    checklists = server.api("GET", "/checklists", "inspector_qingshan").json()
    small = {k for c in checklists if c["code"] == "small_venue_fire" for k in c["venue_kinds"]}
    venue = next(v for v in venues if v["kind"] in small)
    open_checklist(page, venue["name"], "small_venue_fire")
    answer_all(page, "pass")
    codes = photo_required_items(server, 2)
    fail_with_photos(page, codes, [[photos[0], photos[1]], [photos[2]]])
    # The compressed photos as stored on the phone, and the thumbnails the phone made of them: exactly the
    # file parts the uploads carry.
    blobs, thumbs = page.evaluate(
        "(async () => { const db = await import('/js/db.js'); const rows = await db.getAll('photos');"
        " return [rows.map((p) => p.blob.size), rows.map((p) => (p.thumb ? p.thumb.size : 0))]; })()"
    )
    page.click("[data-testid=to-summary]")
    page.click("[data-testid=submit-inspection]")
    page.wait_for_selector("[data-testid=outbox-item][data-state=done]", timeout=120000)
    browser.close()
    # Playwright does not see the size of a multipart body built from Blobs; add the blobs to what it sees
    # (headers, JSON bodies) plus the multipart framing of each part.
    framing = 200
    parts = len(blobs) + sum(1 for n in thumbs if n)
    photo_bytes = sum(n for kind, n in sent if kind == "photos") + sum(blobs) + sum(thumbs) + framing * parts
    body_bytes = sum(n for kind, n in sent if kind == "inspections")
    return {
        "raw": raw,
        "photos_sent": photo_bytes,
        "inspection_sent": body_bytes,
        "requests": len(sent),
        "photo_sizes": blobs,
        "thumbnail_bytes": sum(thumbs),
        "ratio": (photo_bytes + body_bytes) / raw,
    }


# Chromium DevTools network emulation of a 3G link (bytes per second, milliseconds).
THREE_G = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1_600_000 / 8,
    "uploadThroughput": 750_000 / 8,
}


def over_3g(pw: Any, server: Any, tmp: Path) -> dict[str, Any]:
    """One inspection with three camera photos, submitted on a 3G link: seconds until the outbox is empty."""
    photos = [camera_jpeg(tmp / f"g{i}.jpg", seed=40 + i) for i in range(3)]
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    ctx = browser.new_context(**context_options(base_url=server.url))
    page = ctx.new_page()
    sign_in(page, "inspector_qingshan", server.password)
    venues = server.get_all("/venues", "inspector_qingshan")
    checklists = server.api("GET", "/checklists", "inspector_qingshan").json()
    small = {k for c in checklists if c["code"] == "small_venue_fire" for k in c["venue_kinds"]}
    venue = next(v for v in venues if v["kind"] in small)
    open_checklist(page, venue["name"], "small_venue_fire")
    answer_all(page, "pass")
    codes = photo_required_items(server, 3)
    fail_with_photos(page, codes, [[photos[0]], [photos[1]], [photos[2]]])
    sizes = page.evaluate(
        "(async () => { const db = await import('/js/db.js');"
        " return (await db.getAll('photos')).map((p) => p.size + (p.thumb ? p.thumb.size : 0)); })()"
    )
    page.click("[data-testid=to-summary]")
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", THREE_G)
    start = time.monotonic()
    page.click("[data-testid=submit-inspection]")
    page.wait_for_selector("[data-testid=outbox-item]")
    wait_synced(page, 120_000)
    seconds = time.monotonic() - start
    browser.close()
    wire = sum(sizes) / THREE_G["uploadThroughput"]
    return {"seconds": seconds, "bytes": sum(sizes), "wire_seconds": wire, "ratio": seconds / wire}


def day_offline(pw: Any, server: Any, tmp: Path, n: int = 20, photos_each: int = 3) -> dict[str, Any]:
    """A day's work saved offline, kept through reloads and a browser restart, then synced."""
    user = "inspector_baiyun"
    profile = tmp / "profile"
    opts = context_options(base_url=server.url)
    ctx = pw.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **opts
    )
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    sign_in(page, user, server.password)
    wait_for_service_worker(page)
    template = server.api("GET", "/checklists/small_venue_fire", user).json()
    venues = [v for v in server.get_all("/venues", user) if v["kind"] in template["venue_kinds"]]
    day = [venues[i % len(venues)] for i in range(n)]
    photos = phone_photos(6)
    before = {i["id"] for i in server.get_all("/inspections", user)}
    ctx.set_offline(True)
    made = save_inspections(page, day, template, photos, photos_each, GPS_FIX)
    page.reload()
    page.wait_for_selector("[data-testid=venue-row]")
    ctx.close()
    # The browser is started again, still with no network: everything is still on the phone.
    ctx = pw.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **opts
    )
    ctx.set_offline(True)
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    page.goto("/#/sync")
    page.wait_for_selector("[data-testid=outbox-item]")
    held = phone_storage(page)
    assert held["counts"]["outbox"] == n and held["counts"]["photos"] == n * photos_each, held["counts"]
    start = time.monotonic()
    ctx.set_offline(False)
    page.evaluate("window.safegrid.drainSoon()")
    wait_synced(page, 600_000)
    seconds = time.monotonic() - start
    after = phone_storage(page)
    ctx.close()
    new = [i for i in server.get_all("/inspections", user) if i["id"] not in before]
    arrived = [i["id"] for i in sorted(new, key=lambda i: i["created_at"])]
    return {
        "inspections": len(new),
        "photos": held["counts"]["photos"],
        "photo_bytes": held["photo_bytes"],
        "usage": held["usage"],
        "usage_after": after["usage"],
        "photos_after": after["counts"]["photos"],
        "seconds": seconds,
        "in_order": arrived == made,
    }


def report_offline(pw: Any, server: Any) -> dict[str, Any]:
    """The public report page, opened again with no network after one visit."""
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    ctx = browser.new_context(**context_options(base_url=server.url))
    page = ctx.new_page()
    page.goto("/report")
    page.wait_for_selector("#category option[value=fire_hazard]", state="attached")
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    ctx.set_offline(True)
    start = time.monotonic()
    page.goto("/report")
    page.wait_for_selector("#category option[value=fire_hazard]", state="attached")
    seconds = time.monotonic() - start
    browser.close()
    return {"opened": True, "seconds": seconds}


def field(pw: Any, server: Any, tmp: Path) -> None:
    g = over_3g(pw, server, tmp)
    print("one inspection with three camera photos over emulated 3G (1.6 Mbps down, 750 kbps up, 150 ms)")
    print(f"  photos as compressed on the phone, with their thumbnails: {g['bytes'] / KB:.0f} KB")
    print(
        f"  synced in {g['seconds']:.1f} s   goal <= 30 s   {'OK' if g['seconds'] <= 30 else 'OVER'};"
        f" {g['ratio']:.2f}x the {g['wire_seconds']:.1f} s its bytes need at 750 kbps"
    )
    d = day_offline(pw, server, tmp)
    print(f"a day's work offline: {d['inspections']} inspections, {d['photos']} photos,")
    print("  kept through a reload and a browser restart")
    print(
        f"  phone storage used (navigator.storage.estimate): {d['usage'] / KB / KB:.1f} MB"
        f" = {d['usage'] / d['photo_bytes']:.2f}x the {d['photo_bytes'] / KB / KB:.1f} MB of photos"
    )
    print(
        f"  right after the sync: {d['photos_after']} photos left on the phone,"
        f" estimate {d['usage_after'] / KB / KB:.1f} MB"
    )
    print(
        f"  synced on the local network in {d['seconds']:.1f} s"
        f" ({d['seconds'] / d['photos']:.2f} s per photo);"
        f" in the order made: {'yes' if d['in_order'] else 'NO'}"
    )
    r = report_offline(pw, server)
    print(f"report page opened with no network after a first visit: yes, in {r['seconds']:.2f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-lighthouse", action="store_true")
    ap.add_argument("--only-field", action="store_true", help="only the field-conditions figures")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with running_server() as server, sync_playwright() as pw, tempfile.TemporaryDirectory() as tmp:
        if args.only_field:
            field(pw, server, Path(tmp))
            return 0
        load = cold_load(pw, server.url)
        total = load["page"] + load["worker"]
        print("cold first load of the app shell (bytes transferred, compressed by the server)")
        print(f"  page:           {load['page'] / KB:7.1f} KB in {load['page_requests']} requests")
        print(f"  service worker: {load['worker'] / KB:7.1f} KB in {load['worker_requests']} reqs (precache)")
        print(f"  total:          {total / KB:7.1f} KB")
        disk = load["shell_on_disk"]
        verdict = "OK" if disk <= 150 * KB else "OVER"
        print(f"  the shell's files before compression: {disk / KB:.1f} KB  goal <= 150 KB  {verdict}")
        if os.environ.get("SAFEGRID_BENCH_VERBOSE"):
            for who, path, n in load["rows"]:
                print(f"    {who:6} {n:7d} {path}")

        if args.skip_lighthouse:
            print("lighthouse: skipped")
        else:
            lh = lighthouse(f"{server.url}/")
            if "error" in lh:
                print(f"lighthouse: not measured: {lh['error']}")
            else:
                ok = lh["performance"] >= 0.95 and lh["accessibility"] >= 0.95
                print(
                    f"lighthouse (mobile, sign-in screen): performance {lh['performance']:.2f}, "
                    f"accessibility {lh['accessibility']:.2f}   goal >= 0.95 each   {'OK' if ok else 'BELOW'}"
                )
                if lh["failed_binary_audits"]:
                    print(f"  failed audits: {', '.join(lh['failed_binary_audits'])}")

        up = upload_ratio(pw, server, Path(tmp))
        print("upload of one inspection with three 4000x3000 camera photos")
        print(f"  raw photos:      {up['raw'] / KB:8.1f} KB")
        print(f"  photos uploaded: {up['photos_sent'] / KB:8.1f} KB (with headers; compressed on the phone)")
        print(f"  inspection body: {up['inspection_sent'] / KB:8.1f} KB")
        print(f"  each photo after compression: {', '.join(f'{n / KB:.0f} KB' for n in up['photo_sizes'])}")
        print(f"  the phone's thumbnails of them, in all: {up['thumbnail_bytes'] / KB:.1f} KB")
        print(f"  ratio sent/raw: {up['ratio']:.3f}  goal <= 0.1  {'OK' if up['ratio'] <= 0.1 else 'OVER'}")
        field(pw, server, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
