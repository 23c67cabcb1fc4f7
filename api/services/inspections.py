from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, bindparam, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.errors import Conflict, NotFound, Unprocessable
from api.models import ChecklistTemplate, Inspection, Photo, Venue
from api.schemas.inspections import AnswerIn, InspectionIn
from api.services import checklists, direct, findings, inspection_statement
from api.services.auth import Principal
from api.services.draws import assigned_venues, sent_by_voided_draw
from api.services.once import insert_once
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
    """Stores a submitted checklist exactly once. Returns (inspection, created).

    On PostgreSQL a new inspection is one statement (api/services/inspection_statement.py). Otherwise, and
    whenever that statement wrote nothing, four statements: the venue in scope with the photos usable,
    one INSERT ... ON CONFLICT DO NOTHING RETURNING (the exactly-once arbiter), the findings with their
    events (batched), and the photos' area. A retry, or the loser of a race, finds the id taken and is
    answered as a retry; every refusal is decided on this ordinary path.
    """
    as_json = body.model_dump(mode="json")
    digest = body_digest(as_json)
    template = await checklists.get_version(session, body.checklist_code, body.checklist_version)
    answers = body.answers
    all_photos = list(dict.fromkeys(str(p) for a in answers for p in a.photo_ids))
    if template is not None and direct.applies(session):
        written = await _insert_in_one_statement(
            session, user, settings, inspection_id, body, as_json["answers"], template, digest, all_photos
        )
        if written is not None:
            return written, True
    venue_row = (
        await session.execute(
            _venue_and_photos(user, bool(all_photos)),
            {
                "venue_id": body.venue_id,
                **({"photo_ids": [uuid.UUID(p) for p in all_photos]} if all_photos else {}),
            },
        )
    ).one_or_none()
    if venue_row is None:
        if (replayed := await _existing(session, user, inspection_id, digest)) is not None:
            return replayed, False
        if await sent_by_voided_draw(session, user, body.venue_id):
            raise Unprocessable(
                "The draw (双随机) that sent you to this venue was voided; the venue is outside your areas.",
                code="assignment_voided",
            )
        raise Unprocessable("Unknown venue, or outside your areas.", code="venue_not_found")
    _venue_id, area_code, venue_kind, usable_photos = venue_row
    if template is None:
        raise Unprocessable(
            f"No checklist {body.checklist_code!r} version {body.checklist_version}.",
            code="unknown_checklist",
        )
    items = _items(template)
    _check_answers(template, items, answers, venue_kind)
    if usable_photos != len(all_photos):  # let the one photo check name what is wrong
        await findings.check_photos(session, user, all_photos, for_area=area_code)

    inspection = _new_inspection(
        user, inspection_id, body, as_json["answers"], template, digest, area_code=area_code
    )
    if not await _insert_once(session, inspection):
        # A retry, or two identical PUTs raced and the other one won (its row is committed or locked:
        # ON CONFLICT waited for it).
        replayed = await _existing(session, user, inspection_id, digest)
        if replayed is None:  # the winner rolled back after all; the phone retries
            raise Conflict("This inspection id is being written; try again.", code="inspection_conflict")
        return replayed, False
    for fields in _new_findings(user, settings, inspection, items, answers):
        await findings.open_finding(session, flush=False, **fields)
    await session.flush()
    await findings.attach_photos(session, all_photos, area_code)
    return inspection, True


async def _insert_in_one_statement(
    session: AsyncSession,
    user: Principal,
    settings: Settings,
    inspection_id: uuid.UUID,
    body: InspectionIn,
    answers: list[dict[str, Any]],
    template: ChecklistTemplate,
    digest: str,
    all_photos: list[str],
) -> Inspection | None:
    """The common case on PostgreSQL; None when it wrote nothing (the ordinary path decides why)."""
    items = _items(template)
    # The venue's kind is learnt in the statement: it inserts only for a kind these answers fit.
    kinds = fitting_kinds(template, items, body.answers)
    if not kinds:
        return None
    inspection = _new_inspection(user, inspection_id, body, answers, template, digest, area_code="")
    values = {c.key: getattr(inspection, c.key) for c in _INSPECTIONS.columns if c.key != "area_code"}
    new = [
        findings.new_finding(**fields)
        for fields in _new_findings(user, settings, inspection, items, body.answers)
    ]
    area_code = await inspection_statement.insert_new(
        session, user, inspection=values, findings=new, photo_ids=all_photos, venue_kinds=kinds
    )
    if area_code is None:
        return None
    inspection.area_code = area_code
    return inspection


