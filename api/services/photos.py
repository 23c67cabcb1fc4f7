from __future__ import annotations

import hashlib
import math
import os
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
import anyio.to_thread
from fastapi import UploadFile
from sqlalchemy import ColumnElement, Table, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile as StarletteUploadFile

from api.config import Settings, server_processes
from api.errors import AppError, Conflict, NotFound, PayloadTooLarge, Unprocessable
from api.models import Photo
from api.services import direct
from api.services.auth import Principal
from api.services.imaging import PHONE_THUMBNAIL_MAX_BYTES, ImageRejected, ProcessedImage, process_image
from api.services.once import insert_once, insert_or_winner
from api.services.scope import in_scope
from api.storage import PhotoNotFound, PhotoStorage
from api.timeutil import utcnow

_CHUNK = 1 << 16
# Inspectors' photos take at most the process's share of the cores (one process per core is the default,
# so a burst of 12-megapixel uploads cannot starve the event loops of CPU, and decoders do not outnumber
# the cores they share); anonymous report photos have a pool of one of their own, so five hostile
# images in one public report never hold up an inspector's upload.
_IMAGE_THREADS = max(1, (os.cpu_count() or 1) // server_processes())
_decoders = threading.BoundedSemaphore(_IMAGE_THREADS)
# An inspector's upload holds its thread through the files' fsyncs too, which take no CPU but can take tens
# of milliseconds: only the decode counts against the cores (``_decoders``), or the disk's latency would cap
# the photos a process takes per second while its cores sit idle. This bounds the threads the uploads may
# hold at once, so a burst of them leaves the rest of the thread pool (photo reads, password checks) free.
_UPLOAD_THREADS = 4 * _IMAGE_THREADS
_limiters: dict[bool, anyio.CapacityLimiter] = {}

# Decoded pixels one photo may take in memory (at the scale it is decoded at: a large JPEG counts at
# its reduced DCT scale). An inspector's 16-megapixel RGBA PNG fits; a 7000x7000 one does not.
MAX_DECODED_BYTES = 64 * 2**20
# A public report photo: stricter in pixels and in memory (a 12-megapixel phone photo still fits).
REPORT_MAX_PIXELS = 40_000_000
REPORT_MAX_DECODED_BYTES = 48 * 2**20


def _limiter(public: bool = False) -> anyio.CapacityLimiter:
    limiter = _limiters.get(public)
    if limiter is None:  # made lazily: a limiter belongs to the running event loop
        limiter = _limiters[public] = anyio.CapacityLimiter(1 if public else _UPLOAD_THREADS)
    return limiter


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


async def read_phone_thumbnail(upload: StarletteUploadFile | str | None) -> bytes | None:
    """The phone's own thumbnail part, or None when there is none, it is not a file, or it is too large to
    be one (the server then makes the thumbnail itself: a thumbnail is never a reason to refuse a photo)."""
    # Starlette's class: FastAPI's own UploadFile subclasses it, and the form parser makes Starlette's.
    if not isinstance(upload, StarletteUploadFile) or (
        upload.size is not None and upload.size > PHONE_THUMBNAIL_MAX_BYTES
    ):
        return None
    data = await upload.read(PHONE_THUMBNAIL_MAX_BYTES + 1)
    return data if 0 < len(data) <= PHONE_THUMBNAIL_MAX_BYTES else None


def _process_sync(
    data: bytes, settings: Settings, public: bool, thumbnail: bytes | None = None
) -> ProcessedImage:
    return process_image(
        data,
        max_pixels=min(settings.max_image_pixels, REPORT_MAX_PIXELS) if public else settings.max_image_pixels,
        long_side=settings.photo_long_side,
        thumb_side=settings.thumbnail_long_side,
        draft_tolerance=settings.photo_draft_tolerance,
        max_decoded_bytes=REPORT_MAX_DECODED_BYTES if public else MAX_DECODED_BYTES,
        thumbnail=thumbnail,
    )


async def process(data: bytes, settings: Settings, *, public: bool = False) -> ProcessedImage:
    """Validates and cleans a photo in the image pool (a public report's photos: in their own)."""
    try:
        return await anyio.to_thread.run_sync(
            lambda: _process_sync(data, settings, public), limiter=_limiter(public)
        )
    except ImageRejected as exc:
        raise ImageError(exc.status, exc.code, exc.detail) from exc


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo made ready to store: all CPU work done, nothing written yet."""

    digest: str  # SHA-256 of the bytes as uploaded
    image: ProcessedImage


@dataclass(frozen=True)
class Evidence:
    """When and where the phone says the photo was taken (from the original's EXIF or the device's
    position at capture). Kept as reported evidence; never used to decide a period or a deadline."""

    captured_at: datetime | None = None
    lat: float | None = None
    lng: float | None = None
    accuracy_m: float | None = None


def parse_evidence(
    captured_at: str | None, lat: str | None, lng: str | None, accuracy_m: str | None
) -> Evidence | None:
    """The optional form fields of PUT /photos/{id}; 422 for anything that is not a time with its offset
    or a position on Earth."""
    fields = (captured_at, lat, lng, accuracy_m)
    if all(f is None or f.strip() == "" for f in fields):
        return None
    when = None
    if captured_at is not None and captured_at.strip():
        try:
            when = datetime.fromisoformat(captured_at.strip())
        except ValueError:
            when = None
        if when is None or when.tzinfo is None:
            raise Unprocessable(
                "captured_at must be an ISO 8601 time with its UTC offset, e.g. 2026-11-29T09:30:00+08:00.",
                code="invalid_captured_at",
            )
        when = when.astimezone(UTC)
    lat_v, lng_v, acc_v = _number(lat, "lat"), _number(lng, "lng"), _number(accuracy_m, "accuracy_m")
    if (lat_v is None) != (lng_v is None):
        raise Unprocessable("lat and lng come together.", code="invalid_position")
    if lat_v is not None and not -90 <= lat_v <= 90:
        raise Unprocessable("lat must be between -90 and 90.", code="invalid_position")
    if lng_v is not None and not -180 <= lng_v <= 180:
        raise Unprocessable("lng must be between -180 and 180.", code="invalid_position")
    if acc_v is not None and (acc_v < 0 or acc_v > 100_000 or lat_v is None):
        raise Unprocessable(
            "accuracy_m is a distance of 0 to 100000 metres, sent with lat and lng.", code="invalid_position"
        )
    return Evidence(when, lat_v, lng_v, acc_v)


def _number(value: str | None, name: str) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise Unprocessable(f"{name} must be a number.", code="invalid_position")
    return number


def _prepare(data: bytes, settings: Settings, thumbnail: bytes | None) -> PreparedPhoto:
    # Hash and image work in one trip to the pool.
    return PreparedPhoto(
        digest=hashlib.sha256(data).hexdigest(), image=_process_sync(data, settings, False, thumbnail)
    )


async def upload(
    session: AsyncSession,
    storage: PhotoStorage,
    settings: Settings,
    *,
    photo_id: uuid.UUID,
    data: bytes,
    user: Principal,
    evidence: Evidence | None = None,
    thumbnail: bytes | None = None,
) -> tuple[dict[str, Any], bool]:
    """PUT /photos/{id}: process, store the files, then one INSERT ... ON CONFLICT DO NOTHING decides
    exactly once. Returns (the photo as photo_dict, created).

    Nothing touches the database before the image work is done, so the request holds no connection
    (on SQLite: no write lock) while its photo is decoded. A retry does the image work again (its files
    are already stored, so nothing is written twice); retries are rare and this keeps the new photo,
    the common case, to one statement. ``thumbnail`` is the phone's own, used when it fits the photo
    (see imaging._phone_thumbnail); the sha256 and the exactly-once rule are the photo's alone.
    """
    # On a local disk the files are written in the same trip to the pool as the image work (one thread
    # hand-off less per photo); other storages are written after it, as any other awaitable.
    store_now = getattr(storage, "put_many_sync", None)

    def work() -> tuple[PreparedPhoto, list[str] | None]:
        with _decoders:
            ready = _prepare(data, settings, thumbnail)
        if store_now is None:
            return ready, None
        image = ready.image
        # A browser's JPEG has nothing to strip: stored as uploaded, its key is the digest already made.
        # (Bytes of different lengths compare at once; equal lengths by memcmp, not by another hash.)
        known = ready.digest if image.image == data else None
        return ready, store_now(image.image, image.thumbnail, keys=(known,))

    try:
        prepared, keys = await anyio.to_thread.run_sync(work, limiter=_limiter())
    except ImageRejected as exc:
        # Under a taken id, anything else is a conflict (or, out of sight, not found) before it is a
        # bad image: a retry never learns a different answer from a changed limit.
        if (taken := await _taken(session, user, photo_id)) is not None:
            _replay(taken, hashlib.sha256(data).hexdigest(), user.id)
        raise ImageError(exc.status, exc.code, exc.detail) from exc
    image = prepared.image
    file_key, thumbnail_key = keys if keys is not None else await _put_files(storage, image)
    # The phone's own report of time and place wins over the file's: the browser's re-compression has
    # usually dropped the EXIF, and the phone read it from the original.
    if evidence is not None:
        captured_at = evidence.captured_at or image.captured_at
        lat, lng, accuracy = (
            (evidence.lat, evidence.lng, evidence.accuracy_m)
            if evidence.lat is not None
            else (image.gps_lat, image.gps_lng, None)
        )
    else:
        captured_at, lat, lng, accuracy = image.captured_at, image.gps_lat, image.gps_lng, None
    row: dict[str, Any] = {
        "id": photo_id,
        "sha256": prepared.digest,
        "file_key": file_key,
        "thumbnail_key": thumbnail_key,
        "width": image.width,
        "height": image.height,
        "size_bytes": len(image.image),
        "purpose": "inspection",
        "captured_at": captured_at,
        "gps_lat": lat,
        "gps_lng": lng,
        "gps_accuracy_m": accuracy,
        "uploaded_by": user.id,
        "area_code": None,
        "created_at": utcnow(),
    }
    if await _insert_once(session, row):
        return _row_dict(row), True
    # Taken: a retry, a race with an identical upload, or someone else's id.
    taken = await _taken(session, user, photo_id)
    if taken is None:  # the winner of a race rolled back after all; the phone retries
        raise Conflict("This photo id is being written; try again.", code="photo_conflict")
    return photo_dict(_replay(taken, prepared.digest, user.id)), False


_PHOTOS: Table = Photo.__table__  # type: ignore[assignment]


async def _insert_once(session: AsyncSession, row: dict[str, Any]) -> bool:
    if direct.applies(session):
        return await direct.insert_row_once(session, _PHOTOS, row)
    return (await session.execute(insert_once(session, _PHOTOS), row)).first() is not None


async def _taken(session: AsyncSession, user: Principal, photo_id: uuid.UUID) -> Photo | None:
    """The photo stored under this id if the user may see it; 404 if it exists out of their sight."""
    photo = await session.scalar(select(Photo).where(Photo.id == photo_id, _visible_to(user)))
    if photo is None and await session.scalar(select(Photo.id).where(Photo.id == photo_id)) is not None:
        raise NotFound("No such photo.", code="photo_not_found")
    return photo


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


async def _put_files(storage: PhotoStorage, image: ProcessedImage) -> tuple[str, str]:
    # Files first (content-addressed: writing them again is harmless), so their fsyncs happen before the
    # transaction's first statement rather than inside it.
    put_many = getattr(storage, "put_many", None)
    if put_many is not None:
        file_key, thumbnail_key = await put_many(image.image, image.thumbnail)
        return str(file_key), str(thumbnail_key)
    return await storage.put(image.image), await storage.put(image.thumbnail)


def _replay(existing: Photo, digest: str, uploaded_by: uuid.UUID | None) -> Photo:
    if existing.sha256 != digest or existing.uploaded_by != uploaded_by:
        raise Conflict("This photo id already holds other bytes.", code="photo_conflict")
    return existing


def _visible_to(user: Principal) -> ColumnElement[bool]:
    visible = or_(Photo.uploaded_by == user.id, in_scope(user, Photo.area_code))
    if user.at_least("supervisor"):
        # Report photos belong to the town's report desk until triage gives them an area; from then on
        # the area decides, as for any other photo.
        visible = or_(visible, and_(Photo.purpose == "report", Photo.area_code.is_(None)))
    return visible


async def get_visible(session: AsyncSession, user: Principal, photo_id: uuid.UUID) -> Photo:
    photo = await session.scalar(select(Photo).where(Photo.id == photo_id, _visible_to(user)))
    if photo is None:
        raise NotFound("No such photo.", code="photo_not_found")
    return photo


async def read_file(storage: PhotoStorage, key: str) -> bytes:
    try:
        return await storage.get(key)
    except PhotoNotFound as exc:
        # The row exists but the file is gone (a restore without the photo volume): say so plainly.
        raise NotFound("The photo's file is missing from storage.", code="photo_file_missing") from exc


def photo_dict(photo: Photo) -> dict[str, Any]:
    return _row_dict({c: getattr(photo, c) for c in _REPLY_COLUMNS})


_REPLY_COLUMNS = ("id", "sha256", "width", "height", "captured_at", "gps_lat", "gps_lng", "gps_accuracy_m")


def _row_dict(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "sha256": row["sha256"],
        "width": row["width"],
        "height": row["height"],
        "url": f"/api/v1/photos/{row['id']}",
        "thumbnail_url": f"/api/v1/photos/{row['id']}/thumbnail",
        "captured_at": row["captured_at"],
        "lat": row["gps_lat"],
        "lng": row["gps_lng"],
        "accuracy_m": row["gps_accuracy_m"],
    }
