"""Paper the office hands out and files: the rectification notice (整改通知书) of a finding and the on-site
inspection record (现场检查记录) of an inspection, as PDF.

The records are read in scope exactly like GET /findings/{id} and GET /inspections/{id}; the PDF itself is
drawn by `api/services/pdf.py` in a worker thread, from plain data gathered here.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.models import Area, ChecklistTemplate, Finding, Inspection, Photo, User, Venue
from api.services import checklists, imaging, pdf, reference
from api.services import findings as finding_service
from api.services import inspections as inspection_service
from api.services.auth import Principal
from api.storage import PhotoNotFound, PhotoStorage
from api.timeutil import LOCAL_TZ

# At most this many thumbnails per document: a notice is handed over, not an album.
MAX_PHOTOS = 12

RESULT_ZH = {"pass": "合格", "fail": "不合格", "na": "不适用"}


def serial_number(prefix: str, record_id: uuid.UUID, day: date) -> str:
    """A stable number for the paper: the same record always prints the same number, so a reprint
    matches the signed copy in the file. Six hex digits of the record's id are enough to tell apart the
    notices of one day."""
    digest = hashlib.sha256(record_id.bytes).hexdigest()[:6].upper()
    return f"{prefix}-{day:%Y%m%d}-{digest}"


def check_code(data: dict[str, Any]) -> str:
    """核对码: six hex digits of SHA-256 of everything the document prints (its photos by id). The serial
    names the visit for good; this tells two printings of it apart when what they say differs (a deadline
    extended, a hazard closed since, the owner's phone changed), and is the same for a reprint that says
    the same, so a clerk can match a paper to the signed copy in the file by both."""
    printed = {k: v for k, v in data.items() if k not in ("photos", "check")}
    printed["photos"] = [pid for pid, _ in data.get("photos", [])]
    text = json.dumps(printed, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:6].upper()


def _local(dt: datetime | None) -> datetime | None:
    return dt.astimezone(LOCAL_TZ) if dt else None


def hazard_text(item: dict[str, Any] | None, fallback: str) -> str:
    """The hazard in words an owner can act on; the checklist question only where the reference data has
    no such wording yet."""
    if not item:
        return fallback
    return str(item.get("hazard") or item.get("hazard_zh") or item.get("prompt") or fallback)


def rule_text(item: dict[str, Any] | None) -> str:
    """The rules an item rests on, by the names of its sources in the reference data."""
    if not item:
        return ""
    sources = reference.load().get("sources", {})
    names = []
    for sid in item.get("sources") or []:
        entry = sources.get(sid)
        names.append(str(entry["name"]) if isinstance(entry, dict) and "name" in entry else str(sid))
    clause = item.get("gb35181_2017_clause")
    if item.get("major") and clause:
        names.append(f"GB 35181-2017 第{clause}条（疑似重大火灾隐患直接判定要素）")
    return "；".join(names)


def is_immediate(item: dict[str, Any] | None) -> bool:
    if not item:
        return False
    return item.get("action") == "immediate" or int(item.get("deadline_days", 1) or 0) == 0


async def _office_and_area(session: AsyncSession, settings: Settings, area_code: str) -> tuple[str, str]:
    """The issuing office (a setting, else the town at the root of the area's path) and the area's name."""
    area = await session.get(Area, area_code)
    area_name = area.name if area else area_code
    if settings.office_name:
        return settings.office_name, area_name
    town_name = area_name
    if area is not None:
        root_code = area.path.strip("/").split("/")[0]
        root = await session.get(Area, root_code)
        town_name = root.name if root else area_name
    return f"{town_name}安全生产委员会办公室", area_name


async def _thumbnails(
    session: AsyncSession, storage: PhotoStorage, photo_ids: Sequence[str]
) -> dict[str, bytes]:
    """The photos as printed on paper, made from the stored photos themselves: a stored thumbnail may be the
    one the phone sent (kept when it fits the photo, see imaging._phone_thumbnail), and an official notice
    shows only what the server has seen in the evidence."""
    wanted: list[uuid.UUID] = []
    for pid in photo_ids:
        try:
            wanted.append(uuid.UUID(str(pid)))
        except ValueError:
            continue
    if not wanted:
        return {}
    rows = (await session.scalars(select(Photo).where(Photo.id.in_(wanted)))).all()
    out: dict[str, bytes] = {}
    for photo in rows:
        try:
            data = await storage.get(photo.file_key)
        except (PhotoNotFound, ValueError):
            continue  # a missing file leaves a gap in the album, not a broken notice
        try:
            out[str(photo.id)] = await anyio.to_thread.run_sync(imaging.print_image, data)
        except OSError:
            continue  # the same for a stored file that no longer decodes
    return out


async def _template(session: AsyncSession, code: str | None, version: int | None) -> ChecklistTemplate | None:
    if not code or version is None:
        return None
    return await checklists.get_version(session, code, version)


async def _user_name(session: AsyncSession, user_id: uuid.UUID | None) -> str | None:
    if user_id is None:
        return None
    name: str | None = await session.scalar(select(User.display_name).where(User.id == user_id))
    return name


def _venue_block(venue: Venue | None, area_name: str) -> dict[str, Any]:
    # Never a report's place text: the reporter's words ("我家楼下") would tell the owner who reported.
    # Without a venue the unit, its address and its people are left blank, for the inspector to write in
    # on the spot ("—" would say there is none).
    if venue is None:
        return {
            "name": None,
            "address": None,
            "owner_name": None,
            "owner_phone": None,
            "area": area_name,
            "blank": True,
        }
    return {
        "name": venue.name,
        "address": venue.address,
        "owner_name": venue.owner_name,
        "owner_phone": venue.owner_phone,
        "area": area_name,
    }


async def finding_notice(
    session: AsyncSession, user: Principal, storage: PhotoStorage, settings: Settings, finding_id: uuid.UUID
) -> tuple[bytes, str]:
    """The 整改通知书 of a finding: with it, every other live finding of the same inspection, so an owner
    gets one notice per visit. Returns (pdf bytes, serial number and check code, for the file's name)."""
    finding = await finding_service.get_finding(session, user, finding_id)
    findings: list[Finding] = [finding]
    inspection: Inspection | None = None
    if finding.inspection_id is not None:
        inspection = await session.get(Inspection, finding.inspection_id)
        siblings = (
            await session.scalars(
                select(Finding).where(
                    Finding.inspection_id == finding.inspection_id,
                    Finding.status.in_(("open", "submitted")),
                    Finding.id != finding.id,
                )
            )
        ).all()
        findings += list(siblings)
        if inspection is not None:
            order = {fid: i for i, fid in enumerate(inspection_service.finding_ids_of(inspection))}
            findings.sort(key=lambda f: order.get(f.id, len(order)))
    template = await _template(
        session,
        inspection.checklist_code if inspection else None,
        inspection.checklist_version if inspection else None,
    )
    items = {i["code"]: i for i in (template.items if template else [])}
    venue = await session.get(Venue, finding.venue_id) if finding.venue_id else None
    office, area_name = await _office_and_area(session, settings, finding.area_code)

    issued = inspection.created_at if inspection else finding.created_at
    issued_day = issued.astimezone(LOCAL_TZ).date()
    serial = serial_number("ZG", inspection.id if inspection else finding.id, issued_day)
    hazards = []
    photo_ids: list[str] = []
    captions: dict[str, str] = {}
    for n, f in enumerate(findings, start=1):
        item = items.get(f.item_code or "")
        hazards.append(
            {
                "text": hazard_text(item, f.title),
                "observed": f.description,
                "rule": rule_text(item),
                "immediate": is_immediate(item) and f.deadline <= issued_day,
                "deadline": f.deadline,
                # "suspected" or "confirmed": a notice must not call a confirmed one 疑似.
                "major": (f.major_status or "suspected") if f.severity == "major" else None,
                "stop_use": bool(item.get("stop_use")) if item else False,
            }
        )
        for pid in f.photo_ids or []:
            if pid not in photo_ids:
                photo_ids.append(pid)
                captions[pid] = f"隐患 {n}"
    photo_ids = photo_ids[:MAX_PHOTOS]
    thumbs = await _thumbnails(session, storage, photo_ids)
    data = {
        "office": office,
        "serial": serial,
        "issued_on": issued_day,
        "venue": _venue_block(venue, area_name),
        "inspector": await _user_name(session, inspection.inspector_id if inspection else finding.created_by),
        "source": finding.source,
        "hazards": hazards,
        "photos": [(pid, thumbs[pid]) for pid in photo_ids if pid in thumbs],
        "captions": captions,
    }
    data["check"] = check_code(data)
    return await anyio.to_thread.run_sync(pdf.notice_pdf, data), f"{serial}-{data['check']}"


async def inspection_record(
    session: AsyncSession,
    user: Principal,
    storage: PhotoStorage,
    settings: Settings,
    inspection_id: uuid.UUID,
) -> tuple[bytes, str]:
    """The 现场检查记录 of an inspection: every answer with its note, the photos of failed items."""
    inspection = await inspection_service.get_inspection(session, user, inspection_id)
    template = await _template(session, inspection.checklist_code, inspection.checklist_version)
    items = {i["code"]: i for i in (template.items if template else [])}
    venue = await session.get(Venue, inspection.venue_id)
    office, area_name = await _office_and_area(session, settings, inspection.area_code)
    received_day = inspection.created_at.astimezone(LOCAL_TZ).date()
    serial = serial_number("JC", inspection.id, received_day)
    answers = []
    photo_ids: list[str] = []
    captions: dict[str, str] = {}
    for n, a in enumerate(inspection.answers, start=1):
        item = items.get(a["item_code"])
        answers.append(
            {
                "n": n,
                "code": a["item_code"],
                "prompt": item["prompt"] if item else a["item_code"],
                "result": RESULT_ZH.get(a["result"], a["result"]),
                "failed": a["result"] == "fail",
                "note": a.get("note"),
            }
        )
        for pid in a.get("photo_ids") or []:
            if str(pid) not in photo_ids:
                photo_ids.append(str(pid))
                captions[str(pid)] = f"第 {n} 项"
    photo_ids = photo_ids[:MAX_PHOTOS]
    thumbs = await _thumbnails(session, storage, photo_ids)
    data = {
        "office": office,
        "serial": serial,
        "checklist": f"{template.title}（第{template.version}版）" if template else inspection.checklist_code,
        "venue": _venue_block(venue, area_name),
        "inspector": await _user_name(session, inspection.inspector_id),
        "started_at": _local(inspection.started_at),
        "submitted_at": _local(inspection.submitted_at),
        "received_at": _local(inspection.created_at),
        "position": (inspection.lat, inspection.lng, inspection.accuracy_m),
        "note": inspection.note,
        "answers": answers,
        "failed": sum(1 for a in answers if a["failed"]),
        "photos": [(pid, thumbs[pid]) for pid in photo_ids if pid in thumbs],
        "captions": captions,
    }
    data["check"] = check_code(data)
    return await anyio.to_thread.run_sync(pdf.record_pdf, data), f"{serial}-{data['check']}"
