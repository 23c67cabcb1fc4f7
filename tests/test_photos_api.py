"""PUT/GET /photos through the API: idempotency and races, hostile uploads, formats, metadata stripping,
evidence metadata and the headers photos are served with."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import struct
import threading
import uuid
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pillow_heif
import pytest
from PIL import Image, ImageCms, PngImagePlugin
from sqlalchemy import func, select

from api.app import create_app
from api.migrations import migrate
from api.models import Photo
from tests.conftest import Env, make_settings
from tests.helpers import (
    API,
    GENERAL_ITEM,
    assert_problem,
    fail,
    gps_exif,
    inspection_body,
    jpeg_segments,
    make_jpeg,
    make_png,
    new_id,
    put_inspection,
    put_photo,
)

pillow_heif.register_heif_opener()

A = "inspector_baiyun"
SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="SecretTool"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


async def upload(
    env: Env,
    data: bytes,
    photo_id: str | None = None,
    user: str = A,
    name: str = "p.jpg",
    ctype: str = "image/jpeg",
) -> httpx.Response:
    return await env.client.put(
        f"{API}/photos/{photo_id or new_id()}", files={"file": (name, data, ctype)}, headers=env.auth(user)
    )


async def fetch(env: Env, photo_id: str, thumbnail: bool = False, user: str = A) -> httpx.Response:
    path = f"{API}/photos/{photo_id}" + ("/thumbnail" if thumbnail else "")
    r = await env.client.get(path, headers=env.auth(user))
    assert r.status_code == 200, r.text
    return r


async def still_fine(env: Env, photo_id: str | None = None) -> None:
    """After a hostile upload the server answers, accepts a good photo (under the same id), and serves it."""
    assert (await env.client.get(f"{API}/health")).status_code == 200
    pid = photo_id or new_id()
    r = await upload(env, make_jpeg(), pid)
    assert r.status_code == 201, r.text
    assert (await fetch(env, pid)).content[:2] == b"\xff\xd8"


def assert_clean_jpeg(data: bytes) -> Image.Image:
    """A valid JPEG with no metadata at all: no APP1..APP15 or COM segment, nothing after EOI."""
    markers = jpeg_segments(data)
    assert not [m for m in markers if 0xE1 <= m <= 0xEF or m == 0xFE], [hex(m) for m in markers]
    assert data.endswith(b"\xff\xd9")
    for needle in (b"Exif\x00\x00", b"http://ns.adobe.com/xap", b"ICC_PROFILE", b"TestPhone", b"SecretTool"):
        assert needle not in data, needle
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG"
    for key in ("exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment", "photoshop"):
        assert key not in img.info, key
    assert len(img.getexif()) == 0
    img.load()
    return img


# --------------------------------------------------------------------------- idempotency


async def test_put_stores_and_replies(env: Env) -> None:
    data = make_jpeg(120, 80)
    pid = new_id()
    r = await upload(env, data, pid)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"] == pid
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert (body["width"], body["height"]) == (120, 80)
    assert body["url"] == f"/api/v1/photos/{pid}"
    assert body["thumbnail_url"] == f"/api/v1/photos/{pid}/thumbnail"
    served = (await fetch(env, pid)).content
    assert Image.open(io.BytesIO(served)).size == (120, 80)


@pytest.mark.parametrize("has_metadata", [False, True], ids=["as_a_browser_sends_it", "with_exif"])
async def test_stored_files_are_named_by_the_sha256_of_their_bytes(env: Env, has_metadata: bool) -> None:
    """Content addressing holds whether the stored photo is the upload itself (its key is then the
    upload's digest, not hashed twice) or the upload with its metadata stripped."""
    data = make_jpeg(120, 80, exif=gps_exif(29.5, 106.5) if has_metadata else None)
    pid = new_id()
    r = await upload(env, data, pid)
    assert r.status_code == 201, r.text
    async with env.app.state.sessionmaker() as s:
        photo = await s.get(Photo, uuid.UUID(pid))
    assert photo is not None
    storage = env.app.state.storage
    stored = (await storage.get(photo.file_key), await storage.get(photo.thumbnail_key))
    assert photo.file_key == hashlib.sha256(stored[0]).hexdigest()
    assert photo.thumbnail_key == hashlib.sha256(stored[1]).hexdigest()
    assert (stored[0] == data) is (not has_metadata)
    assert (photo.file_key == r.json()["sha256"]) is (not has_metadata)


async def test_same_bytes_again_is_200_other_bytes_409(env: Env) -> None:
    data = make_jpeg()
    pid = new_id()
    first = await upload(env, data, pid)
    assert first.status_code == 201
    again = await upload(env, data, pid, name="renamed.jpeg", ctype="application/octet-stream")
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert_problem(await upload(env, make_jpeg(), pid), 409, "photo_conflict")
    # Other bytes under a stored id are a conflict, whatever they are: the id is checked before decoding.
    assert_problem(await upload(env, b"not an image at all", pid), 409, "photo_conflict")
    # The same bytes from someone else under this id are not a retry either; who may not see the photo
    # (not yet attached to a record, it is its uploader's alone) is answered as a GET would answer.
    r = await env.client.get(f"{API}/photos/{pid}", headers=env.auth("inspector_baiyun2"))
    assert_problem(r, 404, "photo_not_found")
    assert_problem(await upload(env, data, pid, user="inspector_baiyun2"), 404, "photo_not_found")
    assert (await fetch(env, pid)).content == (await fetch(env, pid)).content


@pytest.mark.parametrize("copies", [2, 3])
async def test_racing_identical_puts_store_one_photo(env: Env, copies: int) -> None:
    data = make_jpeg(200, 150)
    pid = new_id()
    rs = await asyncio.gather(*(upload(env, data, pid) for _ in range(copies)))
    assert sorted(r.status_code for r in rs) == [200] * (copies - 1) + [201], [r.text for r in rs]
    assert all(r.json() == rs[0].json() for r in rs)
    async with await env.session() as s:
        assert await s.scalar(select(func.count()).where(Photo.id == uuid.UUID(pid))) == 1


async def test_racing_different_bytes_one_wins(env: Env) -> None:
    pid = new_id()
    rs = await asyncio.gather(upload(env, make_jpeg(), pid), upload(env, make_jpeg(), pid))
    assert sorted(r.status_code for r in rs) == [201, 409], [r.text for r in rs]
    winner = next(r for r in rs if r.status_code == 201).json()
    assert (await env.client.get(f"{API}/photos/{pid}/meta", headers=env.auth(A))).json() == winner


# --------------------------------------------------------------------------- hostile uploads


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims an enormous image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def real_png_bomb() -> bytes:
    """A PNG that really decompresses to 64 megapixels (about 60 KB on the wire)."""
    buf = io.BytesIO()
    Image.new("L", (8000, 8000)).save(buf, "PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def jpeg_bomb() -> bytes:
    """A real small JPEG whose SOF0 header is patched to claim 60000×60000 pixels."""
    data = bytearray(make_jpeg(16, 16, seed=1))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60000, 60000)
    return bytes(data)


HOSTILE = {
    "text": (b"this is not an image at all\n" * 20, 415, None),
    "html": (b"<html><script>alert(1)</script></html>", 415, None),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 415, None),
    "gif": (b"GIF89a" + b"\x00" * 64, 415, None),
    "pdf": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"0" * 64, 415, None),
    "empty": (b"", 422, "empty_file"),
    "truncated_jpeg": (make_jpeg(256, 256, seed=2)[:3000], 422, "invalid_image"),
    "jpeg_magic_only": (b"\xff\xd8\xff\xe0" + b"\x00" * 200, 422, "invalid_image"),
    "truncated_png": (make_png(128, 128, seed=3)[:2000], 422, "invalid_image"),
    "png_header_bomb": (png_bomb(), 413, None),
    "jpeg_header_bomb": (jpeg_bomb(), 413, None),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
