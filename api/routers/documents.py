"""The paper: 整改通知书 and 现场检查记录 as PDF, in scope like the records they print."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from api.deps import CurrentUser, SessionDep, SettingsDep, StorageDep
from api.routers.files import PDF, file_response
from api.services import documents

router = APIRouter(tags=["documents"])

_PDF = {200: {"content": {PDF: {}}, "description": "the document as PDF (A4)"}}


def _pdf(data: bytes, ascii_name: str, filename: str) -> Response:
    return file_response(data, PDF, f"{ascii_name}.pdf", f"{filename}.pdf", disposition="inline")


@router.get("/findings/{finding_id}/notice.pdf", response_class=Response, responses=_PDF)  # type: ignore[arg-type]
async def finding_notice(
    session: SessionDep, user: CurrentUser, settings: SettingsDep, storage: StorageDep, finding_id: uuid.UUID
) -> Response:
    """整改通知书 of the finding (with the other live findings of the same inspection)."""
    data, serial = await documents.finding_notice(session, user, storage, settings, finding_id)
    return _pdf(data, f"notice-{serial}", f"整改通知书-{serial}")


@router.get("/inspections/{inspection_id}/record.pdf", response_class=Response, responses=_PDF)  # type: ignore[arg-type]
async def inspection_record(
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    storage: StorageDep,
    inspection_id: uuid.UUID,
) -> Response:
    """现场检查记录 of the inspection: every answer, notes and photos."""
    data, serial = await documents.inspection_record(session, user, storage, settings, inspection_id)
    return _pdf(data, f"record-{serial}", f"现场检查记录-{serial}")
