from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(LOCAL_TZ).date()


def add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)


def local_midnight(day: date) -> datetime:
    """The start of a day in Asia/Shanghai: periods given as dates begin and end here."""
    return datetime.combine(day, time(), tzinfo=LOCAL_TZ)