async def test_hostile_upload(env: Env, kind: str) -> None:
    data, status, code = HOSTILE[kind]
    pid = new_id()
    r = await upload(env, data, pid)
    assert_problem(r, status, code)
    async with await env.session() as s:
        assert await s.get(Photo, uuid.UUID(pid)) is None
    await still_fine(env, pid)


async def test_real_decompression_bomb(env: Env) -> None:
    bomb = real_png_bomb()
    assert len(bomb) < 200_000
    r = await upload(env, bomb)
    body = assert_problem(r, r.status_code)
    assert r.status_code in (413, 415, 422)
    assert r.status_code == 413 and body["code"] == "image_too_large"
    await still_fine(env)


async def test_a_body_over_20_mb_is_413(env: Env) -> None:
    assert env.settings.max_upload_bytes == 20 * 1024 * 1024
    data = b"\xff\xd8\xff\xe0" + b"\x00" * (21 * 1024 * 1024)
    assert_problem(await upload(env, data), 413)
    await still_fine(env)


@pytest.fixture(scope="module")
async def small_app(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """An app on its own SQLite database that accepts uploads of at most 100 kB."""
    from api.db import create_engine, create_sessionmaker
    from api.services.areas import upsert_area
    from api.services.auth import create_user

    tmp: Path = tmp_path_factory.mktemp("small_uploads")
    settings = make_settings(tmp, None, max_upload_bytes=100_000)
    await migrate(settings)
    engine = create_engine(settings)
    async with create_sessionmaker(engine)() as s:
        await upsert_area(s, "town", "云岭镇", None, "town")
        await create_user(
            s, username="small", password="small-password-1", role="inspector", area_codes=["town"]
        )
        await s.commit()
    await engine.dispose()
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            r = await client.post(
                f"{API}/auth/token", data={"username": "small", "password": "small-password-1"}
            )
            assert r.status_code == 200, r.text
            yield client, {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.mark.parametrize("size", [100_001, 250_000, 2_000_000])
async def test_over_the_configured_size_limit(
    small_app: tuple[httpx.AsyncClient, dict[str, str]], size: int
) -> None:
    client, h = small_app
    # A real JPEG padded after EOI, so only its size is wrong.
    data = make_jpeg(32, 32, seed=4)
    data += b"\x00" * (size - len(data))
    r = await client.put(f"{API}/photos/{new_id()}", files={"file": ("p.jpg", data, "image/jpeg")}, headers=h)
    assert_problem(r, 413)
    ok = await client.put(
        f"{API}/photos/{new_id()}", files={"file": ("p.jpg", make_jpeg(), "image/jpeg")}, headers=h
    )
    assert ok.status_code == 201, ok.text


async def test_just_under_the_configured_size_limit(
    small_app: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    client, h = small_app
    data = make_jpeg(32, 32, seed=5)
    data += b"\x00" * (100_000 - len(data))
    r = await client.put(f"{API}/photos/{new_id()}", files={"file": ("p.jpg", data, "image/jpeg")}, headers=h)
    assert r.status_code == 201, r.text
    stored = (await client.get(r.json()["url"], headers=h)).content
    assert_clean_jpeg(stored)  # the padding after EOI is gone
    assert len(stored) < 50_000


# --------------------------------------------------------------------------- formats


async def test_heic(env: Env) -> None:
    img = Image.new("RGB", (96, 64), (30, 140, 60))
    buf = io.BytesIO()
    img.save(buf, format="HEIF", quality=80, exif=gps_exif(29.5, 106.5).tobytes())
    r = await upload(env, buf.getvalue(), name="IMG_0001.HEIC", ctype="image/heic")
    assert r.status_code == 201, r.text
    assert (r.json()["width"], r.json()["height"]) == (96, 64)
    stored = assert_clean_jpeg((await fetch(env, r.json()["id"])).content)
    assert stored.size == (96, 64)
    r_, g, b = stored.convert("RGB").getpixel((48, 32))
    assert abs(r_ - 30) < 20 and abs(g - 140) < 20 and abs(b - 60) < 20
    assert r.json()["lat"] == pytest.approx(29.5, abs=1e-4)


async def test_png_with_alpha_is_flattened_on_white(env: Env) -> None:
    img = Image.new("RGBA", (50, 40), (255, 0, 0, 0))  # fully transparent red
    img.paste((0, 0, 255, 255), (0, 0, 25, 40))  # left half opaque blue
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "TestPhone secret")
    buf = io.BytesIO()
    img.save(buf, "PNG", pnginfo=info, icc_profile=SRGB_ICC)
    r = await upload(env, buf.getvalue(), name="a.png", ctype="image/png")
    assert r.status_code == 201, r.text
    stored = assert_clean_jpeg((await fetch(env, r.json()["id"])).content)
    assert stored.mode == "RGB"
    assert stored.size == (50, 40)
    right = stored.getpixel((40, 20))
    left = stored.getpixel((10, 20))
    assert all(c > 235 for c in right), right
    assert left[2] > 200 and left[0] < 40, left


async def test_cmyk_jpeg_becomes_rgb(env: Env) -> None:
    img = Image.new("CMYK", (64, 48), (0, 255, 255, 0))  # red in CMYK
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95)
    r = await upload(env, buf.getvalue())
    assert r.status_code == 201, r.text
    stored = assert_clean_jpeg((await fetch(env, r.json()["id"])).content)
    assert stored.mode in ("RGB", "L") and stored.mode == "RGB"
    red, green, blue = stored.getpixel((32, 24))
    assert red > 200 and green < 60 and blue < 60, (red, green, blue)


@pytest.mark.parametrize(
    ("orientation", "size"), [(1, (64, 48)), (3, (64, 48)), (6, (48, 64)), (8, (48, 64))]
)
async def test_exif_rotation_is_applied(env: Env, orientation: int, size: tuple[int, int]) -> None:
    img = Image.new("RGB", (64, 48), (255, 255, 255))
    img.paste((0, 0, 0), (0, 0, 16, 12))  # a dark top-left corner as stored
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, exif=gps_exif(31.4, 109.6, orientation=orientation))
    r = await upload(env, buf.getvalue())
    assert r.status_code == 201, r.text
    assert (r.json()["width"], r.json()["height"]) == size
    stored = assert_clean_jpeg((await fetch(env, r.json()["id"])).content)
    assert stored.size == size
    # The dark corner lands where the orientation puts it; the displayed image is upright.
    corner = {1: (2, 2), 3: (61, 45), 6: (45, 2), 8: (2, 61)}[orientation]
    assert stored.convert("L").getpixel(corner) < 60
    thumb = Image.open(io.BytesIO((await fetch(env, r.json()["id"], thumbnail=True)).content))
    assert thumb.size == size


