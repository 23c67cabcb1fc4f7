"""Where the service worker cannot be installed, the inspector is told on screen (in Chinese) that the
app will not open offline; and the app runs under its Content-Security-Policy without a violation."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_a_browser_without_service_worker_says_offline_use_is_unavailable(
    live_server: Any, new_context: Any
) -> None:
    ctx = new_context()
    # As on a phone whose browser cannot run the app's module service worker.
    ctx.add_init_script(
        "Object.defineProperty(navigator, 'serviceWorker', {get() { return {register: () => "
        "Promise.reject(new TypeError('module service workers are not supported'))}; }});"
    )
    page = ctx.new_page()
    page.goto("/")
    notice = page.locator("#offline-banner")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("无法离线使用")
    assert notice.get_attribute("role") == "alert"


def test_the_app_runs_under_its_csp_without_violations(live_server: Any, new_context: Any) -> None:
    ctx = new_context()
    page = ctx.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    response = page.goto("/")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.fill("input[name=username]", "inspector_baiyun")
    page.fill("input[name=password]", live_server.password)
    page.click("form.login button[type=submit]")
    page.wait_for_selector("[data-testid=venue-row]")
    expect(page.locator("#offline-banner")).to_have_count(0)
    assert violations == []
