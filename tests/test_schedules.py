"""Inspection schedules: intervals from the data table, self-built houses by age, and GET /venues?due=true
decided by the server's clock in Asia/Shanghai (time frozen), on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import update

from api.models import Inspection
from api.services import reference
from api.services.schedules import add_months, latest_last_day, load
from tests.conftest import Env
from tests.helpers import API, assert_problem, inspection_body, put_inspection, put_venue

# 12:00 on 15 March 2027 in Shanghai.
NOW = datetime(2027, 3, 15, 4, 0, tzinfo=UTC)
SHANGHAI = timezone(timedelta(hours=8))


def test_add_months_keeps_the_day_or_takes_the_months_last() -> None:
    assert add_months(date(2026, 12, 15), 3) == date(2027, 3, 15)
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2027, 3, 15), -15) == date(2025, 12, 15)


def test_latest_last_day_is_exactly_the_due_boundary() -> None:
    day = date(2026, 1, 1)
    while day < date(2028, 1, 1):
        for months in (1, 3, 12, 36):
            last = latest_last_day(day, months)
            assert add_months(last, months) <= day < add_months(last + timedelta(days=1), months), (
                day,
                months,
            )
        day += timedelta(days=11)


def test_the_table_is_data_with_self_built_houses_by_age(tmp_path: Path) -> None:
    s = load()
    today = date(2027, 3, 15)
    assert s.months_for("self_built_house", "normal", 1997, today) == 12  # 30 years
    assert s.months_for("self_built_house", "normal", 1998, today) == 36  # 29 years
    assert s.months_for("self_built_house_commercial", "high", 2007, today) == 36  # 20 years
    assert s.months_for("self_built_house", "low", 2008, today) == 60
    assert s.months_for("self_built_house", "low", None, today) == 12  # unknown age: the oldest band
    assert s.months_for("small_retail", "normal", None, today) == 3
    assert s.months_for("enterprise", "high", None, today) == 3
    assert set(s.kinds) <= reference.venue_kind_codes()
    custom = tmp_path / "schedule.yaml"
    custom.write_text(
        "default: {low: 24, normal: 12, high: 6}\n"
        "by_age: {kinds: [self_built_house], bands: [{min_age: 10, months: 6}, {min_age: 0, months: 48}]}\n",
        encoding="utf-8",
    )
    other = load(custom)
    assert other.months_for("small_retail", "normal", None, today) == 12
    assert other.months_for("self_built_house", "normal", 2020, today) == 48


async def _visit(env: Env, venue: str, received: datetime, checklist: str = "small_venue_fire") -> None:
    tpl = next(t for t in reference.checklist_templates() if t["code"] == checklist)
    body = inspection_body(
        venue, [{"item_code": tpl["items"][0]["code"], "result": "pass"}], checklist_code=checklist
    )
    reply = await put_inspection(env, body, user="supervisor")
    async with await env.session() as s:
        await s.execute(
            update(Inspection).where(Inspection.id == uuid.UUID(reply["id"])).values(created_at=received)
        )
        await s.commit()


async def test_due_venues_by_the_servers_clock_in_shanghai(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    tok = "Due" + uuid.uuid4().hex[:8]

    async def venue(name: str, kind: str = "small_retail", **fields: object) -> str:
        return await put_venue(env, f"{tok}{name}", area_code="v-qingshan-g2", kind=kind, **fields)

    a = await venue("A")
    b = await venue("B")
    c = await venue("C", "self_built_house", built_year=1990)
    d = await venue("D", "self_built_house", built_year=2000)
    await venue("E", "self_built_house", built_year=2015)
    f = await venue("F", "small_hazmat", risk_level="high")
    g = await venue("G")
    # Received (server time) on these days in Shanghai; the phone's submitted_at says 2026-11-20 for all.
    await _visit(env, a, datetime(2026, 12, 15, 9, 0, tzinfo=SHANGHAI))
    await _visit(env, b, datetime(2026, 12, 16, 9, 0, tzinfo=SHANGHAI))
    await _visit(env, c, datetime(2026, 3, 15, 9, 0, tzinfo=SHANGHAI), "self_built_house")
    await _visit(env, d, datetime(2025, 1, 1, 9, 0, tzinfo=SHANGHAI), "self_built_house")
    await _visit(env, f, datetime(2027, 2, 14, 9, 0, tzinfo=SHANGHAI))
    # 00:30 on 16 December in Shanghai is still 15 December in UTC: the Shanghai date counts.
    await _visit(env, g, datetime(2026, 12, 15, 16, 30, tzinfo=UTC))

    monkeypatch.setattr("api.timeutil.utcnow", lambda: NOW)
    h = env.auth("supervisor")

    async def due(**params: object) -> dict[str, dict[str, object]]:
        r = await env.client.get(f"{API}/venues", params={"q": tok, "due": "true", **params}, headers=h)
        assert r.status_code == 200, r.text
        return {v["name"].removeprefix(tok): v for v in r.json()["items"]}

    today = await due()
    assert set(today) == {"A", "C", "E", "F"}
    assert (today["A"]["last_inspected_on"], today["A"]["next_due"], today["A"]["due"]) == (
        "2026-12-15",
        "2027-03-15",
        True,
    )
    assert today["C"]["next_due"] == "2027-03-15" and today["C"]["built_year"] == 1990
    assert today["E"]["last_inspected_on"] is None and today["E"]["due"] is True  # never inspected
    assert today["F"]["next_due"] == "2027-03-14"
    soon = await due(within_days=1)
    assert set(soon) == {"A", "B", "C", "E", "F", "G"}
    assert soon["G"]["last_inspected_on"] == "2026-12-16" and soon["G"]["next_due"] == "2027-03-16"
    assert set(await due(within_days=3650)) == {"A", "B", "C", "D", "E", "F", "G"}

    # Without the filter every venue carries its schedule; D (27 years old) is due every 3 years.
    r = await env.client.get(f"{API}/venues/{d}", headers=h)
    assert (r.json()["next_due"], r.json()["due"]) == ("2028-01-01", False)
    r = await env.client.get(f"{API}/venues", params={"q": tok}, headers=h)
    assert {v["name"].removeprefix(tok): v["due"] for v in r.json()["items"]} == {
        "A": True, "B": False, "C": True, "D": False, "E": True, "F": True, "G": False,
    }  # fmt: skip

    # A day later, B and G are due too.
    monkeypatch.setattr("api.timeutil.utcnow", lambda: NOW + timedelta(days=1))
    assert set(await due()) == {"A", "B", "C", "E", "F", "G"}


async def test_schedule_inputs_are_checked(env: Env) -> None:
    h = env.auth("supervisor")
    r = await env.client.get(f"{API}/venues", params={"due": "true", "within_days": -1}, headers=h)
    assert_problem(r, 422, "validation_error")
    body = {"name": "未来房", "kind": "self_built_house", "area_code": "v-baiyun-g1", "built_year": 3000}
    r = await env.client.put(f"{API}/venues/{uuid.uuid4()}", json=body, headers=h)
    assert_problem(r, 422, "validation_error")
    # Imports take the year (建成年份), Excel's floats included.
    csv = "名称,类型,区域编码,建成年份\n老李自建房,self_built_house,v-baiyun-g1,1988.0\n".encode()
    r = await env.client.post(f"{API}/venues/import", files={"file": ("v.csv", csv, "text/csv")}, headers=h)
    assert r.status_code == 200, r.text
    r = await env.client.get(f"{API}/venues", params={"q": "老李自建房"}, headers=h)
    assert r.json()["items"][0]["built_year"] == 1988
