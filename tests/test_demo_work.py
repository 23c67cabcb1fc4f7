"""`safegrid demo` leaves work in every list of the office's console, and loading it again adds nothing."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select

from api.models import Finding, FindingEvent, Report
from api.services import demo
from api.timeutil import LOCAL_TZ
from tests.conftest import PASSWORD, Env
from tests.helpers import API, get_finding


async def counts(env: Env) -> tuple[int, int, int]:
    async with await env.session() as s:
        return (
            int(await s.scalar(select(func.count(Finding.id))) or 0),
            int(await s.scalar(select(func.count(FindingEvent.id))) or 0),
            int(await s.scalar(select(func.count(Report.id))) or 0),
        )


async def test_demo_work_is_there_once(env: Env) -> None:
    before = await counts(env)
    async with await env.session() as s:
        await demo.load(s, PASSWORD)
        await s.commit()
    assert await counts(env) == before

    major = await get_finding(env, str(demo.work_id("major")))
    assert (major["major_status"], major["status"]) == ("suspected", "open")
    assert (await get_finding(env, str(demo.work_id("overdue"))))["overdue"] is True
    assert (await get_finding(env, str(demo.work_id("overdue"))))["escalation_level"] >= 1
    submitted = await get_finding(env, str(demo.work_id("submitted")))
    assert submitted["status"] == "submitted" and submitted["verification_due"] is not None
    r = await env.client.get(f"{API}/reports/{demo.work_id('report')}", headers=env.auth("supervisor"))
    assert r.status_code == 200 and r.json()["status"] == "received"
    assert r.json()["location_text"]

    q = (await env.client.get(f"{API}/queue", headers=env.auth("supervisor"))).json()
    assert q["reports_to_triage"] >= 1 and q["major_to_decide"] >= 1 and q["due_soon"] >= 1
    assert q["overdue_by_level"]["1"] >= 1 and q["awaiting_verification"] >= 1


async def test_demo_findings_were_found_before_their_deadlines(env: Env) -> None:
    """The overdue demo finding's notice must not say it was found after its deadline had passed."""
    for key in ("major", "overdue", "submitted"):
        f = await get_finding(env, str(demo.work_id(key)))
        found = datetime.fromisoformat(f["created_at"]).astimezone(LOCAL_TZ).date()
        assert found <= date.fromisoformat(f["deadline"]), (key, found, f["deadline"])