async def test_large_photo_is_downscaled_and_thumbnailed(env: Env) -> None:
    img = Image.linear_gradient("L").resize((3000, 2000)).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    r = await upload(env, buf.getvalue())
    assert r.status_code == 201, r.text
    long_side = env.settings.photo_long_side
    assert max(r.json()["width"], r.json()["height"]) == long_side
    stored = assert_clean_jpeg((await fetch(env, r.json()["id"])).content)
    assert stored.size == (r.json()["width"], r.json()["height"])
    thumb = assert_clean_jpeg((await fetch(env, r.json()["id"], thumbnail=True)).content)
    assert max(thumb.size) == env.settings.thumbnail_long_side
    assert thumb.size[0] > thumb.size[1]


# --------------------------------------------------------------------------- metadata


def loaded_jpeg(orientation: int | None = None) -> bytes:
    """A JPEG carrying EXIF (with GPS), XMP, an ICC profile, a comment and bytes after EOI."""
    data = make_jpeg(
        80,
        60,
        exif=gps_exif(31.4012, 109.6321, "2026:11:20 14:30:05", orientation=orientation),
        icc_profile=SRGB_ICC,
        comment=b"TestPhone comment",
        xmp=XMP,
    )
    markers = jpeg_segments(data)
    assert {0xE1, 0xE2, 0xFE} <= set(markers)
    return data + b"TestPhone trailing bytes"


