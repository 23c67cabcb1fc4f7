from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile

from api.deps import InspectorUser, SessionDep, SettingsDep, SupervisorUser
from api.schemas.common import Page, QueryBool
from api.schemas.venues import ImportResult, VenueIn, VenueOut
from api.services import schedules, venue_import
from api.services import venues as venue_service
from api.services.photos import read_limited

router = APIRouter(tags=["venues"])


@router.put("/venues/{venue_id}", response_model=VenueOut, responses={201: {"model": VenueOut}})
async def put_venue(
    session: SessionDep,
    settings: SettingsDep,
    user: InspectorUser,
    venue_id: uuid.UUID,
    body: VenueIn,
    response: Response,
) -> VenueOut:
    venue, created = await venue_service.put_venue(session, user, venue_id, body.model_dump(exclude={"id"}))
    response.status_code = 201 if created else 200
    stats = await venue_service.venue_stats(session, venue.id)
    return VenueOut(**venue_service.venue_dict(venue, *stats, schedule=schedules.for_settings(settings)))


@router.get("/venues", response_model=Page[VenueOut])
async def list_venues(
    session: SessionDep,
    settings: SettingsDep,
    user: InspectorUser,
    q: Annotated[str | None, Query(max_length=100)] = None,
    kind: str | None = None,
    area: str | None = None,
    risk_level: str | None = None,
    due: QueryBool = False,
    within_days: Annotated[int, Query(ge=0, le=3660)] = 0,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[VenueOut]:
    """`due=true`: only venues whose next inspection is due today or within `within_days` days (by the
    schedule in api/reference/schedules.yaml; never inspected counts as due)."""
    filters = venue_service.VenueFilters(
        q=q, kind=kind, area=area, risk_level=risk_level, due=due, within_days=within_days
    )
    schedule = schedules.for_settings(settings)
    rows, next_cursor = await venue_service.list_venues(session, user, filters, limit, cursor, schedule)
    items = [
        VenueOut(**venue_service.venue_dict(*row, schedule=schedule, within_days=within_days)) for row in rows
    ]
    return Page(items=items, next_cursor=next_cursor)


@router.get("/venues/{venue_id}", response_model=VenueOut)
async def get_venue(
    session: SessionDep, settings: SettingsDep, user: InspectorUser, venue_id: uuid.UUID
) -> VenueOut:
    venue = await venue_service.get_venue(session, user, venue_id)
    stats = await venue_service.venue_stats(session, venue.id)
    return VenueOut(**venue_service.venue_dict(venue, *stats, schedule=schedules.for_settings(settings)))


@router.post("/venues/import", response_model=ImportResult)
async def import_venues(
    session: SessionDep, settings: SettingsDep, user: SupervisorUser, file: Annotated[UploadFile, File()]
) -> ImportResult:
    data = await read_limited(file, settings.max_upload_bytes)
    return await venue_import.import_file(session, user, data, file.filename or "")