def _items(template: ChecklistTemplate) -> dict[str, dict[str, Any]]:
    return {item["code"]: item for item in template.items}


def _check_answers(
    template: ChecklistTemplate,
    items: dict[str, dict[str, Any]],
    answers: Sequence[AnswerIn],
    venue_kind: str,
) -> None:
    """422 for answers that do not fit this checklist version and this kind of venue."""
    if venue_kind not in template.venue_kinds:
        raise Unprocessable(
            f"Checklist {template.code!r} does not apply to a venue of kind {venue_kind!r}.",
            code="checklist_not_for_venue",
        )
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
        if answer.result == "fail" and kinds is not None and venue_kind not in kinds:
            raise Unprocessable(
                f"Item {code!r} does not apply to a venue of kind {venue_kind!r}.",
                code="item_not_for_venue",
                item_code=code,
            )
        if answer.result == "fail" and items[code]["photo_required"] and not answer.photo_ids:
            raise Unprocessable(
                f"Item {code!r} failed and needs at least one photo.", code="photo_required", item_code=code
            )


def fitting_kinds(
    template: ChecklistTemplate, items: dict[str, dict[str, Any]], answers: Sequence[AnswerIn]
) -> list[str]:
    """The venue kinds for which `_check_answers` lets these answers pass, worked out in one pass over the
    answers rather than once per kind (a checklist may apply to nine kinds of venue)."""
    seen: set[str] = set()
    kinds = list(template.venue_kinds)
    for answer in answers:
        code = answer.item_code
        if code not in items or code in seen:
            return []
        seen.add(code)
        if answer.result != "fail":
            continue
        if items[code]["photo_required"] and not answer.photo_ids:
            return []
        if (only := items[code].get("kinds")) is not None:
            kinds = [k for k in kinds if k in only]
    return kinds


def _new_inspection(
    user: Principal,
    inspection_id: uuid.UUID,
    body: InspectionIn,
    answers: list[dict[str, Any]],
    template: ChecklistTemplate,
    digest: str,
    *,
    area_code: str,
) -> Inspection:
    """The inspection's row; `answers` are the body's answers as JSON (dumped once, for the digest too)."""
    return Inspection(
        id=inspection_id,
        venue_id=body.venue_id,
        area_code=area_code,
        checklist_code=template.code,
        checklist_version=template.version,
        inspector_id=user.id,
        started_at=body.started_at,
        submitted_at=body.submitted_at,
        lat=body.lat,
        lng=body.lng,
        accuracy_m=body.accuracy_m,
        note=body.note,
        answers=answers,
        body_sha256=digest,
        created_at=utcnow(),
    )


# Built once per user and scope, not per request: constructing this select (and its cache key) was about a
# tenth of an inspection's CPU. The scope is part of the key, so a changed area list builds a new one.
_VENUE_QUERIES: dict[tuple[Any, ...], Select[Any]] = {}
_VENUE_QUERIES_MAX = 4096


def _venue_and_photos(user: Principal, with_photos: bool) -> Select[Any]:
    """The venue (`venue_id`) if it is in the user's scope, with how many of the photos (`photo_ids`) the
    user may attach to it (the rule of findings.check_photos, in the same round trip)."""
    key = (user.id, user.role, user.area_paths, with_photos)
    if (cached := _VENUE_QUERIES.get(key)) is not None:
        return cached
    usable: ColumnElement[int]
    if with_photos:
        usable = (
            select(func.count())
            .select_from(Photo)
            .where(
                Photo.id.in_(bindparam("photo_ids", expanding=True)),
                or_(Photo.uploaded_by == user.id, in_scope(user, Photo.area_code)),
                or_(Photo.area_code.is_(None), Photo.area_code == Venue.area_code),
            )
            .correlate(Venue)
            .scalar_subquery()
        )
    else:
        usable = literal(0)
    # A 双随机 draw sends inspectors to venues outside their own areas.
    reachable = or_(in_scope(user, Venue.area_code), Venue.id.in_(assigned_venues(user)))
    stmt = select(Venue.id, Venue.area_code, Venue.kind, usable).where(
        Venue.id == bindparam("venue_id"), reachable
    )
    if len(_VENUE_QUERIES) >= _VENUE_QUERIES_MAX:
        _VENUE_QUERIES.clear()
    _VENUE_QUERIES[key] = stmt
    return stmt


