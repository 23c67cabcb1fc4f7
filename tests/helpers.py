"""Shared test helpers: image bytes, problem+json checks, and the common API round trips."""

from __future__ import annotations

import io
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from PIL import Image

from tests.conftest import Env, venue_id

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"

# Built-in checklist items the tests lean on (see api/reference/checklists.yaml).
SMALL_VENUE = "small_venue_fire"
GENERAL_ITEM = "JX-MG-01"  # general, 7 days, no photo needed on fail
GENERAL_ITEM_15 = "JX-MG-03"  # general, 15 days, no photo needed
GENERAL_ZERO_DAY = "JX-EQ-05"  # general, 0 days (fix on the spot), photo required
MAJOR_ZERO_DAY = "JX-LY-01"  # major, 0 days, photo required
MAJOR_LONG = "JX-LY-06"  # major, 30 days (capped), photo required, any small venue

BAIYUN_SHOP = "白云便利店"  # v-baiyun-g1
BAIYUN_INN = "山泉民宿"  # v-baiyun-g2
QINGSHAN_CLUB = "青山棋牌室"  # v-qingshan-g1
JIEZHEN_KTV = "场镇KTV"  # c-jiezhen-g1


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def new_id() -> str:
    return str(uuid.uuid4())


def now_iso(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def assert_problem(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The reply is RFC 9457 problem+json with this status (and code); returns the body."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers.get("content-type")
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["code"], str) and body["code"]
    if code is not None:
        assert body["code"] == code, body
    return body


# --------------------------------------------------------------------------- images


def make_jpeg(
    width: int = 64,
    height: int = 48,
    *,
    seed: int | None = None,
    mode: str = "RGB",
    exif: Image.Exif | bytes | None = None,
    quality: int = 90,
    **save: Any,
) -> bytes:
    """A small JPEG with random pixels (distinct bytes per call unless a seed is given)."""
    rnd = random.Random(seed)
    bands = len(mode)
    noise = bytes(rnd.getrandbits(8) for _ in range(width * height * bands))
    img = Image.frombytes(mode, (width, height), noise)
    buf = io.BytesIO()
    if exif is not None:
        save["exif"] = exif
    img.save(buf, "JPEG", quality=quality, **save)
    return buf.getvalue()


def make_png(width: int = 40, height: int = 30, *, alpha: bool = True, seed: int | None = None) -> bytes:
    rnd = random.Random(seed)
    mode = "RGBA" if alpha else "RGB"
    data = bytes(rnd.getrandbits(8) for _ in range(width * height * len(mode)))
    img = Image.frombytes(mode, (width, height), data)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def gps_exif(
    lat: float, lng: float, taken: str = "2026:11:20 14:30:05", orientation: int | None = None
) -> Image.Exif:
    """EXIF with DateTimeOriginal (local time, no offset), GPS position and optionally an orientation."""

    def dms(value: float) -> tuple[float, float, float]:
        value = abs(value)
        d = int(value)
        m = int((value - d) * 60)
        s = round(((value - d) * 60 - m) * 60, 4)
        return (float(d), float(m), s)

    exif = Image.Exif()
    exif[0x010F] = "TestPhone"  # Make
    exif[0x0132] = taken  # DateTime
    if orientation is not None:
        exif[0x0112] = orientation
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = taken  # DateTimeOriginal
    gps = exif.get_ifd(0x8825)
    gps[1] = "N" if lat >= 0 else "S"
    gps[2] = dms(lat)
    gps[3] = "E" if lng >= 0 else "W"
    gps[4] = dms(lng)
    return exif


def jpeg_segments(data: bytes) -> list[int]:
    """The marker bytes of a JPEG's segments up to the start of scan (0xE0..0xEF are APPn, 0xFE COM)."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    markers, i = [], 2
    while i < len(data):
        assert data[i] == 0xFF, f"bad marker at {i}"
        while data[i] == 0xFF:
            i += 1
        marker = data[i]
        i += 1
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        if 0xD0 <= marker <= 0xD9 or marker == 0x01:
            continue
        length = int.from_bytes(data[i : i + 2], "big")
        i += length
    return markers


# --------------------------------------------------------------------------- API round trips


async def put_photo(
    env: Env, user: str = "inspector_baiyun", data: bytes | None = None, photo_id: str | None = None
) -> str:
    photo_id = photo_id or new_id()
    r = await env.client.put(
        f"{API}/photos/{photo_id}",
        files={"file": ("p.jpg", data or make_jpeg(), "image/jpeg")},
        headers=env.auth(user),
    )
    assert r.status_code == 201, r.text
    return photo_id


def inspection_body(
    venue: str = BAIYUN_SHOP,
    answers: list[dict[str, Any]] | None = None,
    *,
    checklist_code: str = SMALL_VENUE,
    checklist_version: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "venue_id": venue if _is_uuid(venue) else venue_id(venue),
        "checklist_code": checklist_code,
        "checklist_version": checklist_version,
        "started_at": "2026-11-20T09:00:00+08:00",
        "submitted_at": "2026-11-20T09:30:00+08:00",
        "lat": 31.401,
        "lng": 109.632,
        "accuracy_m": 12.5,
        "note": "例行检查",
        "answers": answers if answers is not None else [{"item_code": GENERAL_ITEM, "result": "pass"}],
    }
    body.update(extra)
    return body


def fail(item: str, photo_ids: list[str] | None = None, note: str | None = None) -> dict[str, Any]:
    return {"item_code": item, "result": "fail", "note": note, "photo_ids": photo_ids or []}


async def put_inspection(
    env: Env, body: dict[str, Any], user: str = "inspector_baiyun", inspection_id: str | None = None
) -> dict[str, Any]:
    inspection_id = inspection_id or new_id()
    r = await env.client.put(f"{API}/inspections/{inspection_id}", json=body, headers=env.auth(user))
    assert r.status_code == 201, r.text
    reply: dict[str, Any] = r.json()
    return reply


async def open_finding(
    env: Env,
    user: str = "inspector_baiyun",
    venue: str = BAIYUN_SHOP,
    item: str = GENERAL_ITEM,
    note: str | None = None,
) -> str:
    """Opens one finding through an inspection with a single failed item; returns its id."""
    photos = [await put_photo(env, user)] if item not in (GENERAL_ITEM, GENERAL_ITEM_15) else []
    reply = await put_inspection(env, inspection_body(venue, [fail(item, photos, note)]), user)
    assert len(reply["finding_ids"]) == 1
    return str(reply["finding_ids"][0])


async def file_finding(env: Env, user: str = "supervisor", **fields: Any) -> dict[str, Any]:
    """A finding filed by hand (POST /findings, a fresh id) with the given fields; returns the reply."""
    r = await env.client.post(f"{API}/findings", json={"id": new_id(), **fields}, headers=env.auth(user))
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def get_finding(env: Env, finding_id: str, user: str = "supervisor") -> dict[str, Any]:
    r = await env.client.get(f"{API}/findings/{finding_id}", headers=env.auth(user))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def act(
    env: Env, finding_id: str, action: str, user: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    defaults: dict[str, dict[str, Any]] = {
        "rectification": {"note": "已整改", "photo_ids": []},
        "verification": {"result": "pass", "note": "复查合格", "photo_ids": []},
        "extension": {"deadline": (date.today() + timedelta(days=60)).isoformat(), "reason": "需采购设备"},
        "void": {"reason": "重复录入"},
    }
    payload = body if body is not None else defaults[action]
    return await env.client.post(
        f"{API}/findings/{finding_id}/{action}", json=payload, headers=env.auth(user)
    )


async def set_finding_fields(env: Env, finding_id: str, **fields: Any) -> None:
    """Changes a finding directly in the database (deadlines in the past and the like)."""
    from sqlalchemy import update

    from api.models import Finding

    async with await env.session() as s:
        await s.execute(update(Finding).where(Finding.id == uuid.UUID(finding_id)).values(**fields))
        await s.commit()


def sh_today() -> date:
    """Today in Asia/Shanghai, where deadlines live."""
    from api.timeutil import local_today

    return local_today()


_user_ids: dict[tuple[str, str], str] = {}


async def user_id(env: Env, username: str) -> str:
    key = (env.backend, username)
    if key not in _user_ids:
        r = await env.client.get(f"{API}/me", headers=env.auth(username))
        assert r.status_code == 200, r.text
        _user_ids[key] = r.json()["id"]
    return _user_ids[key]


async def make_user(
    env: Env, username: str, role: str, areas: list[str], password: str = "a-test-password-9"
) -> dict[str, str]:
    """Creates (or resets) a user directly and signs in; returns the bearer header."""
    from api.services.auth import create_user

    async with await env.session() as s:
        await create_user(s, username=username, password=password, role=role, area_codes=areas)
        await s.commit()
    r = await env.client.post(f"{API}/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def undrawn(env: Env, areas: list[str]) -> str:
    """A new inspector of these areas whom no other test's 双随机 draw has sent anywhere (the venues of a
    draw, and their findings, are in the drawn inspector's reach); usable as `env.auth(name)`."""
    name = "undrawn_" + uuid.uuid4().hex[:8]
    header = await make_user(env, name, "inspector", areas)
    env.tokens[name] = header["Authorization"].removeprefix("Bearer ")
    return name


async def put_venue(
    env: Env,
    name: str,
    area_code: str = "v-baiyun-g1",
    kind: str = "small_retail",
    user: str = "supervisor",
    **fields: Any,
) -> str:
    vid = new_id()
    body = {"name": name, "kind": kind, "area_code": area_code, **fields}
    r = await env.client.put(f"{API}/venues/{vid}", json=body, headers=env.auth(user))
    assert r.status_code == 201, r.text
    return vid


async def pages(
    env: Env, path: str, user: str = "supervisor", limit: int | None = None, **params: Any
) -> AsyncIterator[tuple[list[dict[str, Any]], bool]]:
    """Walks a paginated list (`{items, next_cursor}`), yielding each page's items and whether another
    page follows; the next page is fetched only when the caller asks for it. Asserts each page answers 200
    and holds no more than `limit` items."""
    cursor = None
    while True:
        query = {**params, **({"limit": limit} if limit else {}), **({"cursor": cursor} if cursor else {})}
        r = await env.client.get(f"{API}{path}", params=query, headers=env.auth(user))
        assert r.status_code == 200, r.text
        page = r.json()
        assert limit is None or len(page["items"]) <= limit
        cursor = page["next_cursor"]
        yield page["items"], bool(cursor)
        if not cursor:
            return