@pytest.mark.parametrize("orientation", [None, 6], ids=["fast-path", "re-encoded"])
async def test_stored_photo_and_thumbnail_carry_no_metadata(env: Env, orientation: int | None) -> None:
    r = await upload(env, loaded_jpeg(orientation))
    assert r.status_code == 201, r.text
    for thumbnail in (False, True):
        assert_clean_jpeg((await fetch(env, r.json()["id"], thumbnail=thumbnail)).content)


async def test_capture_time_and_gps_are_kept_as_fields(env: Env) -> None:
    r = await upload(env, loaded_jpeg())
    assert r.status_code == 201, r.text
    body = r.json()
    # DateTimeOriginal has no offset: it is the phone's local time, Asia/Shanghai.
    assert body["captured_at"] == "2026-11-20T06:30:05+00:00"
    assert body["lat"] == pytest.approx(31.4012, abs=1e-5)
    assert body["lng"] == pytest.approx(109.6321, abs=1e-5)
    meta = await env.client.get(f"{API}/photos/{body['id']}/meta", headers=env.auth(A))
    assert meta.status_code == 200
    assert meta.json() == body


async def test_a_photo_without_exif_has_no_evidence_fields(env: Env) -> None:
    r = await upload(env, make_jpeg())
    meta = (await env.client.get(f"{API}/photos/{r.json()['id']}/meta", headers=env.auth(A))).json()
    assert (meta["captured_at"], meta["lat"], meta["lng"]) == (None, None, None)


