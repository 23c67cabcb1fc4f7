"""Submitted work is pruned once the server has confirmed it: a week of inspections with photos leaves the
phone's storage flat (photos and drafts gone, synced items and cached thumbnails capped)."""

from __future__ import annotations

import pytest
from conftest import GPS_FIX
from fieldwork import phone_photos, phone_storage, save_inspections, wait_synced
from test_inspector_app import INSPECTOR, TEMPLATE, sign_in

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
