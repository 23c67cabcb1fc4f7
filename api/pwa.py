"""Serving the inspector app: its service worker with a version made from the shell's content, and the
security headers of the app's pages.

The service worker names its cache after `VERSION`. A hand-written number was forgotten on most changes,
and phones kept the old app; here the server puts a hash of `sw.js` and of every file in its `SHELL` list
into `VERSION` when it serves the worker, so any change to any shell file is a new version, with no
build step and nothing for a person to remember. The hash is made again whenever one of those files
changes on disk (a deployment that replaces files needs no restart).
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import anyio.to_thread
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("safegrid")

VERSION_PLACEHOLDER = "safegrid-shell-CONTENT_HASH"
_SHELL = re.compile(r"const SHELL = \[(.*?)\];", re.S)
_URL = re.compile(r"""['"]([^'"]+)['"]""")

# The inspector app and the console keep a bearer token in IndexedDB: no script but this origin's files
# (no inline script, no eval) may run on their pages, and they may talk to no other host.
APP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_APP_HEADERS = {
    "content-security-policy": APP_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    # Revalidated on every load (a 304 when unchanged): with no caching rule a browser keeps a file for a
    # guessed while and could hand the console an old module after a release. The phone app's offline
    # copy is its service worker's cache, versioned by content, not the HTTP cache.
    "cache-control": "no-cache",
}
# Not the app: the API and the public report page (their own headers), and the API reference pages.
_NOT_APP = re.compile(r"^/(api|report|docs|redoc)(/|$|\.)")


def shell_urls(sw_source: str) -> list[str]:
    match = _SHELL.search(sw_source)
    return _URL.findall(match.group(1)) if match else []


def shell_path(pwa: Path, url: str) -> Path:
    return pwa / ("index.html" if url == "/" else url.lstrip("/"))


class ServiceWorkerSource:
    """`sw.js` with its VERSION set from the content of the shell; rebuilt when a shell file changes."""

    def __init__(self, pwa: Path) -> None:
        self.pwa = pwa
        self._key: tuple[tuple[str, int, int], ...] | None = None
        self._body = b""

    def _stat_key(self, files: list[Path]) -> tuple[tuple[str, int, int], ...]:
        key = []
        for f in files:
            try:
                st = f.stat()
                key.append((str(f), st.st_mtime_ns, st.st_size))
            except OSError:
                key.append((str(f), -1, -1))
        return tuple(key)

    def _build(self) -> bytes:
        sw = self.pwa / "sw.js"
        source = sw.read_bytes()
        files = [sw, *(shell_path(self.pwa, u) for u in shell_urls(source.decode("utf-8")))]
        key = self._stat_key(files)
        if key == self._key:
            return self._body
        digest = hashlib.sha256()
        for f in files:
            digest.update(f.relative_to(self.pwa).as_posix().encode() + b"\0")
            try:
                digest.update(f.read_bytes())
            except OSError:
                log.warning("service worker shell file is missing: %s", f.relative_to(self.pwa))
                digest.update(b"\0missing\0")
            digest.update(b"\0")
        version = f"safegrid-shell-{digest.hexdigest()[:16]}"
        self._body = source.replace(VERSION_PLACEHOLDER.encode(), version.encode())
        self._key = key
        return self._body

    async def response(self) -> Response:
        body = await anyio.to_thread.run_sync(self._build)
        # Revalidated on every load, or an update can hide for a day.
        return Response(body, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


class AppHeadersMiddleware:
    """Content-Security-Policy and friends on the inspector app and the console (everything served from
    the web app's folder except the public report page, which has its own stricter set)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _NOT_APP.match(scope.get("path", "")):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _APP_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