@pytest.mark.parametrize("thumbnail", [False, True])
async def test_served_headers(env: Env, thumbnail: bool) -> None:
    pid = await put_photo(env, A)
    r = await fetch(env, pid, thumbnail=thumbnail)
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["x-content-type-options"] == "nosniff"
    cache = [p.strip() for p in r.headers["cache-control"].split(",")]
    assert "private" in cache and "public" not in cache


async def test_unknown_photo_is_404(env: Env) -> None:
    for suffix in ("", "/thumbnail", "/meta"):
        r = await env.client.get(f"{API}/photos/{new_id()}{suffix}", headers=env.auth(A))
        assert_problem(r, 404, "photo_not_found")


@pytest.mark.parametrize(
    "case",
    ["no_file", "bad_id", "anonymous"],
)
async def test_put_refusals(env: Env, case: str) -> None:
    kwargs: dict[str, Any] = {"files": {"file": ("p.jpg", make_jpeg(), "image/jpeg")}, "headers": env.auth(A)}
    url = f"{API}/photos/{new_id()}"
    if case == "no_file":
        kwargs["files"] = {"other": ("p.jpg", make_jpeg(), "image/jpeg")}
        assert_problem(await env.client.put(url, **kwargs), 422, "validation_error")
    elif case == "bad_id":
        assert_problem(await env.client.put(f"{API}/photos/nope", **kwargs), 422, "validation_error")
    else:
        kwargs.pop("headers")
        assert_problem(await env.client.put(url, **kwargs), 401, "unauthorized")


async def test_a_photo_documents_one_area(env: Env) -> None:
    # Attached in 白云村 by an inspection, the photo cannot also document a finding in 青山村: those who
    # may read that finding could not see it.
    pid = await put_photo(env)
    await put_inspection(env, inspection_body(answers=[fail(GENERAL_ITEM, [pid])]))
    r = await env.client.post(
        f"{API}/findings",
        json={"area_code": "v-qingshan-g1", "title": "借用照片", "photo_ids": [pid]},
        headers=env.auth("supervisor"),
    )
    body = assert_problem(r, 422, "unknown_photos")
    assert body["photo_ids"] == [pid]
    # In its own area it may document more than one record.
    r = await env.client.post(
        f"{API}/findings",
        json={"area_code": "v-baiyun-g1", "title": "同一处", "photo_ids": [pid]},
        headers=env.auth("supervisor"),
    )
    assert r.status_code == 201, r.text


# --------------------------------------------------------------------------- evidence sent by the phone


async def put_with_fields(env: Env, fields: dict[str, str], data: bytes | None = None) -> httpx.Response:
    return await env.client.put(
        f"{API}/photos/{new_id()}",
        data=fields,
        files={"file": ("p.jpg", data or make_jpeg(), "image/jpeg")},
        headers=env.auth(A),
    )


async def test_the_phones_time_and_place_are_kept_as_evidence(env: Env) -> None:
    fields = {
        "captured_at": "2026-11-20T14:30:05+08:00",
        "lat": "31.4012",
        "lng": "109.6321",
        "accuracy_m": "8.5",
    }
    # The file's own EXIF says otherwise: the phone read the original, so its word is kept.
    r = await put_with_fields(env, fields, make_jpeg(exif=gps_exif(30.5, 104.0)))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["captured_at"] == "2026-11-20T06:30:05+00:00"
    assert (body["lat"], body["lng"], body["accuracy_m"]) == (31.4012, 109.6321, 8.5)
    async with await env.session() as s:
        row = await s.get(Photo, uuid.UUID(body["id"]))
        assert row is not None
        assert (row.gps_lat, row.gps_lng, row.gps_accuracy_m) == (31.4012, 109.6321, 8.5)
    meta = await env.client.get(f"{API}/photos/{body['id']}/meta", headers=env.auth(A))
    assert meta.json() == body
    assert_clean_jpeg((await fetch(env, body["id"])).content)


