"""双随机 draws (random targets, random inspectors, results published: 国办发〔2015〕58号, 国发〔2019〕5号).

The method ("sgdraw-1"), which `run_draw` implements and `safegrid draw verify` re-runs:

1. The population is the venues matching the filter when the draw is made, as `[venue_id, area_path]`,
   sorted by venue id (the lowercase UUID string). The eligible inspectors are the active users with the
   inspector role who work somewhere in the drawing supervisor's areas, as `[user_id, [area_path, ...]]`,
   sorted by user id. Both snapshots are stored with the draw.
2. The seed is 128 bits from `secrets.token_hex(16)`. The generator is `random.Random(int(seed, 16))`,
   private to the draw (never the process's global random state).
3. Targets: a partial Fisher–Yates shuffle of the population: for i = 0 … n−1, j = rng.randrange(i, N),
   swap entries i and j; the first n entries, in that order, are the targets.
4. Inspectors, target by target in that order: the candidates are the eligible inspectors (in snapshot
   order) none of whose areas overlaps the target's area (one area path a prefix of the other: the
   target's own grid or village inspector is never drawn); the same partial Fisher–Yates over the
   candidates picks `inspectors_per_target` of them, continuing with the same generator.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Conflict, NotFound, Unprocessable
from api.models import Area, Draw, DrawAssignment, Inspection, User, UserArea, Venue
from api.schemas.draws import DrawIn
from api.services import lifecycle, reference
from api.services.areas import require_area_in_scope
from api.services.auth import Principal
from api.services.once import insert_or_winner
from api.services.pagination import newest_first
from api.services.scope import in_scope, path_starts_with
from api.timeutil import LOCAL_TZ, local_today, utcnow

METHOD = "sgdraw-1"
MIN_RATIO = 0.05
MIN_INSPECTORS_PER_TARGET = 2
DEFAULT_DUE_DAYS = 30


class NotEnoughInspectors(Exception):
    def __init__(self, venue_id: str, available: int) -> None:
        super().__init__(venue_id)
        self.venue_id = venue_id
        self.available = available


def _overlaps(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


def _pick(rng: random.Random, pool: Sequence[Any], n: int) -> list[Any]:
    items = list(pool)
    for i in range(n):
        j = rng.randrange(i, len(items))
        items[i], items[j] = items[j], items[i]
    return items[:n]


def run_draw(
    seed: str,
    population: Sequence[Sequence[Any]],
    inspectors: Sequence[Sequence[Any]],
    count: int,
    per_target: int,
) -> list[tuple[str, list[str]]]:
    """The draw itself, a pure function of its stored inputs: [(venue_id, [inspector_id, ...]), ...]."""
    rng = random.Random(int(seed, 16))
    result = []
    for venue_id, venue_path in _pick(rng, population, count):
        candidates = [uid for uid, paths in inspectors if not any(_overlaps(venue_path, p) for p in paths)]
        if len(candidates) < per_target:
            raise NotEnoughInspectors(str(venue_id), len(candidates))
        result.append((str(venue_id), [str(u) for u in _pick(rng, candidates, per_target)]))
    return result


def _digest(body: DrawIn) -> str:
    canonical = json.dumps(
        body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _target_count(body: DrawIn, size: int) -> int:
    if (body.count is None) == (body.ratio is None):
        raise Unprocessable("Give either a count or a ratio of the population.", code="count_or_ratio")
    if body.ratio is not None:
        if body.ratio < MIN_RATIO:
            raise Unprocessable(
                f"A ratio below {MIN_RATIO:.0%} of the population is not a draw.", code="ratio_too_small"
            )
        return max(1, math.ceil(body.ratio * size - 1e-9))
    assert body.count is not None
    if body.count > size:
        raise Unprocessable(
            f"Asked for {body.count} targets from a population of {size}.", code="count_exceeds_population"
        )
    return body.count


async def _population(session: AsyncSession, area_path: str, body: DrawIn) -> list[list[str]]:
    stmt = (
        select(Venue.id, Area.path)
        .join(Area, Area.code == Venue.area_code)
        .where(path_starts_with(Area.path, area_path))
    )
    if body.kinds:
        stmt = stmt.where(Venue.kind.in_(body.kinds))
    if body.risk_levels:
        stmt = stmt.where(Venue.risk_level.in_(body.risk_levels))
    rows = [[str(vid), path] for vid, path in (await session.execute(stmt)).all()]
    return sorted(rows)


async def _eligible_inspectors(session: AsyncSession, user: Principal) -> list[list[Any]]:
    stmt = (
        select(User.id, Area.path)
        .join(UserArea, UserArea.user_id == User.id)
        .join(Area, Area.code == UserArea.area_code)
        .where(User.role == "inspector", User.active.is_(True))
    )
    paths: dict[str, list[str]] = {}
    for uid, path in (await session.execute(stmt)).all():
        paths.setdefault(str(uid), []).append(path)
    if not user.is_admin:
        paths = {
            uid: ps
            for uid, ps in paths.items()
            if any(p.startswith(mine) for p in ps for mine in user.area_paths)
        }
    return [[uid, sorted(ps)] for uid, ps in sorted(paths.items())]


async def create_draw(session: AsyncSession, user: Principal, body: DrawIn) -> tuple[Draw, bool]:
    """Makes the draw exactly once under the client's id. Returns (draw, created)."""
    digest = _digest(body)
    existing = await session.get(Draw, body.id)
    if existing is not None:
        return _replay(existing, digest, user), False
    for kind in body.kinds:
        if kind not in reference.venue_kind_codes():
            raise Unprocessable(
                f"Unknown venue kind {kind!r}; see GET /venue-kinds.", code="unknown_venue_kind"
            )
    if body.inspectors_per_target < MIN_INSPECTORS_PER_TARGET:
        raise Unprocessable(
            f"At least {MIN_INSPECTORS_PER_TARGET} inspectors go to each target.", code="too_few_inspectors"
        )
    area = await require_area_in_scope(session, user, body.area_code)
    population = await _population(session, area.path, body)
    if not population:
        raise Unprocessable("No venue matches the filter: nothing to draw from.", code="empty_population")
    count = _target_count(body, len(population))
    inspectors = await _eligible_inspectors(session, user)
    seed = secrets.token_hex(16)
    try:
        drawn = run_draw(seed, population, inspectors, count, body.inspectors_per_target)
    except NotEnoughInspectors as exc:
        raise Unprocessable(
            f"Only {exc.available} inspector(s) from outside the area of venue {exc.venue_id} can be drawn; "
            f"{body.inspectors_per_target} are needed for each target.",
            code="not_enough_inspectors",
            venue_id=exc.venue_id,
        ) from None
    now = utcnow()
    due_on = body.due_on or local_today(now) + timedelta(days=DEFAULT_DUE_DAYS)
    if due_on < local_today(now):
        raise Unprocessable("The due date has passed.", code="due_date_passed")
    # A slip such as 2099 would leave the task on the drawn inspectors' lists for years (a draw can be voided
    # only until its first target is inspected).
    lifecycle.refuse_far_deadline(due_on, local_today(now))
    draw = Draw(
        id=body.id,
        area_code=area.code,
        kinds=sorted(set(body.kinds)),
        risk_levels=sorted(set(body.risk_levels)),
        requested_count=body.count,
        ratio=body.ratio,
        inspectors_per_target=body.inspectors_per_target,
        due_on=due_on,
        method=METHOD,
        seed=seed,
        population=population,
        inspectors=inspectors,
        body_sha256=digest,
        created_by=user.id,
        created_at=now,
    )
    draw, inserted = await insert_or_winner(session, draw)
    if not inserted:  # the same draw was sent twice at once; the other one made it
        return _replay(draw, digest, user), False
    for position, (venue_id, inspector_ids) in enumerate(drawn):
        for slot, inspector_id in enumerate(inspector_ids):
            session.add(
                DrawAssignment(
                    draw_id=draw.id,
                    venue_id=uuid.UUID(venue_id),
                    inspector_id=uuid.UUID(inspector_id),
                    position=position,
                    slot=slot,
                    due_on=due_on,
                )
            )
    await session.flush()
    return draw, True


