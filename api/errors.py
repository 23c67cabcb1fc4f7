from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

log = logging.getLogger("safegrid")

PROBLEM_JSON = "application/problem+json"


class AppError(Exception):
    """A failure the client can act on; rendered as RFC 9457 problem+json with a stable `code`."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"
    # True when what the request wrote so far must be committed although it fails (a failed sign-in
    # is counted for throttling and still answers 401).
    keep_changes: bool = False

    def __init__(
        self, detail: str | None = None, *, code: str | None = None, keep_changes: bool = False, **extra: Any
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.keep_changes = keep_changes
        if code:
            self.code = code
        self.extra = extra


class Unauthorized(AppError):
    status, code, title = 401, "unauthorized", "Not signed in"


class Forbidden(AppError):
    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(AppError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(AppError):
    status, code, title = 409, "conflict", "Conflict"


class PayloadTooLarge(AppError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class UnsupportedMediaType(AppError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class Unprocessable(AppError):
    status, code, title = 422, "validation_error", "Invalid request"


class TooManyRequests(AppError):
    status, code, title = 429, "rate_limited", "Too many requests"


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "status": status, "title": title, "detail": detail, "code": code, **extra}
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_HTTP_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthorized", "Not signed in"),
    403: ("forbidden", "Not allowed"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
}


def _parse_failure(exc: BaseException) -> BaseException | None:
    """The first body-size or multipart failure behind an exception, if any."""
    seen = exc.__cause__ or exc.__context__
    while seen is not None:
        if isinstance(seen, MultiPartException) or type(seen).__name__ in ("_BodyTooLarge", "NulInRequest"):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        response = problem(exc.status, exc.code, exc.title, exc.detail, **exc.extra)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        detail = f"{'.'.join(first['loc'])}: {first['msg']}" if first["loc"] else str(first["msg"])
        return problem(422, "validation_error", "Invalid request", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI reports any failure while parsing a form as 400; say what really happened.
        cause = _parse_failure(exc)
        if type(cause).__name__ == "_BodyTooLarge":
            return problem(413, "payload_too_large", "Payload too large", "The request body is too large.")
        if type(cause).__name__ == "NulInRequest":
            detail = "Text may not contain the NUL character (U+0000)."
            return problem(422, "invalid_characters", "Invalid request", detail)
        if isinstance(cause, MultiPartException):
            return problem(
                422, "invalid_form", "Invalid request", f"The form cannot be read: {cause.message}"
            )
        code, title = _HTTP_CODES.get(exc.status_code, ("http_error", "HTTP error"))
        response = problem(exc.status_code, code, title, str(exc.detail) if exc.detail else title)
        for k, v in (exc.headers or {}).items():
            response.headers[k] = v
        return response

    @app.exception_handler(Exception)
    async def _unhandled(_request: Request, exc: Exception) -> JSONResponse:
        # Logged without the request: public requests must leave no trace of who sent them.
        log.exception("unhandled error: %s", type(exc).__name__)
        return problem(500, "internal_error", "Internal error", "An unexpected error occurred.")
