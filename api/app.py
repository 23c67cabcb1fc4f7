from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Match, Mount
from starlette.types import Scope

from api import __version__
from api.config import Settings, get_settings
from api.db import create_engine, create_sessionmaker
from api.docs_pages import install_docs
from api.errors import install_error_handlers
from api.jobs import escalate_overdue, prune_stale
from api.middleware import AccessLogMiddleware, BodyLimitMiddleware, NulCharacterMiddleware
from api.openapi import install_problem_responses
from api.pwa import AppHeadersMiddleware, ServiceWorkerSource
from api.routers import (
    assessment,
    auth,
    findings,
    inspections,
    major_hazards,
    photos,
    public,
    queue,
    reference,
    reports,
    venues,
)
from api.routers.paper import routers as paper_routers
from api.services.imaging import PHONE_THUMBNAIL_MAX_BYTES
from api.storage import LocalPhotoStorage

log = logging.getLogger("safegrid")

API_PREFIX = "/api/v1"


async def _prune_loop(app: FastAPI, settings: Settings) -> None:
    while True:
        # First after one interval: a process that starts and stops (tests, `serve` restarts) does no work.
        await asyncio.sleep(settings.prune_interval_seconds)
        try:
            tokens, throttles = await prune_stale(app.state.sessionmaker, settings)
            if tokens or throttles:
                log.info("pruned %d token(s) and %d sign-in throttle row(s)", tokens, throttles)
        except Exception:
            log.exception("pruning failed")


async def _escalation_loop(app: FastAPI, every: float) -> None:
    while True:
        try:
            total = await escalate_overdue(app.state.sessionmaker)
            if total:
                log.info("escalated %d overdue finding(s)", total)
        except Exception:  # the loop must outlive a bad night of the database
            log.exception("escalation sweep failed")
        await asyncio.sleep(every)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.read_sessionmaker = create_sessionmaker(engine, read_only=True)
        tasks = []
        if settings.escalation_sweep_seconds > 0:
            tasks.append(asyncio.create_task(_escalation_loop(app, settings.escalation_sweep_seconds)))
        if settings.prune_interval_seconds > 0:
            tasks.append(asyncio.create_task(_prune_loop(app, settings)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await engine.dispose()

    app = FastAPI(
        title="SafeGrid 安格 API",
        version=__version__,
        description="Hazard inspection and rectification for township safety offices (API contract v1).",
        lifespan=lifespan,
        # /docs and /redoc come from install_docs, with their assets served here rather than by a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
        # FastAPI's own OpenTelemetry hooks, off and not to be switched on from the environment: a span
        # carries the query string and an exception log the values sent, and a public reporter's receipt
        # or words must never leave the process that way. Off, they also cost nothing per request; on,
        # looking up the providers alone took 3% of an inspection's CPU.
        telemetry={
            "tracing": False,
            "metrics": False,
            "logs": False,
            "operation_spans": False,
            "auto_configure": False,
        },
    )
    app.state.settings = settings
    app.state.storage = LocalPhotoStorage(settings.photo_dir)
    install_error_handlers(app)

    api = APIRouter(prefix=API_PREFIX)
    # Matched in this order, one router after another: the phones' uploads, the busiest requests, first.
    # (Photos and inspections share no path with another router, so the order decides nothing else.)
    for module in (
        photos,
        inspections,
        auth,
        reference,
        venues,
        findings,
        major_hazards,
        queue,
        public,
        reports,
        assessment,
    ):
        api.include_router(module.router)
    for paper_router in paper_routers:
        api.include_router(paper_router)

    @api.get("/health", tags=["meta"])
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(api)
    install_docs(app, f"{API_PREFIX}/openapi.json")
    install_problem_responses(app, API_PREFIX)
    # Public report page (/report, /report/status): before the static mount, which would shadow it.
    app.include_router(public.pages)
    _mount_pwa(app, settings)

    # Inside the body limit: the NUL check buffers a JSON or URL-encoded body, which is bounded first.
    app.add_middleware(NulCharacterMiddleware)
    # A photo, the phone's thumbnail of it, and room for the form around them.
    upload = settings.max_upload_bytes + PHONE_THUMBNAIL_MAX_BYTES + 256 * 1024
    app.add_middleware(
        BodyLimitMiddleware,
        limits=[
            ("PUT", f"{API_PREFIX}/photos/", upload),
            ("POST", f"{API_PREFIX}/venues/import", upload),
            (
                "POST",
                f"{API_PREFIX}/public/reports",
                settings.max_upload_bytes * settings.report_max_photos + 65536,
            ),
        ],
        default_limit=1024 * 1024,
    )
    app.add_middleware(public.ReportRateLimitMiddleware, path=f"{API_PREFIX}/public/reports")
    # No-store, no-referrer, strict CSP and no cookies on the public page and the public API.
    app.add_middleware(public.PublicHeadersMiddleware)
    app.add_middleware(AppHeadersMiddleware)
    app.add_middleware(AccessLogMiddleware)
    return app


def _mount_pwa(app: FastAPI, settings: Settings) -> None:
    pwa = settings.pwa_dir
    if not pwa.is_dir():
        return

    worker = ServiceWorkerSource(pwa)

    @app.get("/sw.js", include_in_schema=False)
    async def service_worker() -> Response:
        return await worker.response()

    # The app's files go out compressed (about a third of their size): a phone's first load, and every
    # update of the shell, on a valley's slow link. Only the files: the API's replies are small and hot.
    files = GZipMiddleware(StaticFiles(directory=pwa, html=True), minimum_size=1024)
    app.router.routes.append(_PwaMount("/", app=files, name="pwa"))


class _PwaMount(Mount):
    """The PWA's files at `/`, except under the API prefix: an API path that no route fully matches must
    reach the router's own 404/405 (problem+json), not be looked up as a file."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIX + "/"):
            return Match.NONE, {}
        return super().matches(scope)