async def test_without_fields_the_files_exif_is_the_evidence(env: Env) -> None:
    r = await put_with_fields(env, {}, make_jpeg(exif=gps_exif(30.5, 104.25)))
    assert r.status_code == 201, r.text
    assert (r.json()["lat"], r.json()["lng"], r.json()["accuracy_m"]) == (30.5, 104.25, None)


@pytest.mark.parametrize(
    "fields",
    [
        {"captured_at": "yesterday"},
        {"captured_at": "2026-11-20T14:30:05"},  # no offset
        {"lat": "91", "lng": "100"},
        {"lat": "30", "lng": "-181"},
        {"lat": "30"},
        {"lat": "nan", "lng": "100"},
        {"lat": "30", "lng": "inf"},
        {"lat": "abc", "lng": "100"},
        {"accuracy_m": "5"},
        {"lat": "30", "lng": "100", "accuracy_m": "-1"},
    ],
)
async def test_garbage_evidence_is_422(env: Env, fields: dict[str, str]) -> None:
    r = await put_with_fields(env, fields)
    body = assert_problem(r, 422)
    assert body["code"] in ("invalid_captured_at", "invalid_position")


def test_prepared_photo_reply_equals_the_models_serialisation() -> None:
    from datetime import UTC, datetime

    from api.schemas.photos import PhotoOut, photo_json

    for captured_at in (None, datetime(2026, 11, 20, 6, 30, 5, tzinfo=UTC)):
        pid = uuid.uuid4()
        row = {
            "id": pid,
            "sha256": "ab" * 32,
            "width": 1600,
            "height": 1200,
            "url": f"/api/v1/photos/{pid}",
            "thumbnail_url": f"/api/v1/photos/{pid}/thumbnail",
            "captured_at": captured_at,
            "lat": 31.4,
            "lng": None,
            "accuracy_m": 3.0,
        }
        assert json.loads(photo_json(row)) == json.loads(PhotoOut(**row).model_dump_json())


async def test_another_areas_photo_id_is_404_as_a_get_would_answer(env: Env) -> None:
    data = make_jpeg()
    pid = await put_photo(env, "inspector_qingshan", data)
    other = await env.client.get(f"{API}/photos/{pid}", headers=env.auth(A))
    assert_problem(other, 404, "photo_not_found")
    for attempt in (data, make_jpeg(), b"not an image"):
        assert_problem(await upload(env, attempt, pid, user=A), 404, "photo_not_found")
    # Its owner still learns of the conflict.
    assert_problem(await upload(env, make_jpeg(), pid, user="inspector_qingshan"), 409, "photo_conflict")


