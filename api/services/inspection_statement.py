"""A new inspection on PostgreSQL in one statement, one round trip.

The phone's common case — a new inspection at a venue in reach, with photos it may use — is the busiest
write of the system. Through the ORM it took eight round trips (BEGIN, the venue, the exactly-once insert,
the finding counter, the findings, their events, the photos' area, COMMIT) and most of its CPU went to
building and sending them. Here the same rows go in as one statement of data-modifying CTEs, which
PostgreSQL runs as one transaction of its own (committed, and its WAL flushed, before it answers):

- `drawn`: the live 双随机 draws that send the inspector to this venue, share-locked: a void (which locks
  its draw) either waits for this inspection and then finds its target inspected, or this statement waits
  for the void and then finds the venue out of reach. Draws send inspectors only outside their own areas,
  so an inspection in those areas locks nothing;
- `v`: the venue if the inspector may reach it (their areas, or a draw), with how many of the
  photos they may attach to it (the rule of `findings.check_photos`);
- `ins`: the inspection, inserted only when the venue's kind is one the answers fit and every photo is
  usable, `ON CONFLICT (id) DO NOTHING` (the client's id is the arbiter of exactly once);
- `counter`, `f`, `e`: the year's finding counter raised once, the findings numbered from it, and their
  creation events (only when `ins` inserted);
- `p`: the photos take the venue's area.

The rows are the ones the other path makes (`findings.new_finding`, `lifecycle.event_values`, the
numbering order of `numbering.in_order`); only the writing differs. When the statement inserts nothing
(an unknown venue, a wrong kind, an unusable photo, a retry, a race) the caller goes the ordinary way,
which finds out what happened and answers as it always did, so every refusal has one implementation.

Known limit, shared with the ordinary path: the photos are checked in the statement's snapshot and not locked,
so one unattached photo sent at the same moment in two inspections of different areas is accepted by both
(it takes the first one's area). A phone never sends a photo twice; locking the photos would serialise every
inspection that cites the same one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from api.models import Finding, FindingCounter, FindingEvent, Inspection
from api.services import direct, numbering
from api.services.auth import Principal
from api.services.direct import sql_type, wire, wire_all
from api.services.findings import new_finding
from api.services.scope import in_scope_sql

_INSPECTIONS: Table = Inspection.__table__  # type: ignore[assignment]
_FINDINGS: Table = Finding.__table__  # type: ignore[assignment]
_EVENTS: Table = FindingEvent.__table__  # type: ignore[assignment]
# Columns the statement fills from what it finds, not from the rows it is given.
_FROM_VENUE = {"area_code"}
_FROM_COUNTER = {"number"}


def _shape() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns of a finding and of its creation event, as the rules make them."""
    finding, event = new_finding(
        finding_id=uuid.UUID(int=0),
        area_code="",
        source="inspection",
        title="",
        severity="general",
        deadline=date(2000, 1, 1),
        actor_id=None,
        at=datetime(2000, 1, 1, tzinfo=UTC),
    )
    return tuple(c for c in finding if c not in _FROM_VENUE | _FROM_COUNTER), tuple(event)


_SHAPE = _shape()


class _Params:
    """Positional parameters ($1, $2, ...) of the statement being built, each cast to its column's type."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add(self, name: str, sql_type: str) -> str:
        self.names.append(name)
        return f"${len(self.names)}::{sql_type}"


def _build(
    inspection_cols: tuple[str, ...], finding_cols: tuple[str, ...], event_cols: tuple[str, ...], admin: bool
) -> tuple[str, list[str]]:
    p = _Params()
    user = p.add("user_id", "uuid")
    paths = None if admin else p.add("area_paths", "text[]")  # an admin's scope is everything
    venue_id = p.add("venue_id", "uuid")
    photo_ids = p.add("photo_ids", "uuid[]")
    photo_count = p.add("photo_count", "integer")
    kinds = p.add("venue_kinds", "text[]")
    year = p.add("year", "integer")
    finding_count = p.add("finding_count", "integer")

    def scope(column: str) -> str:
        return "TRUE" if paths is None else in_scope_sql(column, paths)

    ins_values = [
        "v.area_code" if c in _FROM_VENUE else p.add(f"i.{c}", sql_type(_INSPECTIONS, c))
        for c in inspection_cols
    ]
    f_arrays = [p.add(f"f.{c}", sql_type(_FINDINGS, c) + "[]") for c in finding_cols]
    e_arrays = [p.add(f"e.{c}", sql_type(_EVENTS, c) + "[]") for c in event_cols]
    serial = f"counter.last - {finding_count} + u.ord"
    counters = FindingCounter.__tablename__
    sql = f"""
