"""The phone app cannot go stale or break offline: the service worker's version is the shell's content
hash, the shell list holds every file the app loads, and the app's pages carry a strict CSP."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.pwa import APP_CSP, VERSION_PLACEHOLDER, shell_path, shell_urls
from api.resources import resource_path
from api.routers.public import PAGE_CSP
from tests.conftest import Env, make_settings

PWA = resource_path("pwa")
_VERSION = re.compile(r"const VERSION = '(safegrid-shell-[0-9a-f]{16})';")
_JS_IMPORT = re.compile(
    r"""(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]"""
)
_HTML_REF = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)\"""")


def _loaded_by_the_app() -> set[str]:
    """Every file the inspector app loads, by following index.html, the manifest and the module imports."""
    seen: set[str] = set()
    todo = ["/", "/manifest.webmanifest", "/sw.js"]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        path = shell_path(PWA, url)
        assert path.is_file(), f"{url} is referenced but does not exist"
        text = path.read_text(encoding="utf-8") if path.suffix in (".html", ".js", ".webmanifest") else ""
        if path.suffix == ".html":
            todo += [ref for ref in _HTML_REF.findall(text) if ref.startswith("/")]
        elif path.suffix == ".webmanifest":
            todo += re.findall(r'"src"\s*:\s*"(/[^"]+)"', text)
        elif path.suffix == ".js":
            base = url.rsplit("/", 1)[0] + "/"
            for a, b in _JS_IMPORT.findall(text):
                ref = a or b
                assert ref.startswith("."), f"{url} imports {ref!r}, not a file of the app"
                todo.append(str(Path(base + ref).resolve(strict=False)).replace("\\", "/"))
    seen.discard("/sw.js")  # the worker is fetched by the browser, never from its own cache
    return seen


def test_the_shell_list_holds_every_file_the_app_loads() -> None:
    shell = set(shell_urls((PWA / "sw.js").read_text(encoding="utf-8")))
    loaded = _loaded_by_the_app()
    assert len(loaded) > 10, loaded  # the walk really followed the imports
    assert loaded - shell == set(), f"missing from SHELL in pwa/sw.js: {sorted(loaded - shell)}"
    for url in shell:
        assert shell_path(PWA, url).is_file(), f"SHELL lists {url}, which does not exist"


def test_sw_source_has_the_placeholder_the_server_fills() -> None:
    assert f"const VERSION = '{VERSION_PLACEHOLDER}';" in (PWA / "sw.js").read_text(encoding="utf-8")


@pytest.fixture
async def pwa_copy(tmp_path: Path) -> AsyncIterator[tuple[Path, httpx.AsyncClient]]:
    pwa = tmp_path / "pwa"
    shutil.copytree(PWA, pwa)
    app = create_app(make_settings(tmp_path, None, pwa_dir=pwa))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield pwa, c


async def _version(client: httpx.AsyncClient) -> str:
    r = await client.get("/sw.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "no-cache"
    match = _VERSION.search(r.text)
    assert match, r.text[:600]
    return match.group(1)


async def test_sw_version_follows_the_content_of_every_shell_file(
    pwa_copy: tuple[Path, httpx.AsyncClient],
) -> None:
    pwa, client = pwa_copy
    first = await _version(client)
    assert first == await _version(client)  # stable while nothing changes

    css = pwa / "css" / "app.css"
    css.write_text(css.read_text(encoding="utf-8") + "\n/* changed */\n", encoding="utf-8")
    second = await _version(client)
    assert second != first

    view = pwa / "js" / "views" / "today.js"
    view.write_text(view.read_text(encoding="utf-8") + "\n// changed\n", encoding="utf-8")
    third = await _version(client)
    assert third not in (first, second)

    # A file outside the shell (the public report page) does not touch the app's version.
    report = pwa / "report.html"
    report.write_text(report.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert await _version(client) == third


@pytest.mark.parametrize("path", ["/", "/index.html", "/js/app.js", "/sw.js"])
async def test_the_inspector_app_sends_a_strict_csp(env: Env, path: str) -> None:
    r = await env.client.get(path)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert csp == APP_CSP
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert "unsafe" not in csp
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_the_console_gets_the_same_policy(pwa_copy: tuple[Path, httpx.AsyncClient]) -> None:
    pwa, client = pwa_copy
    if not (pwa / "console" / "index.html").is_file():
        (pwa / "console").mkdir()
        (pwa / "console" / "index.html").write_text("<!doctype html><title>console</title>", encoding="utf-8")
    r = await client.get("/console/")
    assert r.status_code == 200
    assert r.headers["content-security-policy"] == APP_CSP


async def test_the_report_page_and_the_api_keep_their_own_headers(env: Env) -> None:
    report = await env.client.get("/report")
    # The public page's own policy (its worker, scope /report, is the only one it may start), and its
    # own privacy headers rather than the app's.
    assert report.headers["content-security-policy"] == PAGE_CSP
    assert report.headers["referrer-policy"] == "no-referrer"
    assert report.headers["cache-control"] == "no-store"
    health = await env.client.get("/api/v1/health")
    assert "content-security-policy" not in health.headers


async def test_the_apps_files_go_out_compressed_and_the_api_does_not(env: Env) -> None:
    gz = {"Accept-Encoding": "gzip"}
    r = await env.client.get("/js/outbox.js", headers=gz)
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert r.text == (PWA / "js" / "outbox.js").read_text(encoding="utf-8")  # httpx inflated it
    assert int(r.headers["content-length"]) < len(r.content) / 2
    # Without asking for it, the plain file.
    plain = await env.client.get("/js/outbox.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    api = await env.client.get("/api/v1/checklists", headers={**gz, **env.auth("supervisor")})
    assert api.status_code == 200 and "content-encoding" not in api.headers
