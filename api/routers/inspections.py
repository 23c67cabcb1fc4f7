from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from api.deps import CurrentUser, InspectorUser, SessionDep, SettingsDep
from api.schemas.common import Page
from api.schemas.inspections import InspectionIn, InspectionOut, inspection_json
from api.services import inspections as inspection_service

router = APIRouter(tags=["inspections"])


@router.put(
    "/inspections/{inspection_id}", response_model=InspectionOut, responses={201: {"model": InspectionOut}}
)
async def put_inspection(
    session: SessionDep,
    settings: SettingsDep,
    user: InspectorUser,
    inspection_id: uuid.UUID,
    body: InspectionIn,
) -> Response:
    inspection, created = await inspection_service.put_inspection(
        session, user, settings, inspection_id, body
    )
    return Response(
        inspection_json(inspection_service.inspection_dict(inspection)),
        status_code=201 if created else 200,
        media_type="application/json",
    )


@router.get("/inspections", response_model=Page[InspectionOut])
async def list_inspections(
    session: SessionDep,
    user: CurrentUser,
    venue_id: uuid.UUID | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[InspectionOut]:
    rows, next_cursor = await inspection_service.list_inspections(session, user, venue_id, limit, cursor)
    items = [InspectionOut(**inspection_service.inspection_dict(r)) for r in rows]
    return Page(items=items, next_cursor=next_cursor)


@router.get("/inspections/{inspection_id}", response_model=InspectionOut)
async def get_inspection(session: SessionDep, user: CurrentUser, inspection_id: uuid.UUID) -> InspectionOut:
    row = await inspection_service.get_inspection(session, user, inspection_id)
    return InspectionOut(**inspection_service.inspection_dict(row))