def _new_findings(
    user: Principal,
    settings: Settings,
    inspection: Inspection,
    items: dict[str, dict[str, Any]],
    answers: Sequence[AnswerIn],
) -> Iterator[dict[str, Any]]:
    """The fields of `findings.new_finding` for each failed item: one finding each.

    The deadline counts from the server's date of receipt (Asia/Shanghai), never from the phone's
    submitted_at, which is kept and shown as reported.
    """
    now = inspection.created_at
    today = local_today(now)
    for answer in answers:
        if answer.result != "fail":
            continue
        item = items[answer.item_code]
        yield {
            "finding_id": finding_id_for(inspection.id, item["code"]),
            "area_code": inspection.area_code,
            "source": "inspection",
            "title": item.get("hazard") or item["prompt"],
            "description": answer.note or None,
            "severity": "major" if item["major"] else "general",
            "deadline": findings.deadline_for(
                item["deadline_days"], item["major"], today, settings.major_deadline_days_cap
            ),
            "actor_id": user.id,
            "at": now,
            "venue_id": inspection.venue_id,
            "inspection_id": inspection.id,
            "item_code": item["code"],
            "gb35181_flag": item.get("gb35181"),
            "photo_ids": [str(p) for p in answer.photo_ids],
            "note": answer.note or None,
            "lat": inspection.lat,
            "lng": inspection.lng,
        }


async def _insert_once(session: AsyncSession, inspection: Inspection) -> bool:
    """INSERT ... ON CONFLICT (id) DO NOTHING RETURNING id: True when this request's row went in."""
    values = {c.key: getattr(inspection, c.key) for c in _INSPECTIONS.columns}
    stmt = insert_once(session, _INSPECTIONS)
    return (await session.execute(stmt, values)).first() is not None


_INSPECTIONS: Table = Inspection.__table__  # type: ignore[assignment]


async def _existing(
    session: AsyncSession, user: Principal, inspection_id: uuid.UUID, digest: str
) -> Inspection | None:
    """The stored inspection under this id when this body is a retry of it; 409 for another body of the
    same inspector's or in the user's areas; 404 (as a GET would answer) when the user may not see it."""
    visible = or_(Inspection.inspector_id == user.id, in_scope(user, Inspection.area_code))
    existing = await session.scalar(
        select(Inspection)
        .where(Inspection.id == inspection_id, visible)
        .execution_options(populate_existing=True)
    )
    if existing is None:
        if await session.scalar(select(Inspection.id).where(Inspection.id == inspection_id)) is not None:
            raise NotFound("No such inspection.", code="inspection_not_found")
        return None
    if existing.body_sha256 != digest or existing.inspector_id != user.id:
        raise Conflict("This inspection id already holds a different inspection.", code="inspection_conflict")
    return existing


def finding_ids_of(inspection: Inspection) -> list[uuid.UUID]:
    """The findings an inspection opened, in answer order (their ids follow from its answers)."""
    return [
        finding_id_for(inspection.id, a["item_code"]) for a in inspection.answers if a["result"] == "fail"
    ]


def readable(user: Principal) -> ColumnElement[bool]:
    """Inspections a user may read: those of their areas, and those at venues a 双随机 draw sent them to
    (as for findings: the drawn inspector must see and print the record of the visit they made)."""
    return or_(in_scope(user, Inspection.area_code), Inspection.venue_id.in_(assigned_venues(user)))


async def get_inspection(session: AsyncSession, user: Principal, inspection_id: uuid.UUID) -> Inspection:
    row = await session.scalar(select(Inspection).where(Inspection.id == inspection_id, readable(user)))
    if row is None:
        raise NotFound("No such inspection.", code="inspection_not_found")
    return row


async def list_inspections(
    session: AsyncSession, user: Principal, venue_id: uuid.UUID | None, limit: int | None, cursor: str | None
) -> tuple[Sequence[Inspection], str | None]:
    stmt = select(Inspection).where(readable(user))
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
