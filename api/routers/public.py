"""Anonymous endpoints (举报) and the public report page.

Nothing here reads or keeps who is asking: no address, no user agent, no cookie. The only use of the
client address is the in-memory rate limit (api/services/ratelimit.py), keyed by a per-process HMAC.
"""

from __future__ import annotations

import math
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.responses import FileResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import SessionDep, SettingsDep, StorageDep
from api.errors import NotFound, TooManyRequests, Unprocessable, problem
from api.schemas.reference import CodeName
from api.schemas.reports import PublicStatusOut, ReceiptOut
from api.services import photos as photo_service
from api.services import reference
from api.services import reports as report_service
from api.services.ratelimit import client_address, limits_for, limits_for_state

router = APIRouter(prefix="/public", tags=["public"])


@router.get("/report-categories", response_model=list[CodeName])
async def report_categories() -> list[CodeName]:
    return [CodeName(**c) for c in reference.report_categories()]


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _coordinate(name: str, value: str | None) -> float | None:
    text = _text(value)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        raise Unprocessable(f"{name} is not a number.", code="invalid_position") from None
    if not math.isfinite(number):
        raise Unprocessable(f"{name} is not a number.", code="invalid_position")
    return number


@router.post("/reports", response_model=ReceiptOut, status_code=201, responses={200: {"model": ReceiptOut}})
async def submit_report(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    response: Response,
    category: Annotated[str, Form(max_length=20)],
    description: Annotated[str, Form()],
    location_text: Annotated[str | None, Form()] = None,
    lat: Annotated[str | None, Form(max_length=40)] = None,
    lng: Annotated[str | None, Form(max_length=40)] = None,
    contact: Annotated[str | None, Form()] = None,
    draft_id: Annotated[str | None, Form(max_length=64)] = None,
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> ReceiptOut:
    """Files an anonymous report. 201 with the receipt, shown once; the same `draft_id` again → 200 and
    the same receipt (see api/services/reports.py for how the receipt is derived). The rate limit is
    taken by ReportRateLimitMiddleware, before the body is read."""
    draft: uuid.UUID | None = None
    if _text(draft_id):
        try:
            draft = uuid.UUID(str(_text(draft_id)))
        except ValueError:
            raise Unprocessable("draft_id must be a UUID.", code="invalid_draft_id") from None
    sub = report_service.Submission(
        category=category.strip(),
        description=(description or "").strip(),
        location_text=_text(location_text),
        lat=_coordinate("lat", lat),
        lng=_coordinate("lng", lng),
        contact=_text(contact),
        draft_id=draft,
    )
    # A browser sends an empty, nameless part for a file input left empty.
    uploads = [f for f in files or [] if f.filename or (f.size or 0) > 0]
    report_service.validate(settings, sub, len(uploads))
    data = [await photo_service.read_limited(f, settings.max_upload_bytes) for f in uploads]
    receipt, report, created = await report_service.submit(session, storage, settings, sub, data)
    response.status_code = 201 if created else 200
    return ReceiptOut(receipt=receipt, status=report.status)


@router.get(
    "/reports/{receipt}",
    response_model=PublicStatusOut,
    responses={404: {"description": "No report has this receipt (or it is malformed)."}},
)
async def report_status(
    request: Request, session: SessionDep, settings: SettingsDep, receipt: str
) -> PublicStatusOut:
    """The status of one's own report: `{status, updated_at, reply}` and nothing else."""
    limits_for(request).check_lookup(client_address(request))
    report = await report_service.lookup(session, settings, receipt)
    return PublicStatusOut(
        status=report.status,
        updated_at=report.updated_at,
        reply=report.reply,
    )


# --------------------------------------------------------------------------- the page

pages = APIRouter(include_in_schema=False)


@pages.get("/report/sw.js")
async def report_service_worker(settings: SettingsDep) -> FileResponse:
    """The report page's own service worker. It lives beside the page's files but controls `/report`
    itself, which lies above its folder: the header allows that scope, and no wider."""
    script = settings.pwa_dir / "report" / "sw.js"
    if not script.is_file():
        raise NotFound("The report page is not installed.")
    return FileResponse(
        script, media_type="text/javascript; charset=utf-8", headers={"Service-Worker-Allowed": "/report"}
    )


@pages.get("/report")
@pages.get("/report/status")
async def report_page(settings: SettingsDep) -> FileResponse:
    return _page(settings.pwa_dir / "report.html")


def _page(page: Path) -> FileResponse:
    if not page.is_file():
        raise NotFound("This public page is not installed.")
    return FileResponse(page, media_type="text/html; charset=utf-8")


@pages.get("/report/draws/{draw_id}")
async def draw_page(settings: SettingsDep, draw_id: str) -> FileResponse:
    """双随机一公开: the published draw as a page anyone can open from a link the office posts. The page reads
    `GET /api/v1/public/draws/{id}` itself, so an unknown id is said there, not here."""
    return _page(settings.pwa_dir / "report" / "draw.html")


# --------------------------------------------------------------------------- rate limit first


class ReportRateLimitMiddleware:
    """Takes a public report's rate-limit token before anything reads the request body: a client over
    the limit is answered 429 at once, without its multipart body (up to five photos) being received,
    parsed and spooled first."""

    def __init__(self, app: ASGIApp, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == self.path:
            client = scope.get("client")
            try:
                limits_for_state(scope["app"].state).check_report(client[0] if client else "unknown")
            except TooManyRequests as exc:
                response = problem(exc.status, exc.code, exc.title, exc.detail, **exc.extra)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


# --------------------------------------------------------------------------- headers

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
_COMMON = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "geolocation=(self), camera=(self), microphone=(), interest-cohort=()",
}


def is_public_api(path: str) -> bool:
    return path.startswith("/api/v1/public/")


def is_public_page(path: str) -> bool:
    return path in ("/report", "/report.html") or path.startswith("/report/")


class PublicHeadersMiddleware:
    """On the public page, its files and the public API: no caching anywhere, no Referer sent on, a
    strict CSP (scripts and styles from this origin only, in files), and never a cookie."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        api, page = is_public_api(path), is_public_page(path)
        if not (api or page):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _COMMON.items():
                    headers[name] = value
                headers["content-security-policy"] = API_CSP if api else PAGE_CSP
                del headers["set-cookie"]
                del headers["etag"]
                del headers["last-modified"]
            await send(message)

        await self.app(scope, receive, send_with_headers)
