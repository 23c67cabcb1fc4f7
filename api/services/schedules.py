"""Inspection schedules: how often each venue must be inspected (a table in data,
api/reference/schedules.yaml, or the file named by SAFEGRID_SCHEDULE_FILE), and which venues are due.

A venue's last inspection is the day the server received it (Asia/Shanghai), never the phone's date; its
next inspection is due that day plus its interval; a venue never inspected is due since it was registered.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import ColumnElement, and_, false, or_

from api.config import Settings
from api.models import Venue
from api.timeutil import LOCAL_TZ, local_midnight

SCHEDULE_FILE = Path(__file__).resolve().parent.parent / "reference" / "schedules.yaml"
RISK_LEVELS = ("low", "normal", "high")


@dataclass(frozen=True)
class Schedule:
    default: dict[str, int]
    kinds: dict[str, dict[str, int]]
    age_kinds: tuple[str, ...]
    # (min_age, months), oldest band first
    bands: tuple[tuple[int, int], ...]

    def months_for(self, kind: str, risk_level: str, built_year: int | None, today: date) -> int:
        if kind in self.age_kinds:
            if built_year is None:
                return self.bands[0][1]
            age = today.year - built_year
            for min_age, months in self.bands:
                if age >= min_age:
                    return months
            return self.bands[-1][1]
        table = self.kinds.get(kind, self.default)
        return table.get(risk_level, table["normal"])


def _months_table(raw: Any, where: str) -> dict[str, int]:
    if not isinstance(raw, dict) or set(raw) != set(RISK_LEVELS):
        raise ValueError(f"{where}: give months for each of {', '.join(RISK_LEVELS)}")
    out = {k: int(v) for k, v in raw.items()}
    if any(v < 1 for v in out.values()):
        raise ValueError(f"{where}: months must be 1 or more")
    return out


@lru_cache
def load(path: Path | None = None) -> Schedule:
    with (path or SCHEDULE_FILE).open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    bands = sorted(
        ((int(b["min_age"]), int(b["months"])) for b in data["by_age"]["bands"]), key=lambda b: -b[0]
    )
    if not bands or bands[-1][0] != 0:
        raise ValueError("by_age.bands must end with a band from age 0")
    return Schedule(
        default=_months_table(data["default"], "default"),
        kinds={k: _months_table(v, f"kinds.{k}") for k, v in (data.get("kinds") or {}).items()},
        age_kinds=tuple(data["by_age"]["kinds"]),
        bands=tuple(bands),
    )


def for_settings(settings: Settings) -> Schedule:
    return load(settings.schedule_file)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter (31 Jan + 1 → 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def latest_last_day(horizon: date, months: int) -> date:
    """The latest day of a last inspection that makes the next one due by `horizon`."""
    cutoff = add_months(horizon, -months)
    while add_months(cutoff + timedelta(days=1), months) <= horizon:
        cutoff += timedelta(days=1)
    while add_months(cutoff, months) > horizon:
        cutoff -= timedelta(days=1)
    return cutoff


def next_due(
    schedule: Schedule, venue: Venue, last_received_at: datetime | None, today: date
) -> tuple[date | None, date]:
    """(the day of the last inspection, the day the next one is due)."""
    if last_received_at is None:
        registered = venue.created_at.astimezone(LOCAL_TZ).date() if venue.created_at else today
        return None, min(registered, today)
    last = last_received_at.astimezone(LOCAL_TZ).date()
    months = schedule.months_for(venue.kind, venue.risk_level, venue.built_year, today)
    return last, add_months(last, months)


def due_clause(
    schedule: Schedule, last_received_at: ColumnElement[Any], today: date, within_days: int
) -> ColumnElement[bool]:
    """Venues due by today + within_days, as one SQL condition: for each class of venue (kind and risk
    level, or age band), never inspected or last inspected on or before the latest day that makes it due."""
    horizon = today + timedelta(days=within_days)

    def stale(months: int) -> ColumnElement[bool]:
        before = local_midnight(latest_last_day(horizon, months) + timedelta(days=1))
        return or_(last_received_at.is_(None), last_received_at < before)

    clauses: list[ColumnElement[bool]] = []
    listed = set(schedule.kinds) | set(schedule.age_kinds)
    for risk in RISK_LEVELS:
        for kind, table in schedule.kinds.items():
            if kind not in schedule.age_kinds:
                clauses.append(and_(Venue.kind == kind, Venue.risk_level == risk, stale(table[risk])))
        clauses.append(
            and_(Venue.kind.not_in(listed), Venue.risk_level == risk, stale(schedule.default[risk]))
        )
    age_kind = Venue.kind.in_(schedule.age_kinds)
    upper: int | None = None  # built_year bounds of each band, oldest first
    for min_age, months in schedule.bands:
        newest_year = today.year - min_age
        band = Venue.built_year <= newest_year
        if upper is not None:
            band = and_(band, Venue.built_year > upper)
        if upper is None:  # unknown age counts as the oldest band
            band = or_(band, Venue.built_year.is_(None))
        clauses.append(and_(age_kind, band, stale(months)))
        upper = newest_year
    return or_(false(), *clauses)
