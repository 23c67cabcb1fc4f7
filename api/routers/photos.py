from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile

from api.deps import CurrentUser, InspectorUser, ReadSessionmakerDep, SessionDep, SettingsDep, StorageDep
from api.schemas.photos import PhotoOut
from api.services import photos as photo_service

router = APIRouter(tags=["photos"])

# Evidence photos are private to signed-in users; caches in between must not keep them.
PHOTO_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=31536000, immutable"}


@router.put("/photos/{photo_id}", response_model=PhotoOut, responses={201: {"model": PhotoOut}})
async def put_photo(
    session: SessionDep,
    peek: ReadSessionmakerDep,
    settings: SettingsDep,
    storage: StorageDep,
    user: InspectorUser,
    photo_id: uuid.UUID,
    file: Annotated[UploadFile, File()],
    response: Response,
) -> PhotoOut:
    data = await photo_service.read_limited(file, settings.max_upload_bytes)
    photo, created = await photo_service.upload(
        session, peek, storage, settings, photo_id=photo_id, data=data, uploaded_by=user.id
    )
    response.status_code = 201 if created else 200
    return PhotoOut(**photo_service.photo_dict(photo))


async def _serve(
    session: SessionDep, storage: StorageDep, user: CurrentUser, photo_id: uuid.UUID, thumbnail: bool
) -> Response:
    photo = await photo_service.get_visible(session, user, photo_id)
    data = await photo_service.read_file(storage, photo.thumbnail_key if thumbnail else photo.file_key)
    return Response(content=data, media_type="image/jpeg", headers=PHOTO_HEADERS)


@router.get("/photos/{photo_id}", response_class=Response, responses={200: {"content": {"image/jpeg": {}}}})
async def get_photo(
    session: SessionDep, storage: StorageDep, user: CurrentUser, photo_id: uuid.UUID
) -> Response:
    return await _serve(session, storage, user, photo_id, thumbnail=False)


@router.get(
    "/photos/{photo_id}/thumbnail", response_class=Response, responses={200: {"content": {"image/jpeg": {}}}}
)
async def get_thumbnail(
    session: SessionDep, storage: StorageDep, user: CurrentUser, photo_id: uuid.UUID
) -> Response:
    return await _serve(session, storage, user, photo_id, thumbnail=True)


@router.get("/photos/{photo_id}/meta", response_model=PhotoOut)
async def get_photo_meta(session: SessionDep, user: CurrentUser, photo_id: uuid.UUID) -> PhotoOut:
    photo = await photo_service.get_visible(session, user, photo_id)
    return PhotoOut(**photo_service.photo_dict(photo))
