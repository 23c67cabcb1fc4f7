"""Escalation (督办): sweep_escalations raises open overdue findings to level 1/2/3 at 1/7/30 days past the
deadline (a date in Asia/Shanghai), writes one `escalate` event per rise, and is idempotent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from api.services.findings import escalation_target, sweep_escalations
from tests.conftest import Env
from tests.helpers import (
    MAJOR_ZERO_DAY,
    act,
    get_finding,
    open_finding,
    set_finding_fields,
    sh_today,
)


async def sweep(env: Env, now: datetime | None = None) -> int:
    async with await env.session() as s:
        raised = await sweep_escalations(s, now)
        await s.commit()
    return raised


def escalations(f: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in f["events"] if e["action"] == "escalate"]


@pytest.mark.parametrize(
    ("days_over", "level"),
    [(-1, 0), (0, 0), (1, 1), (6, 1), (7, 2), (29, 2), (30, 3), (400, 3)],
)
async def test_levels_by_days_overdue(env: Env, days_over: int, level: int) -> None:
    fid = await open_finding(env)
    await set_finding_fields(env, fid, deadline=sh_today() - timedelta(days=days_over))
    raised = await sweep(env)
    f = await get_finding(env, fid)
    assert f["escalation_level"] == level
    assert f["overdue"] is (days_over >= 1)
    events = escalations(f)
    if level == 0:
        assert events == []
        return
    assert raised >= 1
    assert len(events) == 1
    ev = events[0]
    assert ev["actor_id"] is None
    assert (ev["from_status"], ev["to_status"]) == ("open", "open")
    assert ev["data"]["escalation_level"] == {"before": 0, "after": level}
    assert f"{days_over} 天" in ev["note"]
    assert [e["seq"] for e in f["events"]] == [1, 2]


async def test_sweep_is_idempotent(env: Env) -> None:
    fid = await open_finding(env)
    await set_finding_fields(env, fid, deadline=sh_today() - timedelta(days=8))
    await sweep(env)
    first = await get_finding(env, fid)
    assert first["escalation_level"] == 2
    for _ in range(2):
        await sweep(env)
        assert await get_finding(env, fid) == first


async def test_level_rises_as_time_passes_and_never_falls(env: Env) -> None:
    fid = await open_finding(env)
    await set_finding_fields(env, fid, deadline=sh_today() - timedelta(days=2))
    await sweep(env)
    assert (await get_finding(env, fid))["escalation_level"] == 1
    # Four weeks later (the deadline further behind us): straight from 1 to 3 in one rise.
    await set_finding_fields(env, fid, deadline=sh_today() - timedelta(days=31))
    await sweep(env)
    f = await get_finding(env, fid)
    assert f["escalation_level"] == 3
    assert [e["data"]["escalation_level"] for e in escalations(f)] == [
        {"before": 0, "after": 1},
        {"before": 1, "after": 3},
    ]
    # An extension moves the deadline but does not undo the 督办 already recorded.
    later = (sh_today() + timedelta(days=10)).isoformat()
    r = await act(env, fid, "extension", "supervisor", {"deadline": later, "reason": "延期整改"})
    assert r.status_code == 200, r.text
    await sweep(env)
    f = await get_finding(env, fid)
    assert (f["escalation_level"], f["overdue"], len(escalations(f))) == (3, False, 2)


async def test_a_major_finding_starts_at_level_1(env: Env) -> None:
    fid = await open_finding(env, item=MAJOR_ZERO_DAY)
    await set_finding_fields(env, fid, deadline=sh_today() - timedelta(days=1))
    await sweep(env)
    f = await get_finding(env, fid)
    assert f["escalation_level"] == 1
    assert escalations(f) == []  # already there: no event for no change
    await set_finding_fields(env, fid, deadline=sh_today() - timedelta(days=7))
    await sweep(env)
    f = await get_finding(env, fid)
    assert f["escalation_level"] == 2
    assert [e["data"]["escalation_level"] for e in escalations(f)] == [{"before": 1, "after": 2}]


@pytest.mark.parametrize("state", ["submitted", "closed", "void"])
async def test_only_open_findings_escalate(env: Env, state: str) -> None:
    fid = await open_finding(env)
    await act(env, fid, "rectification", "inspector_baiyun")
    if state == "closed":
        await act(env, fid, "verification", "inspector_baiyun2")
    if state == "void":
        await act(env, fid, "void", "supervisor")
    await set_finding_fields(env, fid, deadline=sh_today() - timedelta(days=40))
    before = await get_finding(env, fid)
    await sweep(env)
    assert await get_finding(env, fid) == before
    assert before["escalation_level"] == 0


async def test_days_are_counted_in_shanghai(env: Env) -> None:
    # A deadline long ago, so that only this finding is touched by sweeps run "back then".
    fid = await open_finding(env)
    await set_finding_fields(env, fid, deadline=date(2001, 1, 1))
    # 23:30 on 1 January in Shanghai: the deadline day itself.
    await sweep(env, datetime(2001, 1, 1, 15, 30, tzinfo=UTC))
    assert (await get_finding(env, fid))["escalation_level"] == 0
    # 00:30 on 2 January in Shanghai, still 1 January in UTC: one day overdue.
    await sweep(env, datetime(2001, 1, 1, 16, 30, tzinfo=UTC))
    f = await get_finding(env, fid)
    assert f["escalation_level"] == 1
    assert escalations(f)[0]["at"] == "2001-01-01T16:30:00+00:00"
    # 7 January 23:59 Shanghai is 6 days over; 8 January 00:00 Shanghai is 7.
    await sweep(env, datetime(2001, 1, 7, 15, 59, tzinfo=UTC))
    assert (await get_finding(env, fid))["escalation_level"] == 1
    await sweep(env, datetime(2001, 1, 7, 16, 0, tzinfo=UTC))
    assert (await get_finding(env, fid))["escalation_level"] == 2


def test_escalation_target_steps() -> None:
    d = date(2026, 6, 1)
    got = [escalation_target(d, d + timedelta(days=n)) for n in (-5, 0, 1, 6, 7, 29, 30, 31)]
    assert got == [0, 0, 1, 1, 2, 2, 3, 3]


async def test_the_job_works_through_a_backlog_in_small_batches(env: Env) -> None:
    from api.jobs import escalate_overdue

    await sweep(env)  # whatever other tests left behind
    fids = [await open_finding(env) for _ in range(5)]
    for fid in fids:
        await set_finding_fields(env, fid, deadline=sh_today() - timedelta(days=3))
    # Five findings, two per transaction: three transactions, every finding raised exactly once.
    assert await escalate_overdue(env.app.state.sessionmaker, batch=2) == 5
    for fid in fids:
        f = await get_finding(env, fid)
        assert f["escalation_level"] == 1 and len(escalations(f)) == 1
    assert await escalate_overdue(env.app.state.sessionmaker, batch=2) == 0