def _replay(existing: Draw, digest: str, user: Principal) -> Draw:
    if existing.body_sha256 != digest or existing.created_by != user.id:
        raise Conflict("This draw id already holds a different draw.", code="draw_conflict")
    return existing


async def get_draw(session: AsyncSession, user: Principal, draw_id: uuid.UUID, *, lock: bool = False) -> Draw:
    """The draw if it lies in the user's areas (404 otherwise); `lock` takes its row (on PostgreSQL) until the
    transaction ends, for a change decided on what it reads."""
    stmt = select(Draw).where(Draw.id == draw_id, in_scope(user, Draw.area_code))
    draw = await session.scalar(stmt.with_for_update() if lock else stmt)
    if draw is None:
        raise NotFound("No such draw.", code="draw_not_found")
    return draw


async def void_draw(session: AsyncSession, user: Principal, draw_id: uuid.UUID, reason: str) -> Draw:
    """作废: a draw made by mistake (the wrong area, count or date) stops sending inspectors anywhere and
    stays on record, on its public page too, with the reason; the office then makes a new one. Only before
    any target is inspected: once one is, the draw is under way and its results are published as they are.
    The same reason again is a retry; another reason for a voided draw, a conflict."""
    # Locked, so that two voids, or a void and its retry, are decided one at a time.
    draw = await get_draw(session, user, draw_id, lock=True)
    if draw.voided_at is not None:
        if draw.void_reason != reason:
            raise Conflict("This draw was voided already, for another reason.", code="draw_voided")
        return draw
    targets = (await targets_of(session, [draw]))[draw.id]
    if any(t.inspection is not None for t in targets):
        raise Conflict(
            "A target of this draw has been inspected: the draw is under way and can no longer be voided.",
            code="draw_started",
        )
    draw.voided_at, draw.voided_by, draw.void_reason = utcnow(), user.id, reason
    await session.flush()
    return draw


