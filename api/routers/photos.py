from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile
from fastapi.responses import FileResponse

from api.deps import CurrentUser, InspectorUser, SessionDep, SettingsDep, StorageDep
from api.schemas.photos import PhotoOut, photo_json
from api.services import photos as photo_service

router = APIRouter(tags=["photos"])

# Evidence photos are private to signed-in users; caches in between must not keep them.
PHOTO_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=31536000, immutable"}


@router.put("/photos/{photo_id}", response_model=PhotoOut, responses={201: {"model": PhotoOut}})
async def put_photo(
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    user: InspectorUser,
    photo_id: uuid.UUID,
    file: Annotated[UploadFile, File()],
    captured_at: Annotated[
        str | None, Form(max_length=64, description="when it was taken, ISO 8601 with offset")
    ] = None,
    lat: Annotated[str | None, Form(max_length=32, description="where it was taken")] = None,
    lng: Annotated[str | None, Form(max_length=32)] = None,
    accuracy_m: Annotated[str | None, Form(max_length=32, description="of lat/lng, in metres")] = None,
    thumbnail: Annotated[
        UploadFile | str | None,
        File(
            description="the phone's own JPEG thumbnail of the photo (long side 320 px); kept instead of "
            "decoding the photo when it fits, ignored otherwise"
        ),
    ] = None,
) -> Response:
    evidence = photo_service.parse_evidence(captured_at, lat, lng, accuracy_m)
    data = await photo_service.read_limited(file, settings.max_upload_bytes)
    photo, created = await photo_service.upload(
        session,
        storage,
        settings,
        photo_id=photo_id,
        data=data,
        user=user,
        evidence=evidence,
        thumbnail=await photo_service.read_phone_thumbnail(thumbnail),
    )
    return Response(photo_json(photo), status_code=201 if created else 200, media_type="application/json")


async def _serve(
    session: SessionDep, storage: StorageDep, user: CurrentUser, photo_id: uuid.UUID, thumbnail: bool
) -> Response:
    photo = await photo_service.get_visible(session, user, photo_id)
    key = photo.thumbnail_key if thumbnail else photo.file_key
    path = storage.local_path(key)
    if path is not None and await storage.exists(key):
        # Sent from the file in chunks, never read whole into memory.
        return FileResponse(path, media_type="image/jpeg", headers=PHOTO_HEADERS)
    data = await photo_service.read_file(storage, key)
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
async def get_photo_meta(session: SessionDep, user: CurrentUser, photo_id: uuid.UUID) -> Response:
    photo = await photo_service.get_visible(session, user, photo_id)
    return Response(photo_json(photo_service.photo_dict(photo)), media_type="application/json")
