from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import Match, Mount
from starlette.types import Scope

from api import __version__
from api.config import Settings, get_settings
from api.db import create_engine, create_sessionmaker
from api.errors import install_error_handlers
from api.jobs import escalate_overdue
from api.middleware import AccessLogMiddleware, BodyLimitMiddleware
from api.routers import assessment, auth, findings, inspections, photos, public, reference, reports, venues
from api.routers.paper import routers as paper_routers
from api.storage import LocalPhotoStorage

log = logging.getLogger("safegrid")

API_PREFIX = "/api/v1"


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
        task = None
        if settings.escalation_sweep_seconds > 0:
            task = asyncio.create_task(_escalation_loop(app, settings.escalation_sweep_seconds))
        try:
            yield
        finally:
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await engine.dispose()

    app = FastAPI(
        title="SafeGrid 安格 API",
        version=__version__,
        description="Hazard inspection and rectification for township safety offices (API contract v1).",
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.settings = settings
    app.state.storage = LocalPhotoStorage(settings.photo_dir)
    install_error_handlers(app)

    api = APIRouter(prefix=API_PREFIX)
    for module in (auth, reference, venues, photos, inspections, findings, public, reports, assessment):
        api.include_router(module.router)
    for paper_router in paper_routers:
        api.include_router(paper_router)

    @api.get("/health", tags=["meta"])
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(api)
    # Public report page (/report, /report/status): before the static mount, which would shadow it.
    app.include_router(public.pages)
    _mount_pwa(app, settings)

    upload = settings.max_upload_bytes + 256 * 1024
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
    # No-store, no-referrer, strict CSP and no cookies on the public page and the public API.
    app.add_middleware(public.PublicHeadersMiddleware)
    app.add_middleware(AccessLogMiddleware)
    return app


def _mount_pwa(app: FastAPI, settings: Settings) -> None:
    pwa = settings.pwa_dir
    if not pwa.is_dir():
        return

    @app.get("/sw.js", include_in_schema=False)
    async def service_worker() -> FileResponse:
        # The service worker must be revalidated on every load, or an update can hide for a day.
        return FileResponse(
            pwa / "sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"}
        )

    app.router.routes.append(_PwaMount("/", app=StaticFiles(directory=pwa, html=True), name="pwa"))


class _PwaMount(Mount):
    """The PWA's files at `/`, except under the API prefix: an API path that no route fully matches must
    reach the router's own 404/405 (problem+json), not be looked up as a file."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIX + "/"):
            return Match.NONE, {}
        return super().matches(scope)