async def list_draws(
    session: AsyncSession, user: Principal, limit: int | None, cursor: str | None
) -> tuple[list[Draw], str | None]:
    stmt = select(Draw).where(in_scope(user, Draw.area_code))
    return await newest_first(session, stmt, Draw.created_at, Draw.id, limit, cursor)


@dataclass
class Target:
    position: int
    venue_id: uuid.UUID
    inspector_ids: list[uuid.UUID]
    inspection: Inspection | None = None


async def targets_of(session: AsyncSession, draws: Sequence[Draw]) -> dict[uuid.UUID, list[Target]]:
    """Each draw's targets in draw order, with the first inspection a drawn inspector made of the target
    after the draw (its result)."""
    if not draws:
        return {}
    rows = (
        await session.scalars(
            select(DrawAssignment)
            .where(DrawAssignment.draw_id.in_([d.id for d in draws]))
            .order_by(DrawAssignment.draw_id, DrawAssignment.position, DrawAssignment.slot)
        )
    ).all()
    out: dict[uuid.UUID, list[Target]] = {d.id: [] for d in draws}
    by_key: dict[tuple[uuid.UUID, int], Target] = {}
    for a in rows:
        key = (a.draw_id, a.position)
        if key not in by_key:
            by_key[key] = Target(a.position, a.venue_id, [])
            out[a.draw_id].append(by_key[key])
        by_key[key].inspector_ids.append(a.inspector_id)
    created = {d.id: d.created_at for d in draws}
    # A voided draw's results end when it was voided (none, as it was voided before any): a visit after
    # that is another draw's, or no draw's, even by the same inspector at the same venue.
    ended = {d.id: d.voided_at for d in draws}

    def within(draw_id: uuid.UUID) -> Any:
        end = ended[draw_id]
        start = Inspection.created_at >= created[draw_id]
        return start if end is None else and_(start, Inspection.created_at < end)

    pairs = [
        and_(Inspection.venue_id == t.venue_id, Inspection.inspector_id.in_(t.inspector_ids), within(draw_id))
        for draw_id, ts in out.items()
        for t in ts
    ]
    if not pairs:
        return out
    inspections: list[Inspection] = []
    for i in range(0, len(pairs), 200):  # a bounded OR per query
        stmt = (
            select(Inspection).where(or_(*pairs[i : i + 200])).order_by(Inspection.created_at, Inspection.id)
        )
        inspections += list((await session.scalars(stmt)).all())
    for draw_id, ts in out.items():
        end = ended[draw_id]
        for t in ts:
            t.inspection = next(
                (
                    ins
                    for ins in inspections
                    if ins.venue_id == t.venue_id
                    and ins.inspector_id in t.inspector_ids
                    and ins.created_at >= created[draw_id]
                    and (end is None or ins.created_at < end)
                ),
                None,
            )
    return out