WITH drawn AS (
  SELECT draws.id FROM draws JOIN draw_assignments ON draw_assignments.draw_id = draws.id
  WHERE draw_assignments.inspector_id = {user} AND draw_assignments.venue_id = {venue_id}
    AND draws.voided_at IS NULL
  FOR SHARE OF draws
), v AS (
  SELECT venues.id, venues.area_code, venues.kind,
    (SELECT count(*) FROM photos
      WHERE photos.id = ANY({photo_ids})
        AND (photos.uploaded_by = {user} OR {scope("photos.area_code")})
        AND (photos.area_code IS NULL OR photos.area_code = venues.area_code)) AS usable
  FROM venues
  WHERE venues.id = {venue_id}
    AND ({scope("venues.area_code")} OR EXISTS (SELECT 1 FROM drawn))
), ins AS (
  INSERT INTO inspections ({", ".join(inspection_cols)})
  SELECT {", ".join(ins_values)} FROM v
  WHERE v.kind = ANY({kinds}) AND v.usable = {photo_count}
  ON CONFLICT (id) DO NOTHING
  RETURNING area_code
), counter AS (
  INSERT INTO {counters} (year, last) SELECT {year}, {finding_count} FROM ins WHERE {finding_count} > 0
  ON CONFLICT (year) DO UPDATE SET last = {counters}.last + excluded.last
  RETURNING last
), f AS (
  INSERT INTO findings (number, area_code, {", ".join(finding_cols)})
  SELECT {numbering.number_sql(year, serial)}, ins.area_code, {", ".join(f"u.{c}" for c in finding_cols)}
  FROM ins, counter, unnest({", ".join(f_arrays)}) WITH ORDINALITY AS u({", ".join(finding_cols)}, ord)
), e AS (
  INSERT INTO finding_events ({", ".join(event_cols)})
  SELECT {", ".join(f"u.{c}" for c in event_cols)}
  FROM ins, unnest({", ".join(e_arrays)}) AS u({", ".join(event_cols)})
), p AS (
  UPDATE photos SET area_code = ins.area_code FROM ins
  WHERE photos.id = ANY({photo_ids}) AND photos.area_code IS NULL
)
SELECT area_code FROM ins"""
    return sql, p.names


_STATEMENTS: dict[tuple[Any, ...], tuple[str, list[str]]] = {}


def _statement(
    inspection_cols: tuple[str, ...], finding_cols: tuple[str, ...], event_cols: tuple[str, ...], admin: bool
) -> tuple[str, list[str]]:
    key = (inspection_cols, finding_cols, event_cols, admin)
    if (built := _STATEMENTS.get(key)) is None:
        built = _STATEMENTS[key] = _build(inspection_cols, finding_cols, event_cols, admin)
    return built


async def insert_new(
    session: AsyncSession,
    user: Principal,
    *,
    inspection: dict[str, Any],
    findings: Sequence[tuple[dict[str, Any], dict[str, Any]]],
    photo_ids: Sequence[str],
    venue_kinds: Sequence[str],
) -> str | None:
    """Writes a new inspection with its findings and events in one statement. Returns the venue's area
    when it went in; None when nothing was written (the caller then goes the ordinary way).

    `inspection` holds every column but `area_code`; `findings` are `findings.new_finding`'s rows, all
    created with the inspection (their `area_code` and `number` are filled in here).
    """
    ordered = numbering.in_order([f for f, _ in findings])
    events = {e["finding_id"]: e for _, e in findings}
    inspection_cols = (*(c for c in inspection if c not in _FROM_VENUE), "area_code")
    finding_cols, event_cols = _SHAPE
    sql, names = _statement(inspection_cols, finding_cols, event_cols, user.is_admin)
    values: dict[str, Any] = {
        "user_id": user.id,
        "venue_id": inspection["venue_id"],
        "photo_ids": [uuid.UUID(p) for p in photo_ids],
        "photo_count": len(photo_ids),
        "venue_kinds": list(venue_kinds),
        "year": numbering.year_of(inspection["created_at"]),
        "finding_count": len(ordered),
    }
    if not user.is_admin:  # an admin's statement has no scope to pass
        values["area_paths"] = list(user.area_paths)
    for c in inspection_cols:
        if c not in _FROM_VENUE:
            values[f"i.{c}"] = wire(_INSPECTIONS, c, inspection[c])
    for c in finding_cols:
        values[f"f.{c}"] = wire_all(_FINDINGS, c, [row[c] for row in ordered])
    for c in event_cols:
        values[f"e.{c}"] = wire_all(_EVENTS, c, [events[row["id"]][c] for row in ordered])
    area: str | None = await direct.fetchval(session, sql, *(values[n] for n in names))
    return area
