"""Replies that are files (workbooks, printed documents): one way to name them and keep them private."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


def file_response(
    data: bytes, media_type: str, ascii_name: str, filename: str, disposition: str = "attachment"
) -> Response:
    """`ascii_name` for old clients, `filename` (Chinese, with its extension) for the rest. Owners' names
    and phones are in these files: no shared cache may keep them."""
    return Response(
        content=data,
        media_type=media_type,
        headers={
            "Content-Disposition": (
                f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
            ),
            "Cache-Control": "private, no-store",
        },
    )