def outcome(inspection: Inspection | None) -> tuple[int | None, str | None]:
    if inspection is None:
        return None, None
    n = sum(1 for a in inspection.answers if a.get("result") == "fail")  # one finding per failed item
    return n, ("合格" if n == 0 else f"发现隐患 {n} 项")


async def _names(session: AsyncSession, model: Any, ids: set[uuid.UUID], column: Any) -> dict[uuid.UUID, Any]:
    if not ids:
        return {}
    rows = await session.execute(select(model.id, column).where(model.id.in_(list(ids))))
    return {i: v for i, v in rows.all()}


async def draw_dict(session: AsyncSession, draw: Draw) -> dict[str, Any]:
    targets = (await targets_of(session, [draw]))[draw.id]
    venues = (
        {
            v.id: v
            for v in (
                await session.scalars(select(Venue).where(Venue.id.in_([t.venue_id for t in targets])))
            ).all()
        }
        if targets
        else {}
    )
    people = await _names(session, User, {u for t in targets for u in t.inspector_ids}, User.display_name)
    out_targets = []
    for t in targets:
        findings, text = outcome(t.inspection)
        venue = venues.get(t.venue_id)
        out_targets.append(
            {
                "position": t.position,
                "venue_id": t.venue_id,
                "venue_name": venue.name if venue else None,
                "area_code": venue.area_code if venue else None,
                "inspectors": [{"id": u, "display_name": people.get(u)} for u in t.inspector_ids],
                "inspection_id": t.inspection.id if t.inspection else None,
                "inspected_at": t.inspection.created_at if t.inspection else None,
                "findings": findings,
                "outcome": text,
            }
        )
    return {
        "id": draw.id,
        "area_code": draw.area_code,
        "kinds": draw.kinds,
        "risk_levels": draw.risk_levels,
        "requested_count": draw.requested_count,
        "ratio": draw.ratio,
        "count": len(targets),
        "inspectors_per_target": draw.inspectors_per_target,
        "due_on": draw.due_on,
        "method": draw.method,
        "seed": draw.seed,
        "population_size": len(draw.population),
        "population": [row[0] for row in draw.population],
        "eligible_inspectors": len(draw.inspectors),
        "created_by": draw.created_by,
        "created_at": draw.created_at,
        "voided_at": draw.voided_at,
        "void_reason": draw.void_reason,
        "targets": out_targets,
    }


async def summaries(session: AsyncSession, draws: Sequence[Draw]) -> list[dict[str, Any]]:
    targets = await targets_of(session, draws)
    return [
        {
            "id": d.id,
            "area_code": d.area_code,
            "count": len(targets[d.id]),
            "population_size": len(d.population),
            "due_on": d.due_on,
            "inspected": sum(1 for t in targets[d.id] if t.inspection is not None),
            "created_at": d.created_at,
            "voided_at": d.voided_at,
        }
        for d in draws
    ]


async def public_draw(session: AsyncSession, draw_id: uuid.UUID) -> dict[str, Any]:
    """The published draw: venue names and outcomes only (no owner, phone or inspector)."""
    draw = await session.get(Draw, draw_id)
    if draw is None:
        raise NotFound("No such draw.", code="draw_not_found")
    targets = (await targets_of(session, [draw]))[draw.id]
    names = await _names(session, Venue, {t.venue_id for t in targets}, Venue.name)
    area = await session.get(Area, draw.area_code)
    kind_names = {k["code"]: k["name"] for k in reference.venue_kinds()}
    results = []
    for t in targets:
        _, text = outcome(t.inspection)
        results.append(
            {
                "venue_name": names.get(t.venue_id, ""),
                "inspected_on": t.inspection.created_at.astimezone(LOCAL_TZ).date() if t.inspection else None,
                "outcome": text,
            }
        )
    return {
        "id": draw.id,
        "drawn_on": draw.created_at.astimezone(LOCAL_TZ).date(),
        "area_name": area.name if area else draw.area_code,
        "kinds": draw.kinds,
        "kind_names": [kind_names.get(k, k) for k in draw.kinds],
        "risk_levels": draw.risk_levels,
        "population_size": len(draw.population),
        "count": len(targets),
        "inspectors_per_target": draw.inspectors_per_target,
        "method": draw.method,
        "seed": draw.seed,
        "due_on": draw.due_on,
        "voided_on": draw.voided_at.astimezone(LOCAL_TZ).date() if draw.voided_at else None,
        "void_reason": draw.void_reason,
        "results": results,
    }


