"""The OpenAPI document says what every call can answer: each error status as application/problem+json
with one `Problem` schema, added in one place from what the call is (signed in or not, with a path id,
with a body, an upload) rather than written out on each route."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.errors import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; `code` is stable and meant for programs.",
    "required": ["type", "status", "title", "detail", "code"],
    "properties": {
        "type": {"type": "string", "example": "about:blank"},
        "status": {"type": "integer", "example": 409},
        "title": {"type": "string", "example": "Conflict"},
        "detail": {"type": "string", "example": "A finding that is closed cannot take 'rectify'."},
        "code": {"type": "string", "example": "finding_closed"},
        "errors": {
            "type": "array",
            "items": {"type": "object"},
            "description": "422: what was wrong with which field; import: the bad rows",
        },
        "retry_after": {"type": "integer", "description": "429: seconds to wait (also Retry-After)"},
        "status_now": {"type": "string", "description": "409 on a finding: the status it is in"},
    },
    "additionalProperties": True,
}

_DESCRIPTIONS = {
    401: "Not signed in, or the token is unknown, expired or revoked",
    403: "The role is too low or the area is outside one's own",
    404: "Unknown, or outside the caller's areas (the same answer)",
    409: "The id already holds something else, or the lifecycle forbids this change",
    413: "The body or the file is too large",
    415: "The file is not a supported image or table",
    422: "Invalid input (a NUL character anywhere is `invalid_characters`)",
    429: "Too many requests; wait `retry_after` seconds",
}

_THROTTLED = ("/auth/token", "/public/reports")


def _statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    statuses = {422}
    signed_in = bool(operation.get("security"))
    if signed_in:
        statuses |= {401, 403}
    if path.endswith("/auth/token"):
        statuses.add(401)
    if "{" in path:
        statuses.add(404)
    body = operation.get("requestBody", {}).get("content", {})
    if method in ("put", "post") and signed_in and not path.endswith("/auth/logout"):
        statuses.add(409)
    if body:
        statuses.add(413)  # every body has a size limit
    if "multipart/form-data" in body and (
        "/photos/" in path or path.endswith(("/import", "/public/reports"))
    ):
        statuses.add(415)
    if any(t in path for t in _THROTTLED):
        statuses.add(429)
    return statuses


def install_problem_responses(app: FastAPI, prefix: str) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = PROBLEM_SCHEMA
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith(prefix):
                continue
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status in sorted(_statuses(path, method, operation) | _declared_errors(responses)):
                    entry = responses.setdefault(str(status), {})
                    entry.setdefault("description", _DESCRIPTIONS.get(status, "Error"))
                    entry["content"] = problem
                    if status == 429:
                        entry["headers"] = {
                            "Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}
                        }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _declared_errors(responses: dict[str, Any]) -> set[int]:
    return {int(s) for s in responses if s.isdigit() and int(s) >= 400}
