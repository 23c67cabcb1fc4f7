"""Public hazard reports (举报): anonymous submission, receipts, triage by the office, rewards.

What identifies a reporter is never kept: no address, no user agent, no receipt. The receipt is a
100-bit code in the Crockford base-32 alphabet, shown to the reporter once; the database holds only
HMAC-SHA256(secret_key, receipt), and the secret lives in the settings, never in the database.

Idempotent submission. The page makes a draft id (a UUID) for each report and sends it with every
attempt. The server keeps HMAC(secret, draft id) as `draft_hash` (unique), and when a draft id is given
the receipt is *derived* from it: receipt = base32(HMAC(secret, "receipt:" + draft id))[:20]. A retry
whose first reply was lost therefore gets the same receipt back (200) without the server keeping the
receipt or anything more than it already does. Without a draft id the receipt is random. Either way
it carries 100 bits that only the secret can produce. Rotating the secret makes old receipts unreadable.

Times of a submission (the report's `created_at`, its photos' `created_at`) are kept to the minute
only, which makes lining a report up with a proxy's own log a little harder; the real guard is that
no log of this application holds an address.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import io
import math
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import anyio
import anyio.to_thread
from PIL import Image
from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.errors import Conflict, NotFound, Unprocessable
from api.models import Finding, Report, ReportEvent, Venue
from api.schemas.common import has_control_characters
from api.services import findings as finding_service
from api.services import photos as photo_service
from api.services import reference, report_lifecycle
from api.services import venues as venue_service
from api.services.areas import filter_area_path, require_area_in_scope
from api.services.auth import Principal
from api.services.imaging import ProcessedImage
from api.services.pagination import newest_first
from api.services.report_lifecycle import TRIAGE_ACTIONS, ReportAction, ReportStatus
from api.services.scope import in_scope, in_subtree
from api.services.sealing import SealBroken, seal, unseal
from api.storage import PhotoStorage
from api.timeutil import local_midnight, local_today, utcnow

# Crockford base 32: no I, L, O or U, so a receipt read aloud or copied by hand survives.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECEIPT_CHARS = 20  # 20 x 5 bits = 100 bits
RECEIPT_GROUP = 5
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", "- \t\r\n_.\u3000\u2010\u2011\u2012\u2013\u2014\uff0d")

# A lookup takes at least this long whether or not the receipt exists.
LOOKUP_FLOOR_SECONDS = 0.05

LOCATION_MAX = 500
CONTACT_MAX = 200
DEFAULT_DEADLINE_DAYS = 7
DUPLICATE_RADIUS_M = 300.0
DUPLICATE_WINDOW = timedelta(days=30)
CENT = Decimal("0.01")

# The finding an accepted report opens has an id derived from the report's: a retried triage finds it.
REPORT_FINDING_NS = uuid.UUID("5d0f3c8e-2b7a-4c61-9e1d-7a4b8c2e6f10")


Status = ReportStatus

TRIAGE_STATUS = {"accept": Status.ACCEPTED, "reject": Status.REJECTED, "duplicate": Status.DUPLICATE}


# --------------------------------------------------------------------------- receipts and keyed hashes


def _mac(settings: Settings, purpose: str, value: str) -> bytes:
    return hmac.new(settings.secret_key.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).digest()


def _base32(raw: bytes) -> str:
    number = int.from_bytes(raw[:13], "big") >> 4  # 104 bits -> the first 100
    chars = []
    for _ in range(RECEIPT_CHARS):
        number, digit = divmod(number, 32)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def format_receipt(canonical: str) -> str:
    return "-".join(canonical[i : i + RECEIPT_GROUP] for i in range(0, len(canonical), RECEIPT_GROUP))


def new_receipt(settings: Settings, draft_id: uuid.UUID | None) -> str:
    """The canonical receipt (no dashes): derived from the draft id when there is one, else random."""
    raw = _mac(settings, "receipt", str(draft_id)) if draft_id else secrets.token_bytes(13)
    return _base32(raw)


def normalize_receipt(text: str) -> str | None:
    """What a person typed → the canonical receipt, or None when it cannot be one."""
    canonical = text[:64].upper().translate(_SEPARATORS).translate(_LOOKALIKES)
    if len(canonical) != RECEIPT_CHARS or any(c not in ALPHABET for c in canonical):
        return None
    return canonical


def receipt_hash(settings: Settings, canonical: str) -> str:
    return _mac(settings, "receipt-hash", canonical).hex()


def draft_hash(settings: Settings, draft_id: uuid.UUID) -> str:
    return _mac(settings, "draft", str(draft_id)).hex()


def _coarse(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


# --------------------------------------------------------------------------- submission


@dataclass
class Submission:
    category: str
    description: str
    location_text: str | None = None
    lat: float | None = None
    lng: float | None = None
    contact: str | None = None
    draft_id: uuid.UUID | None = None


def validate(settings: Settings, sub: Submission, photo_count: int) -> None:
    """The size and shape rules of a submission, checked before any photo is read."""
    if sub.category not in reference.report_category_names():
        raise Unprocessable(
            f"Unknown category {sub.category!r}; see GET /public/report-categories.", code="unknown_category"
        )
    if not sub.description:
        raise Unprocessable("Describe what is wrong.", code="description_required")
    if any(has_control_characters(t) for t in (sub.description, sub.location_text, sub.contact) if t):
        raise Unprocessable("The text contains control characters.", code="invalid_characters")
    if len(sub.description) > settings.report_max_description:
        raise Unprocessable(
            f"The description is {len(sub.description)} characters; at most "
            f"{settings.report_max_description} are accepted.",
            code="description_too_long",
        )
    if sub.location_text is not None and len(sub.location_text) > LOCATION_MAX:
        raise Unprocessable(
            f"The location is limited to {LOCATION_MAX} characters.", code="location_too_long"
        )
    if sub.contact is not None and len(sub.contact) > CONTACT_MAX:
        raise Unprocessable(f"The contact is limited to {CONTACT_MAX} characters.", code="contact_too_long")
    if (sub.lat is None) != (sub.lng is None):
        raise Unprocessable("Give both lat and lng, or neither.", code="invalid_position")
    if (
        sub.lat is not None
        and sub.lng is not None
        and not (
            math.isfinite(sub.lat)
            and math.isfinite(sub.lng)
            and -90 <= sub.lat <= 90
            and -180 <= sub.lng <= 180
        )
    ):
        raise Unprocessable("lat must be within ±90 and lng within ±180.", code="invalid_position")
    if photo_count > settings.report_max_photos:
        raise Unprocessable(
            f"At most {settings.report_max_photos} photos per report.", code="too_many_photos"
        )


def _reencode(processed: ProcessedImage) -> bytes:
    # The pipeline's fast path keeps the upload's compressed data (and so its quantisation tables, which
    # can tell the camera model). A reporter's photo is always encoded afresh here.
    with Image.open(io.BytesIO(processed.image)) as img:
        out = io.BytesIO()
        img.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
        return out.getvalue()


async def _clean_photos(settings: Settings, uploads: Sequence[bytes]) -> list[photo_service.PreparedPhoto]:
    """Validates and strips every photo before anything is written: one bad file refuses the report."""
    cleaned = []
    for data in uploads:
        processed = await photo_service.process(data, settings, public=True)
        if processed.fast_path:
            # Under the photo pipeline's thread cap, like all image work.
            limiter = photo_service._limiter(public=True)
            image = await anyio.to_thread.run_sync(_reencode, processed, limiter=limiter)
            processed = dataclasses.replace(processed, image=image, fast_path=False)
        # The hash is of what is kept, never of the reporter's own file, which could be matched against it.
        digest = hashlib.sha256(processed.image).hexdigest()
        cleaned.append(photo_service.PreparedPhoto(digest=digest, image=processed))
    return cleaned


async def submit(
    session: AsyncSession,
    storage: PhotoStorage,
    settings: Settings,
    sub: Submission,
    uploads: Sequence[bytes],
) -> tuple[str, Report, bool]:
    """Files a report. Returns (formatted receipt, report, created); a replayed draft is not created."""
    validate(settings, sub, len(uploads))
    # Image work first, before the first query opens the transaction (on SQLite, the write lock).
    cleaned = await _clean_photos(settings, uploads)
    d_hash = draft_hash(settings, sub.draft_id) if sub.draft_id else None
    if d_hash is not None:
        existing = await session.scalar(select(Report).where(Report.draft_hash == d_hash))
        if existing is not None:
            return _replay(settings, sub, existing)

    canonical = new_receipt(settings, sub.draft_id)
    now = _coarse(utcnow())
    report = Report(
        id=uuid.uuid4(),
        receipt_hash=receipt_hash(settings, canonical),
        draft_hash=d_hash,
        category=sub.category,
        description=sub.description,
        location_text=sub.location_text,
        lat=sub.lat,
        lng=sub.lng,
        contact=seal(settings, "contact", sub.contact) if sub.contact else None,
        photo_ids=[],
        created_at=now,
    )
    try:
        async with session.begin_nested():
            for prepared in cleaned:
                photo, _ = await photo_service.save(
                    session,
                    storage,
                    photo_id=uuid.uuid4(),
                    prepared=prepared,
                    uploaded_by=None,
                    purpose="report",
                )
                photo.created_at = now
                report.photo_ids.append(str(photo.id))
            report_lifecycle.apply(
                session,
                report,
                ReportAction.RECEIVE,
                actor_id=None,
                at=now,
                data={"photos": len(cleaned)},
            )
            session.add(report)
            await session.flush()
    except IntegrityError:
        # The same draft arrived twice at once: the other request filed it.
        if d_hash is None:
            raise
        winner = await session.scalar(select(Report).where(Report.draft_hash == d_hash))
        if winner is None:
            raise
        return _replay(settings, sub, winner)
    return format_receipt(canonical), report, True


def _replay(settings: Settings, sub: Submission, existing: Report) -> tuple[str, Report, bool]:
    if existing.category != sub.category or existing.description != sub.description:
        raise Conflict("This draft id was already used for another report.", code="draft_conflict")
    assert sub.draft_id is not None
    return format_receipt(new_receipt(settings, sub.draft_id)), existing, False


async def lookup(session: AsyncSession, settings: Settings, text: str) -> Report:
    """The report a receipt belongs to; 404 otherwise. Both outcomes do the same work and take at least
    LOOKUP_FLOOR_SECONDS, so the time to answer says nothing about whether a receipt exists."""
    started = time.monotonic()
    canonical = normalize_receipt(text)
    # A malformed receipt is hashed and looked up like any other (it matches nothing).
    digest = receipt_hash(settings, canonical if canonical is not None else "invalid:" + text[:64])
    report = await session.scalar(select(Report).where(Report.receipt_hash == digest))
    remaining = LOOKUP_FLOOR_SECONDS - (time.monotonic() - started)
    if remaining > 0:
        await anyio.sleep(remaining)
    if report is None:
        raise NotFound("No report has this receipt.", code="receipt_not_found")
    return report


# --------------------------------------------------------------------------- the office's view


def visible_reports(user: Principal) -> ColumnElement[bool]:
    # Until triage gives it an area, a report belongs to the town's report desk (every supervisor).
    if user.is_admin:
        return true()
    return or_(Report.area_code.is_(None), in_scope(user, Report.area_code))


async def get_report(
    session: AsyncSession, user: Principal, report_id: uuid.UUID, *, lock: bool = False
) -> Report:
    stmt = select(Report).where(Report.id == report_id, visible_reports(user))
    if lock:
        stmt = stmt.with_for_update()
    report = await session.scalar(stmt)
    if report is None:
        raise NotFound("No such report.", code="report_not_found")
    return report


@dataclass
class ReportFilters:
    status: str | None = None
    category: str | None = None
    area: str | None = None
    date_from: date | None = None
    date_to: date | None = None


async def list_reports(
    session: AsyncSession, user: Principal, filters: ReportFilters, limit: int | None, cursor: str | None
) -> tuple[list[Report], str | None]:
    stmt = select(Report).where(visible_reports(user))
    if filters.status:
        stmt = stmt.where(Report.status == filters.status)
    if filters.category:
        stmt = stmt.where(Report.category == filters.category)
    if filters.area:
        stmt = stmt.where(in_subtree(await filter_area_path(session, filters.area), Report.area_code))
    # Dates are days in Asia/Shanghai, both ends included.
    if filters.date_from:
        stmt = stmt.where(Report.created_at >= local_midnight(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(Report.created_at < local_midnight(filters.date_to + timedelta(days=1)))
    return await newest_first(session, stmt, Report.created_at, Report.id, limit, cursor)


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(a)))


def _near(lat_col: Any, lng_col: Any, lat: float, lng: float, radius: float) -> ColumnElement[bool]:
    # A bounding box the indexes can use; the exact distance is checked in Python afterwards.
    dlat = radius / 111_320
    dlng = radius / (111_320 * max(math.cos(math.radians(lat)), 0.01))
    return and_(lat_col.between(lat - dlat, lat + dlat), lng_col.between(lng - dlng, lng + dlng))


async def possible_duplicates(session: AsyncSession, user: Principal, report: Report) -> list[uuid.UUID]:
    """Reports of the 30 days before this one (or after it) within ~300 m of it, or about the same venue
    (the venue of its finding, or any venue within ~300 m of where it was reported)."""
    since = report.created_at - DUPLICATE_WINDOW
    base = and_(Report.id != report.id, Report.created_at >= since, visible_reports(user))
    found: dict[uuid.UUID, datetime] = {}
    venue_ids: set[uuid.UUID] = set()
    if report.lat is not None and report.lng is not None:
        lat, lng = report.lat, report.lng
        rows = await session.execute(
            select(Report.id, Report.created_at, Report.lat, Report.lng).where(
                base, _near(Report.lat, Report.lng, lat, lng, DUPLICATE_RADIUS_M)
            )
        )
        for rid, created, rlat, rlng in rows.all():
            if (
                rlat is not None
                and rlng is not None
                and distance_m(lat, lng, rlat, rlng) <= DUPLICATE_RADIUS_M
            ):
                found[rid] = created
        venues = await session.execute(
            select(Venue.id, Venue.lat, Venue.lng).where(
                _near(Venue.lat, Venue.lng, lat, lng, DUPLICATE_RADIUS_M)
            )
        )
        venue_ids |= {
            vid
            for vid, vlat, vlng in venues.all()
            if vlat is not None
            and vlng is not None
            and distance_m(lat, lng, vlat, vlng) <= DUPLICATE_RADIUS_M
        }
    if report.finding_id is not None:
        own_venue = await session.scalar(select(Finding.venue_id).where(Finding.id == report.finding_id))
        if own_venue is not None:
            venue_ids.add(own_venue)
    if venue_ids:
        same_venue = await session.execute(
            select(Report.id, Report.created_at)
            .join(Finding, Finding.report_id == Report.id)
            .where(base, Finding.venue_id.in_(venue_ids))
        )
        for rid, created in same_venue.all():
            found[rid] = created
    return [rid for rid, _ in sorted(found.items(), key=lambda kv: kv[1], reverse=True)]


async def events_of(session: AsyncSession, report_id: uuid.UUID) -> list[tuple[ReportEvent, str | None]]:
    events = list(
        (
            await session.scalars(
                select(ReportEvent).where(ReportEvent.report_id == report_id).order_by(ReportEvent.id)
            )
        ).all()
    )
    names = await finding_service.user_names(session, [e.actor_id for e in events])
    return [(e, names.get(e.actor_id) if e.actor_id else None) for e in events]


def category_name(code: str) -> str | None:
    return reference.report_category_names().get(code)


async def report_detail(session: AsyncSession, user: Principal, report: Report) -> dict[str, Any]:
    """The whole report as the office sees it (never the contact): its events and possible duplicates."""
    events = await events_of(session, report.id)
    return {
        **report_dict(report),
        "possible_duplicates": await possible_duplicates(session, user, report),
        "events": [
            {
                "action": e.action,
                "actor_id": e.actor_id,
                "actor_name": name,
                "at": e.at,
                "note": e.note,
                "data": e.data or {},
            }
            for e, name in events
        ],
    }


def report_dict(report: Report) -> dict[str, Any]:
    reward = None
    if report.reward_eligible is not None:
        reward = {
            "eligible": report.reward_eligible,
            "amount": report.reward_amount,
            "paid_at": report.reward_paid_at,
        }
    return {
        "id": report.id,
        "category": report.category,
        "category_name": category_name(report.category),
        "description": report.description,
        "location_text": report.location_text,
        "lat": report.lat,
        "lng": report.lng,
        "area_code": report.area_code,
        "status": report.status,
        "reply": report.reply,
        "photo_ids": report.photo_ids or [],
        "finding_id": report.finding_id,
        "duplicate_of_report_id": report.duplicate_of_report_id,
        "duplicate_of_finding_id": report.duplicate_of_finding_id,
        "has_contact": bool(report.contact),
        "reward": reward,
        "created_at": report.created_at,
        "updated_at": report.updated_at,
    }


def _event(
    report: Report,
    action: str,
    user: Principal | None,
    at: datetime,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> ReportEvent:
    return ReportEvent(
        report_id=report.id,
        action=action,
        actor_id=user.id if user else None,
        at=at,
        note=note,
        data=data or {},
    )


# --------------------------------------------------------------------------- triage


@dataclass
class Triage:
    action: str
    venue_id: uuid.UUID | None = None
    venue: dict[str, Any] | None = None  # a venue to register in the same call (with its "id")
    area_code: str | None = None
    severity: str = "general"
    title: str | None = None
    description: str | None = None
    location_text: str | None = None
    duplicate_of: uuid.UUID | None = None
    reply: str | None = None


def finding_id_for(report_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(REPORT_FINDING_NS, str(report_id))


def _default_title(report: Report) -> str:
    name = category_name(report.category) or report.category
    return f"群众举报：{name.split('；')[0][:80]}"


async def _same_triage(session: AsyncSession, report: Report, t: Triage) -> bool:
    """Whether `t` is the triage the report already had (a retry), so it may answer 200 unchanged."""
    wanted = TRIAGE_STATUS[t.action]
    current = Status.ACCEPTED if report.status == Status.RESOLVED else report.status
    if current != wanted or (report.reply or None) != (t.reply or None):
        return False
    if t.action == "duplicate":
        return t.duplicate_of in (report.duplicate_of_report_id, report.duplicate_of_finding_id)
    if t.action == "accept":
        finding = await session.get(Finding, report.finding_id) if report.finding_id else None
        if finding is None or finding.severity != t.severity:
            return False
        venue_id = t.venue["id"] if t.venue else t.venue_id
        if venue_id is not None and finding.venue_id != venue_id:
            return False
        if venue_id is None and t.area_code is not None and finding.area_code != t.area_code:
            return False
        if t.title is not None and finding.title != t.title:
            return False
        if t.location_text is not None and finding.location_text != t.location_text:
            return False
        return t.description is None or finding.description == t.description
    return True


async def triage(
    session: AsyncSession, user: Principal, settings: Settings, report_id: uuid.UUID, t: Triage
) -> Report:
    report = await get_report(session, user, report_id, lock=True)
    action = TRIAGE_ACTIONS[t.action]
    if not report_lifecycle.can(report, action):
        if await _same_triage(session, report, t):
            return report
        report_lifecycle.check(report, action)
    now = utcnow()
    data: dict[str, Any] = {"action": t.action}
    if t.action == "accept":
        finding = await _accept(session, user, settings, report, t, now)
        data |= {
            "finding_id": str(finding.id),
            "venue_id": str(finding.venue_id) if finding.venue_id else None,
            "area_code": finding.area_code,
            "severity": finding.severity,
        }
    elif t.action == "duplicate":
        assert t.duplicate_of is not None
        await _mark_duplicate(session, user, report, t.duplicate_of)
        data["duplicate_of"] = str(t.duplicate_of)
    report.reply = t.reply or None
    report_lifecycle.apply(session, report, action, actor_id=user.id, at=now, note=t.reply, data=data)
    await session.flush()
    return report


async def _accept(
    session: AsyncSession, user: Principal, settings: Settings, report: Report, t: Triage, now: datetime
) -> Finding:
    venue: Venue | None = None
    if t.venue is not None:
        fields = {k: v for k, v in t.venue.items() if k != "id"}
        venue, _ = await venue_service.put_venue(session, user, t.venue["id"], fields)
    elif t.venue_id is not None:
        try:
            venue = await venue_service.get_venue(session, user, t.venue_id)
        except NotFound as exc:
            raise Unprocessable("Unknown venue, or outside your areas.", code="venue_not_found") from exc
    area_code = venue.area_code if venue is not None else (t.area_code or report.area_code)
    if area_code is None:
        raise Unprocessable(
            "Accepting a report needs the venue (venue_id or venue) or at least an area_code.",
            code="area_required",
        )
    await require_area_in_scope(session, user, area_code)
    finding_id = finding_id_for(report.id)
    if await session.get(Finding, finding_id) is not None:
        raise Conflict("The finding of this report already exists.", code="already_triaged")
    deadline = finding_service.deadline_for(
        DEFAULT_DEADLINE_DAYS, t.severity == "major", local_today(now), settings.major_deadline_days_cap
    )
    finding = await finding_service.open_finding(
        session,
        finding_id=finding_id,
        area_code=area_code,
        source="report",
        title=t.title or _default_title(report),
        description=t.description or report.description,
        severity=t.severity,
        deadline=deadline,
        actor_id=user.id,
        at=now,
        venue_id=venue.id if venue else None,
        report_id=report.id,
        photo_ids=list(report.photo_ids or []),
        # The reporter's words (as the office released them: it may have left out what could point at the
        # reporter) and the place go with the finding to whoever rectifies it.
        note=t.description or report.description,
        location_text=t.location_text or report.location_text,
        lat=report.lat,
        lng=report.lng,
    )
    report.finding_id = finding.id
    report.area_code = area_code
    return finding


async def _mark_duplicate(session: AsyncSession, user: Principal, report: Report, target: uuid.UUID) -> None:
    if target == report.id:
        raise Unprocessable("A report cannot repeat itself.", code="duplicate_of_self")
    original = await session.scalar(select(Report).where(Report.id == target, visible_reports(user)))
    if original is not None:
        report.duplicate_of_report_id = original.id
        report.area_code = original.area_code
        return
    finding = await session.scalar(
        select(Finding).where(Finding.id == target, in_scope(user, Finding.area_code))
    )
    if finding is None:
        raise Unprocessable(
            "`duplicate_of` names no report or finding you can see.", code="duplicate_target_not_found"
        )
    report.duplicate_of_finding_id = finding.id
    report.area_code = finding.area_code


async def set_reply(session: AsyncSession, user: Principal, report_id: uuid.UUID, reply: str) -> Report:
    report = await get_report(session, user, report_id, lock=True)
    if report.reply == reply:
        return report
    now = utcnow()
    session.add(_event(report, "reply", user, now, note=reply, data={"before": report.reply}))
    report.reply = reply
    report.updated_at = now
    await session.flush()
    return report


async def on_finding_changed(session: AsyncSession, finding: Finding) -> None:
    """Called by the findings service after a verification or a void of a finding opened by a report."""
    if finding.report_id is None:
        return
    report = await session.get(Report, finding.report_id, with_for_update=True)
    if report is None:
        return
    now = utcnow()
    if finding.status == "closed" and report_lifecycle.can(report, ReportAction.RESOLVE):
        report_lifecycle.apply(
            session,
            report,
            ReportAction.RESOLVE,
            actor_id=None,
            at=now,
            data={"finding_id": str(finding.id)},
            public_at=finding.closed_at or now,
        )
    elif finding.status == "void":
        # The public status stays; the office may tell the reporter more with a reply.
        session.add(_event(report, "finding_void", None, now, data={"finding_id": str(finding.id)}))
    await session.flush()


# --------------------------------------------------------------------------- rewards and the contact


async def mark_reward(
    session: AsyncSession,
    user: Principal,
    report_id: uuid.UUID,
    eligible: bool,
    amount: Decimal | None,
    note: str | None,
) -> Report:
    report = await get_report(session, user, report_id, lock=True)
    amount = amount.quantize(CENT) if amount is not None else None
    if report.reward_paid_at is not None:
        raise Conflict("The reward of this report was already paid.", code="reward_already_paid")
    if eligible and report.status not in (Status.ACCEPTED, Status.RESOLVED):
        raise Conflict(
            f"Only an accepted report can earn a reward (this one is {report.status}).",
            code="not_rewardable",
            status_now=report.status,
        )
    if report.reward_eligible == eligible and report.reward_amount == amount:
        return report
    now = utcnow()
    session.add(
        _event(
            report,
            "reward",
            user,
            now,
            note=note,
            data={
                "eligible": {"before": report.reward_eligible, "after": eligible},
                "amount": {"before": _money(report.reward_amount), "after": _money(amount)},
            },
        )
    )
    report.reward_eligible = eligible
    report.reward_amount = amount
    await session.flush()
    return report


async def record_payment(
    session: AsyncSession, user: Principal, report_id: uuid.UUID, amount: Decimal, note: str | None
) -> Report:
    report = await get_report(session, user, report_id, lock=True)
    if not report.reward_eligible or report.reward_amount is None:
        raise Conflict("This report is not marked reward-eligible.", code="not_reward_eligible")
    if report.reward_paid_at is not None:
        raise Conflict("The reward of this report was already paid.", code="reward_already_paid")
    if Decimal(report.reward_amount).quantize(CENT) != amount.quantize(CENT):
        raise Unprocessable(
            f"The amount differs from the reward set for this report ({report.reward_amount}).",
            code="amount_mismatch",
        )
    now = utcnow()
    report.reward_paid_at = now
    session.add(_event(report, "reward_paid", user, now, note=note, data={"amount": _money(amount)}))
    await session.flush()
    return report


async def read_contact(
    session: AsyncSession, settings: Settings, user: Principal, report_id: uuid.UUID
) -> tuple[Report, str | None]:
    """The reporter's contact, for paying a reward: admins only, and every reading is on the record."""
    report = await get_report(session, user, report_id)
    session.add(_event(report, "contact_read", user, utcnow(), data={"had_contact": bool(report.contact)}))
    await session.flush()
    if not report.contact:
        return report, None
    try:
        return report, unseal(settings, "contact", report.contact)
    except SealBroken as exc:
        raise Conflict(
            "The contact was sealed under an earlier server secret and cannot be read.",
            code="contact_unreadable",
        ) from exc


def _money(value: Decimal | float | None) -> str | None:
    return None if value is None else f"{Decimal(value):.2f}"
