"""A day's work saved offline survives a reload and a browser restart and syncs in the order it was made;
submitted work is pruned once the server has confirmed it, so a week of inspections with photos leaves the
phone's storage flat (photos and drafts gone, synced items and cached thumbnails capped)."""

from __future__ import annotations

import pytest
from conftest import GPS_FIX
from fieldwork import phone_photos, phone_storage, save_inspections, wait_synced
from playwright.sync_api import expect
from test_inspector_app import INSPECTOR, TEMPLATE, sign_in, wait_for_service_worker

pytestmark = pytest.mark.e2e

DAYS = 7
PER_DAY = 4
PHOTOS_EACH = 2


def test_storage_stays_flat_over_a_week_of_work(live_server, new_context):
    template = live_server.api("GET", f"/checklists/{TEMPLATE}", INSPECTOR).json()
    venues = [v for v in live_server.get_all("/venues", INSPECTOR) if v["kind"] in template["venue_kinds"]][
        :PER_DAY
    ]
    assert venues
    photos = phone_photos(4)
    page = new_context().new_page()
    sign_in(page, INSPECTOR, live_server.password)
    before = len(live_server.get_all("/inspections", INSPECTOR))
    days = []
    for _ in range(DAYS):
        save_inspections(page, venues, template, photos, PHOTOS_EACH, GPS_FIX)
        held = phone_storage(page)
        assert held["counts"]["photos"] == len(venues) * PHOTOS_EACH
        page.evaluate("window.safegrid.drainSoon()")
        wait_synced(page)
        page.reload()  # the app starts again each morning
        page.wait_for_selector("[data-testid=venue-row]")
        days.append(phone_storage(page))
    assert len(live_server.get_all("/inspections", INSPECTOR)) == before + DAYS * len(venues)
    for d in days:
        # The server holds the photos and the inspections: the phone keeps neither.
        assert d["counts"]["photos"] == 0 and d["photo_bytes"] == 0, d
        assert d["counts"]["drafts"] == 0, d
        assert d["counts"]["outbox"] <= 30, d
        assert d["counts"]["thumbs"] <= 200, d
    sent = DAYS * len(venues) * PHOTOS_EACH * sum(len(p) for p in photos) / len(photos)
    growth = days[-1]["usage"] - days[1]["usage"]
    # Flat: the week's photos (~sent bytes) did not pile up; what is left is the lists themselves.
    assert growth < 0.2 * sent, (growth, sent, [d["usage"] for d in days])


def test_a_days_work_offline_survives_a_restart_and_syncs_in_order(live_server, new_context, tmp_path):
    """bench/pwa.py measures 20 inspections with 60 photos; here a smaller day, checked in every detail."""
    template = live_server.api("GET", f"/checklists/{TEMPLATE}", INSPECTOR).json()
    venues = [v for v in live_server.get_all("/venues", INSPECTOR) if v["kind"] in template["venue_kinds"]]
    day = [venues[i % len(venues)] for i in range(6)]
    profile = tmp_path / "phone"
    ctx = new_context(persistent=True, user_data_dir=profile)
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    sign_in(page, INSPECTOR, live_server.password)
    wait_for_service_worker(page)
    before = {i["id"] for i in live_server.get_all("/inspections", INSPECTOR)}
    ctx.set_offline(True)
    made = save_inspections(page, day, template, phone_photos(3), 3, GPS_FIX)
    page.reload()
    page.wait_for_selector("[data-testid=venue-row]")
    ctx.close()

    ctx = new_context(persistent=True, user_data_dir=profile)
    ctx.set_offline(True)
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    page.goto("/#/sync")
    expect(page.locator("[data-testid=outbox-item][data-state=pending]")).to_have_count(len(day))
    held = phone_storage(page)
    assert held["counts"]["photos"] == len(day) * 3 and held["usage"] >= held["photo_bytes"], held
    ctx.set_offline(False)
    page.evaluate("window.safegrid.drainSoon()")
    wait_synced(page)
    new = [i for i in live_server.get_all("/inspections", INSPECTOR) if i["id"] not in before]
    assert [i["id"] for i in sorted(new, key=lambda i: i["created_at"])] == made
    assert all(len([p for a in i["answers"] for p in a["photo_ids"]]) == 3 for i in new)
    assert phone_storage(page)["counts"]["photos"] == 0