def assigned_venues(user: Principal) -> Select[Any]:
    """The venues a 双随机 draw sent this user to: in reach although outside their own areas (not by a voided
    draw, which sends no one anywhere)."""
    return (
        select(DrawAssignment.venue_id)
        .join(Draw, Draw.id == DrawAssignment.draw_id)
        .where(DrawAssignment.inspector_id == user.id, Draw.voided_at.is_(None))
    )


async def sent_by_voided_draw(session: AsyncSession, user: Principal, venue_id: uuid.UUID) -> bool:
    """Whether only a voided draw ever sent this user to the venue: an inspection done offline before the
    phone learnt of the voiding is refused for that reason, in words of its own, not as an unknown venue."""
    sent = await session.scalar(
        select(DrawAssignment.draw_id)
        .join(Draw, Draw.id == DrawAssignment.draw_id)
        .where(
            DrawAssignment.inspector_id == user.id,
            DrawAssignment.venue_id == venue_id,
            Draw.voided_at.is_not(None),
        )
        .limit(1)
    )
    return sent is not None


async def assignments_of(session: AsyncSession, user: Principal) -> list[dict[str, Any]]:
    """What the signed-in inspector was drawn to inspect, open work first, by due date."""
    rows = (
        await session.execute(
            select(DrawAssignment, Draw, Venue)
            .join(Draw, Draw.id == DrawAssignment.draw_id)
            .join(Venue, Venue.id == DrawAssignment.venue_id)
            .where(DrawAssignment.inspector_id == user.id, Draw.voided_at.is_(None))
            .order_by(DrawAssignment.due_on, Venue.name, Venue.id)
            .limit(500)
        )
    ).all()
    draws = list({d.id: d for _, d, _ in rows}.values())
    targets = await targets_of(session, draws)
    done: dict[tuple[uuid.UUID, uuid.UUID], Inspection | None] = {
        (draw_id, t.venue_id): t.inspection for draw_id, ts in targets.items() for t in ts
    }
    items = []
    for a, _draw, venue in rows:
        inspection = done.get((a.draw_id, a.venue_id))
        items.append(
            {
                "draw_id": a.draw_id,
                "venue_id": venue.id,
                "venue_name": venue.name,
                "venue_address": venue.address,
                "venue_kind": venue.kind,
                "area_code": venue.area_code,
                "due_on": a.due_on,
                "done": inspection is not None,
                "inspection_id": inspection.id if inspection else None,
            }
        )
    items.sort(key=lambda i: (i["done"], i["due_on"]))
    return items


@dataclass
class Verification:
    ok: bool
    stored: list[tuple[str, list[str]]]
    rerun: list[tuple[str, list[str]]] | None
    error: str | None = None


async def verify(session: AsyncSession, draw_id: uuid.UUID) -> Verification | None:
    """Runs the draw again from its stored seed and snapshots and compares with what was stored."""
    draw = await session.get(Draw, draw_id)
    if draw is None:
        return None
    targets = (await targets_of(session, [draw]))[draw.id]
    stored = [(str(t.venue_id), [str(u) for u in t.inspector_ids]) for t in targets]
    if draw.method != METHOD:
        return Verification(False, stored, None, f"unknown method {draw.method!r}")
    try:
        rerun = run_draw(
            draw.seed, draw.population, draw.inspectors, len(targets), draw.inspectors_per_target
        )
    except NotEnoughInspectors as exc:
        return Verification(False, stored, None, f"the re-run finds too few inspectors for {exc.venue_id}")
    return Verification(rerun == stored, stored, rerun)
