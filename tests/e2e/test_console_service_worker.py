"""The inspector app's service worker (scope "/") does not serve the console its cached app modules.

The console imports a few of the app's modules (/js/ui.js, /js/format.js). A phone app whose new version
waits for the inspector's consent keeps the old shell in its cache; the console, opened in the same browser,
must still get those modules as the server has them now.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, context_options, running_server
from playwright.sync_api import expect
from test_inspector_app import wait_for_service_worker

pytestmark = pytest.mark.e2e

MARKER = "// changed after the phone cached the shell"


def test_the_console_gets_the_apps_modules_as_the_server_has_them(
    playwright_instance: Any, tmp_path: Path
) -> None:
    pwa = tmp_path / "pwa"
    shutil.copytree(ROOT / "pwa", pwa)
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
            page.goto("/")
            wait_for_service_worker(page)
            # A new release of a shared module; the phone's worker still holds the old one.
            fmt = pwa / "js" / "format.js"
            fmt.write_text(fmt.read_text(encoding="utf-8") + f"\n{MARKER}\n", encoding="utf-8")

            bodies: dict[str, str] = {}

            def seen(response: Any) -> None:
                if response.url.endswith("/js/format.js"):
                    bodies[response.frame.url] = response.text()

            page.on("response", seen)
            page.reload()
            page.wait_for_selector("form.login")
            console = ctx.new_page()
            console.on("response", seen)
            console.goto("/console/")
            expect(console.locator("input[name=username]")).to_be_visible()

            app_copy = next(body for url, body in bodies.items() if "/console" not in url)
            console_copy = next(body for url, body in bodies.items() if "/console" in url)
            assert MARKER not in app_copy  # the app waits for its update, on its cached shell
            assert MARKER in console_copy  # the console is not held back by it
        finally:
            ctx.close()