async def test_a_photo_waiting_on_the_disk_leaves_its_decode_slot_to_the_next(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the decode takes one of the process's image slots. A photo whose files are being written
    and fsynced holds none, or a slow disk would cap the photos a server takes while its cores sit idle."""
    from api.services import photos as photo_service
    from api.storage import LocalPhotoStorage

    monkeypatch.setattr(photo_service, "_decoders", threading.BoundedSemaphore(1))
    first_writing, disk_done = threading.Event(), threading.Event()
    write = LocalPhotoStorage.put_many_sync
    calls = 0

    def slow_first_write(self: LocalPhotoStorage, *blobs: bytes, **kwargs: Any) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            first_writing.set()
            assert disk_done.wait(30)
        return write(self, *blobs, **kwargs)

    monkeypatch.setattr(LocalPhotoStorage, "put_many_sync", slow_first_write)
    first = asyncio.create_task(upload(env, make_jpeg()))
    try:
        assert await anyio.to_thread.run_sync(first_writing.wait, 30)
        second = await asyncio.wait_for(upload(env, make_jpeg()), 30)
        assert second.status_code == 201, second.text
        assert not first.done()
    finally:
        disk_done.set()
    assert (await first).status_code == 201


async def test_report_photos_have_their_own_pool_and_stricter_limits(env: Env) -> None:
    from api.services import photos as photo_service

    public, inspectors = photo_service._limiter(public=True), photo_service._limiter()
    assert public is not inspectors
    assert public.total_tokens == 1
    assert photo_service.REPORT_MAX_DECODED_BYTES < photo_service.MAX_DECODED_BYTES
    # A few kB of PNG that decodes to 196 MB is refused for anyone, before decoding.
    buf = io.BytesIO()
    Image.new("RGBA", (7000, 7000), (1, 2, 3, 255)).save(buf, "PNG")
    r = await upload(env, buf.getvalue(), name="p.png", ctype="image/png")
    assert_problem(r, 413, "image_too_large")
    parts = [("files", ("p.png", buf.getvalue(), "image/png"))]
    r = await env.client.post(
        f"{API}/public/reports", data={"category": "RPT-10", "description": "堵塞"}, files=parts
    )
    assert_problem(r, 413, "image_too_large")


# --------------------------------------------------------------------------- the phone's own thumbnail


def thumbnail_of(data: bytes, size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").resize(size).save(out, "JPEG", quality=80, comment=b"phone")
    return out.getvalue()


async def upload_with_thumbnail(env: Env, data: bytes, thumbnail: bytes, photo_id: str) -> httpx.Response:
    return await env.client.put(
        f"{API}/photos/{photo_id}",
        files={"file": ("p.jpg", data, "image/jpeg"), "thumbnail": ("t.jpg", thumbnail, "image/jpeg")},
        headers=env.auth(A),
    )


async def test_the_phones_thumbnail_is_kept_when_it_fits_and_retries_do_not_depend_on_it(env: Env) -> None:
    data = make_jpeg(640, 480)
    sent = thumbnail_of(data, (320, 240))
    pid = new_id()
    first = await upload_with_thumbnail(env, data, sent, pid)
    assert first.status_code == 201, first.text
    assert first.json()["sha256"] == hashlib.sha256(data).hexdigest()  # the photo's bytes alone
    served = (await fetch(env, pid, thumbnail=True)).content
    assert served[served.index(b"\xff\xda") :] == sent[sent.index(b"\xff\xda") :]  # the phone's pixels
    assert_clean_jpeg(served)  # its comment is gone
    # A retry with or without it, or with another, is the same photo.
    for retry in (
        await upload(env, data, pid),
        await upload_with_thumbnail(env, data, thumbnail_of(data, (32, 24)), pid),
    ):
        assert retry.status_code == 200, retry.text
        assert retry.json() == first.json()
    assert (await fetch(env, pid, thumbnail=True)).content == served


async def test_a_text_field_named_thumbnail_is_ignored(env: Env) -> None:
    data = make_jpeg(640, 480)
    r = await env.client.put(
        f"{API}/photos/{new_id()}",
        files={"file": ("p.jpg", data, "image/jpeg")},
        data={"thumbnail": "not a file"},
        headers=env.auth(A),
    )
    assert r.status_code == 201, r.text
    served = (await fetch(env, r.json()["id"], thumbnail=True)).content
    assert assert_clean_jpeg(served).size == (320, 240)


@pytest.mark.parametrize("case", ["other proportions", "not an image", "too large"])
async def test_a_thumbnail_that_does_not_fit_is_made_by_the_server(env: Env, case: str) -> None:
    data = make_jpeg(640, 480)
    sent = {
        "other proportions": thumbnail_of(data, (320, 320)),
        "not an image": b"thumbnail",
        "too large": thumbnail_of(data, (320, 240)) + b"\x00" * (256 * 1024),
    }[case]
    pid = new_id()
    r = await upload_with_thumbnail(env, data, sent, pid)
    assert r.status_code == 201, r.text
    served = (await fetch(env, pid, thumbnail=True)).content
    assert assert_clean_jpeg(served).size == (320, 240)
    assert served[served.index(b"\xff\xda") :] not in sent  # not the phone's pixels


async def test_a_broken_photo_with_a_good_thumbnail_is_still_422(env: Env) -> None:
    data = make_jpeg(640, 480)
    sos = data.index(b"\xff\xda")
    broken = data[: sos + 6] + b"\x33" + data[sos + 7 :]  # its scan names a Huffman table never defined
    r = await upload_with_thumbnail(env, broken, thumbnail_of(data, (320, 240)), new_id())
    assert_problem(r, 422, "invalid_image")
