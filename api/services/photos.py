from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import anyio
import anyio.to_thread
from fastapi import UploadFile
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.config import Settings
from api.errors import AppError, Conflict, NotFound, PayloadTooLarge, Unprocessable
from api.models import Photo
from api.services.auth import Principal
from api.services.imaging import ImageRejected, ProcessedImage, process_image
from api.services.once import insert_or_winner
from api.services.scope import in_scope
from api.storage import PhotoNotFound, PhotoStorage

_CHUNK = 1 << 16
# Image work takes at most this many threads, so on a small server a burst of 12-megapixel uploads
# cannot starve the event loop (and every other request) of CPU.
_image_limiter: anyio.CapacityLimiter | None = None


def _limiter() -> anyio.CapacityLimiter:
    global _image_limiter
    if _image_limiter is None:  # made lazily: a limiter belongs to the running event loop
        _image_limiter = anyio.CapacityLimiter(1)
    return _image_limiter


class ImageError(AppError):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail, code=code)
        self.status = status
        self.title = {413: "Payload too large", 415: "Unsupported media type"}.get(status, "Invalid image")


async def read_limited(upload: UploadFile, limit: int) -> bytes:
    """Reads an upload, refusing it as soon as it passes the limit rather than after holding it whole."""
    if upload.size is not None and upload.size > limit:
        raise PayloadTooLarge(f"The file is larger than {limit // (1024 * 1024)} MB.", code="file_too_large")
    chunks, total = [], 0
    while chunk := await upload.read(_CHUNK):
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge(
                f"The file is larger than {limit // (1024 * 1024)} MB.", code="file_too_large"
            )
        chunks.append(chunk)
    if total == 0:
        raise Unprocessable("The file is empty.", code="empty_file")
    return b"".join(chunks)


async def process(data: bytes, settings: Settings) -> ProcessedImage:
    try:
        return await anyio.to_thread.run_sync(
            lambda: process_image(
                data,
                max_pixels=settings.max_image_pixels,
                long_side=settings.photo_long_side,
                thumb_side=settings.thumbnail_long_side,
                draft_tolerance=settings.photo_draft_tolerance,
            ),
            limiter=_limiter(),
        )
    except ImageRejected as exc:
        raise ImageError(exc.status, exc.code, exc.detail) from exc


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo made ready to store: all CPU work done, nothing written yet."""

    digest: str  # SHA-256 of the bytes as uploaded
    image: ProcessedImage


async def upload(
    session: AsyncSession,
    peek: async_sessionmaker[AsyncSession],
    storage: PhotoStorage,
    settings: Settings,
    *,
    photo_id: uuid.UUID,
    data: bytes,
    uploaded_by: uuid.UUID | None,
) -> tuple[Photo, bool]:
    """PUT /photos/{id}: a retry of a stored photo (the phone's outbox) is answered from a short read of
    its own, without decoding the image again; a new one is processed, then saved."""
    digest = await anyio.to_thread.run_sync(lambda: hashlib.sha256(data).hexdigest())
    async with peek() as short:
        existing = await short.get(Photo, photo_id)
    if existing is not None:
        return _replay(existing, digest, uploaded_by), False
    prepared = PreparedPhoto(digest=digest, image=await process(data, settings))
    return await save(
        session, storage, photo_id=photo_id, prepared=prepared, uploaded_by=uploaded_by, purpose="inspection"
    )


async def save(
    session: AsyncSession,
    storage: PhotoStorage,
    *,
    photo_id: uuid.UUID,
    prepared: PreparedPhoto,
    uploaded_by: uuid.UUID | None,
    purpose: str,
) -> tuple[Photo, bool]:
    """Stores a prepared photo under the client's id. Returns (photo, created); the same bytes again
    are a retry, other bytes under the same id a conflict."""
    image = prepared.image
    # Files first (content-addressed: writing them again is harmless), so their fsyncs happen before the
    # transaction's first statement rather than inside it.
    file_key = await storage.put(image.image)
    thumbnail_key = await storage.put(image.thumbnail)
    existing = await session.get(Photo, photo_id)
    if existing is not None:
        return _replay(existing, prepared.digest, uploaded_by), False
    keep_evidence = purpose == "inspection"
    photo = Photo(
        id=photo_id,
        sha256=prepared.digest,
        file_key=file_key,
        thumbnail_key=thumbnail_key,
        width=image.width,
        height=image.height,
        size_bytes=len(image.image),
        purpose=purpose,
        # An inspector's photo keeps when and where it was taken (evidence); a public one keeps nothing.
        captured_at=image.captured_at if keep_evidence else None,
        gps_lat=image.gps_lat if keep_evidence else None,
        gps_lng=image.gps_lng if keep_evidence else None,
        uploaded_by=uploaded_by,
    )
    photo, inserted = await insert_or_winner(session, photo)
    if not inserted:  # the same photo was sent twice at once
        return _replay(photo, prepared.digest, uploaded_by), False
    return photo, True


def _replay(existing: Photo, digest: str, uploaded_by: uuid.UUID | None) -> Photo:
    if existing.sha256 != digest or existing.uploaded_by != uploaded_by:
        raise Conflict("This photo id already holds other bytes.", code="photo_conflict")
    return existing


async def get_visible(session: AsyncSession, user: Principal, photo_id: uuid.UUID) -> Photo:
    visible = or_(Photo.uploaded_by == user.id, in_scope(user, Photo.area_code))
    if user.at_least("supervisor"):
        # Report photos belong to the town's report desk until triage gives them an area; from then on
        # the area decides, as for any other photo.
        visible = or_(visible, and_(Photo.purpose == "report", Photo.area_code.is_(None)))
    photo = await session.scalar(select(Photo).where(Photo.id == photo_id, visible))
    if photo is None:
        raise NotFound("No such photo.", code="photo_not_found")
    return photo


async def read_file(storage: PhotoStorage, key: str) -> bytes:
    try:
        return await storage.get(key)
    except PhotoNotFound as exc:
        # The row exists but the file is gone (a restore without the photo volume): say so plainly.
        raise NotFound("The photo's file is missing from storage.", code="photo_file_missing") from exc


def photo_dict(photo: Photo) -> dict[str, object]:
    return {
        "id": photo.id,
        "sha256": photo.sha256,
        "width": photo.width,
        "height": photo.height,
        "url": f"/api/v1/photos/{photo.id}",
        "thumbnail_url": f"/api/v1/photos/{photo.id}/thumbnail",
        "captured_at": photo.captured_at,
        "lat": photo.gps_lat,
        "lng": photo.gps_lng,
    }
