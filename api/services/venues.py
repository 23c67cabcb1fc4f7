from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import NotFound, Unprocessable
from api.models import Area, Finding, Inspection, Venue
from api.services import reference, schedules
from api.services.areas import filter_area_path, require_area_in_scope
from api.services.auth import Principal
from api.services.draws import assigned_venues
from api.services.once import insert_or_winner
from api.services.pagination import clamp_limit, decode_cursor, encode_cursor
from api.services.scope import in_scope, in_subtree, path_in_scope
from api.timeutil import local_today

VENUE_FIELDS = (
    "name",
    "kind",
    "address",
    "area_code",
    "lat",
    "lng",
    "owner_name",
    "owner_phone",
    "risk_level",
    "built_year",
)


def validate_kind(kind: str) -> None:
    if kind not in reference.venue_kind_codes():
        raise Unprocessable(f"Unknown venue kind {kind!r}; see GET /venue-kinds.", code="unknown_venue_kind")


async def put_venue(
    session: AsyncSession, user: Principal, venue_id: uuid.UUID, data: dict[str, Any]
) -> tuple[Venue, bool]:
    """Creates the venue under the client's id, or replaces its fields. Returns (venue, created)."""
    validate_kind(data["kind"])
    await require_area_in_scope(session, user, data["area_code"])
    venue = await session.get(Venue, venue_id, with_for_update=True)
    if venue is None:
        venue = Venue(id=venue_id, created_by=user.id, **{k: data.get(k) for k in VENUE_FIELDS})
        if venue.risk_level is None:
            venue.risk_level = "normal"
        venue, inserted = await insert_or_winner(session, venue, lock=True)
        if inserted:
            return venue, True
        # Two PUTs of a new venue raced and the other one created it: this one updates it.
    await _require_in_scope(session, user, venue)
    for key in VENUE_FIELDS:
        setattr(venue, key, data.get(key) if key != "risk_level" else (data.get(key) or "normal"))
    await session.flush()
    return venue, False


async def _require_in_scope(session: AsyncSession, user: Principal, venue: Venue) -> None:
    path = await session.scalar(select(Area.path).where(Area.code == venue.area_code))
    if path is None or not path_in_scope(user, path):
        raise NotFound("No such venue.", code="venue_not_found")


def visible(user: Principal) -> ColumnElement[bool]:
    """A user's venues: those of their areas, and those a 双随机 draw sent them to."""
    return or_(in_scope(user, Venue.area_code), Venue.id.in_(assigned_venues(user)))


async def get_venue(session: AsyncSession, user: Principal, venue_id: uuid.UUID) -> Venue:
    venue = await session.scalar(select(Venue).where(Venue.id == venue_id, visible(user)))
    if venue is None:
        raise NotFound("No such venue.", code="venue_not_found")
    return venue


@dataclass
class VenueFilters:
    q: str | None = None
    kind: str | None = None
    area: str | None = None
    risk_level: str | None = None
    # Only venues whose next inspection is due by today + within_days (Asia/Shanghai, the server's clock).
    due: bool = False
    within_days: int = 0


def _last_received() -> Any:
    # The schedule counts from when the server received an inspection, never from the phone's clock.
    return select(func.max(Inspection.created_at)).where(Inspection.venue_id == Venue.id).scalar_subquery()


def _with_stats(stmt: Select[Any]) -> Select[Any]:
    last = select(func.max(Inspection.submitted_at)).where(Inspection.venue_id == Venue.id).scalar_subquery()
    open_count = (
        select(func.count(Finding.id))
        .where(Finding.venue_id == Venue.id, Finding.status.in_(("open", "submitted")))
        .scalar_subquery()
    )
    return stmt.add_columns(
        last.label("last_inspected_at"),
        open_count.label("open_findings"),
        _last_received().label("last_received_at"),
    )


Row = tuple[Venue, datetime | None, int, datetime | None]


async def list_venues(
    session: AsyncSession,
    user: Principal,
    filters: VenueFilters,
    limit: int | None,
    cursor: str | None,
    schedule: schedules.Schedule | None = None,
) -> tuple[list[Row], str | None]:
    limit = clamp_limit(limit)
    stmt = _with_stats(select(Venue).where(visible(user)))
    if filters.due:
        stmt = stmt.where(
            schedules.due_clause(
                schedule or schedules.load(), _last_received(), local_today(), filters.within_days
            )
        )
    if filters.q:
        # Searching "100%" or "a_b" means those characters, not LIKE wildcards.
        q = filters.q.strip()
        stmt = stmt.where(
            or_(
                Venue.name.icontains(q, autoescape=True),
                Venue.address.icontains(q, autoescape=True),
                Venue.owner_name.icontains(q, autoescape=True),
            )
        )
    if filters.kind:
        stmt = stmt.where(Venue.kind == filters.kind)
    if filters.risk_level:
        stmt = stmt.where(Venue.risk_level == filters.risk_level)
    if filters.area:
        stmt = stmt.where(in_subtree(await filter_area_path(session, filters.area), Venue.area_code))
    if cursor:
        name, vid = decode_cursor(cursor, 2)
        try:
            c_id = uuid.UUID(vid)
        except ValueError as exc:
            raise Unprocessable("The cursor is not one this server gave out.", code="invalid_cursor") from exc
        stmt = stmt.where(or_(Venue.name > name, and_(Venue.name == name, Venue.id > c_id)))
    stmt = stmt.order_by(Venue.name, Venue.id).limit(limit + 1)
    rows = [(v, last, int(n or 0), received) for v, last, n, received in (await session.execute(stmt)).all()]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        v = rows[-1][0]
        next_cursor = encode_cursor(v.name, v.id)
    return rows, next_cursor


async def venue_stats(
    session: AsyncSession, venue_id: uuid.UUID
) -> tuple[datetime | None, int, datetime | None]:
    row = (await session.execute(_with_stats(select(Venue.id).where(Venue.id == venue_id)))).one()
    return row[1], int(row[2] or 0), row[3]


def venue_dict(
    venue: Venue,
    last_inspected_at: datetime | None = None,
    open_findings: int = 0,
    last_received_at: datetime | None = None,
    *,
    schedule: schedules.Schedule | None = None,
    within_days: int = 0,
) -> dict[str, Any]:
    today = local_today()
    last_on, next_due = schedules.next_due(schedule or schedules.load(), venue, last_received_at, today)
    return {
        "id": venue.id,
        **{k: getattr(venue, k) for k in VENUE_FIELDS},
        "last_inspected_at": last_inspected_at,
        "open_findings": open_findings,
        "last_inspected_on": last_on,
        "next_due": next_due,
        "due": next_due <= today + timedelta(days=within_days),
    }
