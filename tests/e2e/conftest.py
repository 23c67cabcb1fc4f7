"""Fixtures for end-to-end tests in real headless Chromium against a real server.

General enough for any page of the app (the inspector app at `/`, the public report page at `/report`):

- `live_server`: `safegrid serve` in a subprocess on a free port with a temp SAFEGRID_DATA_DIR, after
  `safegrid migrate` and `safegrid demo --password ...`; has `.url`, `.token(user)`, `.api(...)`.
- `browser`: one headless Chromium (/usr/bin/chromium) for the session.
- `new_context(...)`: a context factory at a phone viewport (360×740, touch, zh-CN, Asia/Shanghai, a GPS fix);
  `persistent=True` gives a context with its own user-data-dir (service workers survive a restart of it).
- `screenshot(page, name)`: saves test-artifacts/screenshots/<name>.png for a person to look at.

The tests use Playwright's sync API in plain `def` tests (the suite's asyncio mode does not touch them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("SAFEGRID_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]
PHONE = {"width": 360, "height": 740}
DEMO_PASSWORD = "e2e-demo-pass-1"
# Somewhere in 白云村 (the demo village), as a phone's GPS would report it.
GPS_FIX = {"latitude": 31.4021, "longitude": 109.6335, "accuracy": 8}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    password: str
    log_path: Path
    _tokens: dict[str, str] = field(default_factory=dict)

    def token(self, username: str) -> str:
        if username not in self._tokens:
            r = httpx.post(
                f"{self.url}/api/v1/auth/token", data={"username": username, "password": self.password}
            )
            r.raise_for_status()
            self._tokens[username] = r.json()["access_token"]
        return self._tokens[username]

    def api(self, method: str, path: str, user: str = "supervisor", **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(user)}", **kw.pop("headers", {})}
        return httpx.request(method, f"{self.url}/api/v1{path}", headers=headers, timeout=30, **kw)

    def get_all(self, path: str, user: str = "supervisor", **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            q = {**params, "limit": 200, **({"cursor": cursor} if cursor else {})}
            r = self.api("GET", path, user, params=q)
            r.raise_for_status()
            body = r.json()
            items += body["items"]
            cursor = body.get("next_cursor")
            if not cursor:
                return items

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _start_server(
    data_dir: Path, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], LiveServer]:
    env = {**os.environ, "SAFEGRID_DATA_DIR": str(data_dir), **(extra_env or {})}
    env.pop("SAFEGRID_DATABASE_URL", None)  # embedded SQLite in the temp dir
    _cli("migrate", env=env)
    _cli("demo", "--password", DEMO_PASSWORD, env=env)
    port = _free_port()
    log_path = data_dir / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = LiveServer(f"http://127.0.0.1:{port}", data_dir, DEMO_PASSWORD, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/api/v1/health", timeout=2).status_code == 200:
                return proc, server
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not start:\n{server.log()}")


@contextlib.contextmanager
def running_server(env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """A fresh server with its own data (and optional SAFEGRID_* settings, e.g. SAFEGRID_PWA_DIR);
    usable outside pytest (bench/pwa.py)."""
    data_dir = Path(tempfile.mkdtemp(prefix="safegrid-e2e-"))
    proc, server = _start_server(data_dir, env)
    try:
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    # Every test's browser reports from the one loopback address; the abuse limits (tested in the API
    # suite) would otherwise decide which of the later tests may file a report.
    limits = {
        "SAFEGRID_REPORT_RATE_PER_CLIENT_PER_HOUR": "100000",
        "SAFEGRID_REPORT_RATE_GLOBAL_PER_MINUTE": "100000",
    }
    with running_server(limits) as server:
        yield server


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    # The assertions' 5 s default is too short on a loaded two-core machine; match the contexts' default.
    expect.set_options(timeout=15000)
    with sync_playwright() as p:
        yield p


def wait_js(page: Any, expression: str, arg: Any = None, timeout: float = 15000) -> Any:
    """Polls a JavaScript function until it returns something truthy, and returns it.

    Not `page.wait_for_function`: that compiles its predicate inside the page, which a page whose
    Content-Security-Policy forbids eval (the report page, the inspector app) refuses at random moments.
    `page.evaluate` goes through the DevTools protocol, which the policy does not govern. A reload or
    navigation in between (the context is destroyed) is waited out like a false answer.
    """
    deadline = time.monotonic() + timeout / 1000
    last: Exception | None = None
    while True:
        try:
            value = page.evaluate(expression, arg)
            if value:
                return value
        except Exception as exc:  # the page navigated while evaluating
            if "Target" in str(exc) and "closed" in str(exc):
                raise
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} ms waiting for {expression!r} (last: {last})")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def browser(playwright_instance: Any) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is required for the e2e tests and is missing at {CHROMIUM}")
    b = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield b
    b.close()


def context_options(**overrides: Any) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "viewport": PHONE,
        "screen": PHONE,
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        "geolocation": GPS_FIX,
        "permissions": ["geolocation"],
        "user_agent": (
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0 Mobile Safari/537.36"
        ),
    }
    opts.update(overrides)
    return opts


@pytest.fixture
def new_context(
    browser: Any, playwright_instance: Any, live_server: LiveServer, tmp_path: Path
) -> Iterator[Callable[..., Any]]:
    """new_context(persistent=False, user_data_dir=None, **playwright_options) -> BrowserContext."""
    made: list[Any] = []

    def make(persistent: bool = False, user_data_dir: Path | None = None, **kw: Any) -> Any:
        opts = context_options(base_url=live_server.url, **kw)
        if persistent:
            udd = user_data_dir or (tmp_path / f"profile-{len(made)}")
            ctx = playwright_instance.chromium.launch_persistent_context(
                str(udd), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **opts
            )
        else:
            ctx = browser.new_context(**opts)
        ctx.set_default_timeout(15000)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        with contextlib.suppress(Exception):
            ctx.close()


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(page: Any, name: str, full_page: bool = False) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return shot
