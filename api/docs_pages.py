"""The API reference pages (/docs, /redoc) with their scripts served by SafeGrid itself.

FastAPI's own pages load Swagger UI and ReDoc from a public CDN, which a town office's network may not
reach (and which would learn who reads the docs). The assets come from the `fastapi-offline` package,
which ships Swagger UI and ReDoc builds (MIT licence, like both projects).
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline.core
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
    swagger_ui_default_parameters,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs/assets"
ASSETS_DIR = Path(fastapi_offline.core.__file__).resolve().parent / "static"


def install_docs(app: FastAPI, openapi_url: str) -> None:
    """Adds /docs, /docs/oauth2-redirect, /redoc and the assets they load; call before any catch-all mount."""
    title = app.title
    # No validator badge: Swagger UI would send the spec's address to its public validator.
    parameters = {**swagger_ui_default_parameters, "validatorUrl": None}

    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} — Swagger UI",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_ui_parameters=parameters,
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} — ReDoc",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
