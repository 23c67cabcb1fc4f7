from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.errors import Conflict, NotFound, Unprocessable
from api.models import Inspection, Venue
from api.schemas.inspections import InspectionIn
from api.services import checklists, findings
from api.services.auth import Principal
from api.services.draws import assigned_venues
from api.services.once import insert_or_winner
from api.services.pagination import newest_first
from api.services.scope import in_scope
from api.timeutil import local_today, utcnow

# Finding ids are derived from the inspection id and the item, so a replay can never open a second one.
_FINDING_NS = uuid.UUID("5f6a3c1e-2b7d-4e0a-9c43-6d1f0b8e2a71")


def finding_id_for(inspection_id: uuid.UUID, item_code: str) -> uuid.UUID:
    return uuid.uuid5(_FINDING_NS, f"{inspection_id}:{item_code}")


def body_digest(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def put_inspection(
    session: AsyncSession, user: Principal, settings: Settings, inspection_id: uuid.UUID, body: InspectionIn
) -> tuple[Inspection, bool]:
    """Stores a submitted checklist exactly once. Returns (inspection, created)."""
    digest = body_digest(body.model_dump(mode="json"))
    existing = await session.get(Inspection, inspection_id)
    if existing is not None:
        return await _replay(session, user, existing, digest)

    # A 双随机 draw sends inspectors to venues outside their own areas.
    reachable = or_(in_scope(user, Venue.area_code), Venue.id.in_(assigned_venues(user)))
    venue = await session.scalar(select(Venue).where(Venue.id == body.venue_id, reachable))
    if venue is None:
        raise Unprocessable("Unknown venue, or outside your areas.", code="venue_not_found")
    template = await checklists.get_version(session, body.checklist_code, body.checklist_version)
    if template is None:
        raise Unprocessable(
            f"No checklist {body.checklist_code!r} version {body.checklist_version}.",
            code="unknown_checklist",
        )
    if venue.kind not in template.venue_kinds:
        raise Unprocessable(
            f"Checklist {template.code!r} does not apply to a venue of kind {venue.kind!r}.",
            code="checklist_not_for_venue",
        )
    items = {item["code"]: item for item in template.items}
    answers = body.answers
    seen: set[str] = set()
    for answer in answers:
        code = answer.item_code
        if code not in items:
            raise Unprocessable(f"Item {code!r} is not in this checklist version.", code="unknown_item")
        if code in seen:
            raise Unprocessable(f"Item {code!r} is answered twice.", code="duplicate_answer")
        seen.add(code)
        # An item that cannot apply to this kind of venue (a 便利店 has no child-care room) is not shown on
        # the phone and is sent as 不适用; a pass is harmless, but a hazard found there is refused.
        kinds = items[code].get("kinds")
        if answer.result == "fail" and kinds is not None and venue.kind not in kinds:
            raise Unprocessable(
                f"Item {code!r} does not apply to a venue of kind {venue.kind!r}.",
                code="item_not_for_venue",
                item_code=code,
            )
        if answer.result == "fail" and items[code]["photo_required"] and not answer.photo_ids:
            raise Unprocessable(
                f"Item {code!r} failed and needs at least one photo.", code="photo_required", item_code=code
            )
    all_photos = list(dict.fromkeys(str(p) for a in answers for p in a.photo_ids))
    await findings.check_photos(session, user, all_photos, for_area=venue.area_code)

    now = utcnow()
    inspection = Inspection(
        id=inspection_id,
        venue_id=venue.id,
        area_code=venue.area_code,
        checklist_code=template.code,
        checklist_version=template.version,
        inspector_id=user.id,
        started_at=body.started_at,
        submitted_at=body.submitted_at,
        lat=body.lat,
        lng=body.lng,
        accuracy_m=body.accuracy_m,
        note=body.note,
        answers=[a.model_dump(mode="json") for a in answers],
        body_sha256=digest,
        created_at=now,
    )
    inspection, inserted = await insert_or_winner(session, inspection)
    if not inserted:  # two identical PUTs raced and the other one won
        return await _replay(session, user, inspection, digest)

    today = local_today(now)
    for answer in answers:
        if answer.result != "fail":
            continue
        item = items[answer.item_code]
        fid = finding_id_for(inspection_id, item["code"])
        description = answer.note or None
        await findings.open_finding(
            session,
            finding_id=fid,
            area_code=venue.area_code,
            source="inspection",
            title=item.get("hazard") or item["prompt"],
            description=description,
            severity="major" if item["major"] else "general",
            deadline=findings.deadline_for(
                item["deadline_days"], item["major"], today, settings.major_deadline_days_cap
            ),
            actor_id=user.id,
            at=now,
            venue_id=venue.id,
            inspection_id=inspection_id,
            item_code=item["code"],
            gb35181_flag=item.get("gb35181"),
            photo_ids=[str(p) for p in answer.photo_ids],
            flush=False,
            note=description,
            lat=body.lat,
            lng=body.lng,
        )
    await session.flush()
    await findings.attach_photos(session, all_photos, venue.area_code)
    return inspection, True


async def _replay(
    session: AsyncSession, user: Principal, existing: Inspection, digest: str
) -> tuple[Inspection, bool]:
    if existing.body_sha256 != digest or existing.inspector_id != user.id:
        raise Conflict("This inspection id already holds a different inspection.", code="inspection_conflict")
    return existing, False


def finding_ids_of(inspection: Inspection) -> list[uuid.UUID]:
    """The findings an inspection opened, in answer order (their ids follow from its answers)."""
    return [
        finding_id_for(inspection.id, a["item_code"]) for a in inspection.answers if a["result"] == "fail"
    ]


async def get_inspection(session: AsyncSession, user: Principal, inspection_id: uuid.UUID) -> Inspection:
    row = await session.scalar(
        select(Inspection).where(Inspection.id == inspection_id, in_scope(user, Inspection.area_code))
    )
    if row is None:
        raise NotFound("No such inspection.", code="inspection_not_found")
    return row


async def list_inspections(
    session: AsyncSession, user: Principal, venue_id: uuid.UUID | None, limit: int | None, cursor: str | None
) -> tuple[Sequence[Inspection], str | None]:
    stmt = select(Inspection).where(in_scope(user, Inspection.area_code))
    if venue_id:
        stmt = stmt.where(Inspection.venue_id == venue_id)
    return await newest_first(session, stmt, Inspection.created_at, Inspection.id, limit, cursor)


def inspection_dict(inspection: Inspection) -> dict[str, Any]:
    return {
        "id": inspection.id,
        "venue_id": inspection.venue_id,
        "area_code": inspection.area_code,
        "checklist_code": inspection.checklist_code,
        "checklist_version": inspection.checklist_version,
        "inspector_id": inspection.inspector_id,
        "started_at": inspection.started_at,
        "submitted_at": inspection.submitted_at,
        "lat": inspection.lat,
        "lng": inspection.lng,
        "accuracy_m": inspection.accuracy_m,
        "note": inspection.note,
        "answers": inspection.answers,
        "finding_ids": finding_ids_of(inspection),
        "created_at": inspection.created_at,
    }
