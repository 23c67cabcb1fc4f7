"""The public report page opens with no network after a first visit (its own service worker, scope
`/report`), keeps what was typed offline as a draft through a reload, sends it when the network returns and
then deletes it from the phone; the inspector app's own worker at `/` is untouched by it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from test_report_page import drafts_on_phone

pytestmark = pytest.mark.e2e

# One evaluation that settles (no polling of a string predicate: the page's CSP forbids eval).
REPORT_WORKER_READY = """async () => {
  const reg = await Promise.race([
    navigator.serviceWorker.ready,
    new Promise((resolve) => setTimeout(() => resolve(null), 20000)),
  ]);
  return reg ? { scope: reg.scope, state: reg.active && reg.active.state } : null;
}"""


def first_visit(page: Any) -> None:
    page.goto("/report")
    expect(page.locator("#category option[value=fire_hazard]")).to_be_attached()
    reg = page.evaluate(REPORT_WORKER_READY)
    assert reg and reg["scope"].endswith("/report"), reg


def test_report_page_opens_offline_after_a_first_visit_and_keeps_drafts(live_server, new_context):
    ctx = new_context()
    page = ctx.new_page()
    first_visit(page)
    # The inspector app registers its own worker at "/": both live side by side.
    app = ctx.new_page()
    app.goto("/")
    expect(app.locator("form.login")).to_be_visible()
    scopes = app.evaluate(
        """async () => {
          await navigator.serviceWorker.ready;
          return (await navigator.serviceWorker.getRegistrations()).map((r) => new URL(r.scope).pathname);
        }"""
    )
    assert sorted(scopes) == ["/", "/report"], scopes
    app.close()

    ctx.set_offline(True)
    page.goto("/report")  # from the page's worker
    expect(page.locator("#category option[value=ebike]")).to_be_attached()
    page.select_option("#category", "ebike")
    page.fill("#description", "三楼楼道里每天晚上给电动车充电。")
    page.click("#submit")
    expect(page.locator("#outbox")).to_contain_text("有 1 条举报保存在这部手机上")
    assert drafts_on_phone(page) == 1

    # A reload with no network: the page and its draft are both still there.
    page.reload()
    expect(page.locator("#outbox")).to_contain_text("有 1 条举报保存在这部手机上")
    page.goto("/report/status")
    expect(page.locator("#status-view")).to_be_visible()

    # Back on the report page, then the network returns: the page sends what it kept. (Online on the
    # status page, that page would send it, racing a navigation.)
    page.goto("/report")
    expect(page.locator("#outbox")).to_contain_text("有 1 条举报保存在这部手机上")
    ctx.set_offline(False)
    expect(page.locator("#receipt-view .receipt")).to_have_count(1, timeout=30000)
    assert drafts_on_phone(page) == 0  # deleted once the server confirmed it
    text = "三楼楼道里每天晚上给电动车充电。"
    reports = [r for r in live_server.get_all("/reports") if r["description"] == text]
    assert len(reports) == 1 and reports[0]["category"] == "ebike"

    # The page still carries its strict headers through the worker when online.
    r = page.request.get("/report")
    assert r.headers["cache-control"] == "no-store"
    assert "worker-src 'self'" in r.headers["content-security-policy"]
