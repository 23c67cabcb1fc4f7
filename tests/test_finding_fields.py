"""What the office's console reads on a finding: the readable number, the venue, the note and the place,
the major status, the verification deadline; the new list filters; the work queue; and the time rules
(a late finding stays late, a submitted rectification has its own deadline), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from api.models import Finding, Report
from api.services.areas import upsert_area
from api.timeutil import LOCAL_TZ
from tests.clock import freeze
from tests.conftest import Env, venue_id
from tests.helpers import (
    API,
    BAIYUN_SHOP,
    GENERAL_ITEM,
    MAJOR_LONG,
    act,
    assert_problem,
    fail,
    get_finding,
    inspection_body,
    make_jpeg,
    make_user,
    new_id,
    open_finding,
    put_photo,
    put_venue,
    set_finding_fields,
    sh_today,
)
from tests.test_public_reports import public_app, submit

NUMBER = re.compile(r"^FX-(\d{4})-(\d{6})$")


async def ids(env: Env, headers: dict[str, str], **params: Any) -> list[str]:
    r = await env.client.get(f"{API}/findings", params={"limit": 200, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["items"]]


# --------------------------------------------------------------------------- fields


async def test_numbers_follow_creation_order_and_never_repeat(env: Env) -> None:
    first = await get_finding(env, await open_finding(env))
    second = await get_finding(env, await open_finding(env))
    m1, m2 = NUMBER.match(first["number"]), NUMBER.match(second["number"])
    assert m1 and m2
    year = datetime.fromisoformat(first["created_at"]).astimezone(LOCAL_TZ).year
    assert int(m1.group(1)) == year
    assert int(m2.group(2)) > int(m1.group(2))
    # Many at once (one inspection with several failed items, manual findings in parallel): all distinct.
    reply = await env.client.put(
        f"{API}/inspections/{new_id()}",
        json=inspection_body(BAIYUN_SHOP, [fail(GENERAL_ITEM), fail("JX-MG-02"), fail("JX-MG-03")]),
        headers=env.auth("inspector_baiyun"),
    )
    assert reply.status_code == 201, reply.text

    async def manual(i: int) -> str:
        r = await env.client.post(
            f"{API}/findings",
            json={"area_code": "v-baiyun-g1", "title": f"并发编号 {i}"},
            headers=env.auth("inspector_baiyun"),
        )
        assert r.status_code == 201, r.text
        return str(r.json()["number"])

    numbers = list(await asyncio.gather(*(manual(i) for i in range(6))))
    for fid in reply.json()["finding_ids"]:
        numbers.append((await get_finding(env, fid))["number"])
    assert len(set(numbers)) == len(numbers) == 9
    assert all(NUMBER.match(n) for n in numbers)


async def test_a_finding_shows_its_venue_note_place_and_item(env: Env) -> None:
    fid = await open_finding(env, note="插座烧焦，已断电")
    f = await get_finding(env, fid)
    assert f["venue"] == {
        "id": venue_id(BAIYUN_SHOP),
        "name": BAIYUN_SHOP,
        "kind": "small_retail",
        "address": "白云村一组12号",
        "owner_name": "张华",
        "owner_phone": "13800000001",
    }
    assert f["note"] == "插座烧焦，已断电"
    assert (f["lat"], f["lng"]) == (31.401, 109.632)
    assert f["checklist_item"] and f["checklist_item"] != GENERAL_ITEM and f["item_code"] == GENERAL_ITEM
    assert (f["major_status"], f["rectified_at"], f["verification_due"], f["verification_overdue"]) == (
        None,
        None,
        None,
        False,
    )
    listed = await env.client.get(
        f"{API}/findings",
        params={"venue_id": venue_id(BAIYUN_SHOP), "limit": 200},
        headers=env.auth("supervisor"),
    )
    item = next(i for i in listed.json()["items"] if i["id"] == fid)
    assert {k: item[k] for k in ("number", "venue", "note", "lat", "checklist_item")} == {
        k: f[k] for k in ("number", "venue", "note", "lat", "checklist_item")
    }


async def test_a_manual_finding_keeps_its_place(env: Env) -> None:
    r = await env.client.post(
        f"{API}/findings",
        json={
            "area_code": "v-baiyun-g1",
            "title": "路边堆放煤气罐",
            "location_text": "村口桥头",
            "lat": 31.4,
            "lng": 109.6,
        },
        headers=env.auth("inspector_baiyun"),
    )
    assert r.status_code == 201, r.text
    f = r.json()
    assert (f["location_text"], f["lat"], f["lng"], f["venue"], f["checklist_item"]) == (
        "村口桥头",
        31.4,
        109.6,
        None,
        None,
    )
    r = await env.client.post(
        f"{API}/findings",
        json={"area_code": "v-baiyun-g1", "title": "x", "lat": 91},
        headers=env.auth("supervisor"),
    )
    assert_problem(r, 422, "validation_error")


async def test_posting_another_areas_finding_id_is_404_like_a_get(env: Env) -> None:
    fid = await open_finding(env, user="inspector_qingshan", venue="青山棋牌室")
    # Not a demo inspector: another test's draw may have sent those to 青山村, whose findings they then read.
    outsider = await make_user(env, "outsider_" + uuid.uuid4().hex[:8], "inspector", ["v-baiyun"])
    r = await env.client.post(
        f"{API}/findings",
        json={"id": fid, "area_code": "v-baiyun-g1", "title": "撞号"},
        headers=outsider,
    )
    assert_problem(r, 404, "finding_not_found")
    r = await env.client.get(f"{API}/findings/{fid}", headers=outsider)
    assert_problem(r, 404, "finding_not_found")
    # In scope, another body under the same id is still a conflict.
    r = await env.client.post(
        f"{API}/findings",
        json={"id": fid, "area_code": "v-qingshan-g1", "title": "撞号"},
        headers=env.auth("inspector_qingshan"),
    )
    assert_problem(r, 409, "id_conflict")


async def test_status_columns_refuse_unknown_values(env: Env) -> None:
    fid = await open_finding(env)
    for column, value in (("status", "lost"), ("major_status", "maybe")):
        async with await env.session() as s:
            with pytest.raises(DBAPIError):
                await s.execute(
                    text(f"UPDATE findings SET {column} = :v WHERE id = :id"),
                    {"v": value, "id": uuid.UUID(fid).hex if env.backend == "sqlite" else fid},
                )
            await s.rollback()
    async with await env.session() as s:
        now = datetime.now(UTC)
        s.add(
            Report(
                receipt_hash=new_id(),
                category="RPT-10",
                description="x",
                status="lost",
                created_at=now,
                updated_at=now,
            )
        )
        with pytest.raises(DBAPIError):
            await s.flush()
        await s.rollback()
    assert (await get_finding(env, fid))["status"] == "open"


# --------------------------------------------------------------------------- filters


async def new_village(env: Env) -> tuple[str, str, dict[str, str], dict[str, str], dict[str, str]]:
    """A village of its own (one grid, one venue) with two inspectors and a supervisor."""
    code = f"v-f{new_id()[:8]}"
    async with await env.session() as s:
        await upsert_area(s, code, "筛选测试村", "town", "village")
        await upsert_area(s, f"{code}-g1", "筛选测试村一网格", code, "grid")
        await s.commit()
    venue = await put_venue(env, f"筛选店 {code}", f"{code}-g1")
    a = await make_user(env, f"insp_{code}", "inspector", [code])
    b = await make_user(env, f"insp2_{code}", "inspector", [code])
    boss = await make_user(env, f"sup_{code}", "supervisor", [code])
    return code, venue, a, b, boss


async def inspect(env: Env, venue: str, headers: dict[str, str], answers: list[dict[str, Any]]) -> list[str]:
    r = await env.client.put(
        f"{API}/inspections/{new_id()}", json=inspection_body(venue, answers), headers=headers
    )
    assert r.status_code == 201, r.text
    return [str(i) for i in r.json()["finding_ids"]]


async def photo_as(env: Env, headers: dict[str, str]) -> str:
    photo_id = new_id()
    r = await env.client.put(
        f"{API}/photos/{photo_id}", files={"file": ("p.jpg", make_jpeg(), "image/jpeg")}, headers=headers
    )
    assert r.status_code == 201, r.text
    return photo_id


async def test_new_filters_and_the_queue(env: Env) -> None:
    _, venue, a, _, boss = await new_village(env)
    today = sh_today()
    due_soon, later, overdue1, overdue2, submitted = await inspect(
        env,
        venue,
        a,
        [fail(GENERAL_ITEM), fail("JX-MG-02"), fail("JX-MG-03"), fail("JX-MG-04"), fail("JX-LC-01")],
    )
    (late_check,) = await inspect(env, venue, a, [fail(GENERAL_ITEM)])
    (major,) = await inspect(env, venue, a, [fail(MAJOR_LONG, [await photo_as(env, a)])])
    await set_finding_fields(env, due_soon, deadline=today + timedelta(days=3))
    await set_finding_fields(env, later, deadline=today + timedelta(days=4))
    await set_finding_fields(env, overdue1, deadline=today - timedelta(days=2), escalation_level=1)
    await set_finding_fields(env, overdue2, deadline=today - timedelta(days=9), escalation_level=2)
    for fid in (submitted, late_check):
        await set_finding_fields(env, fid, deadline=today + timedelta(days=10))
        r = await env.client.post(f"{API}/findings/{fid}/rectification", json={"note": "已整改"}, headers=a)
        assert r.status_code == 200, r.text
    await set_finding_fields(env, late_check, verification_due=today - timedelta(days=1))

    assert await ids(env, boss, major_status="suspected") == [major]
    assert await ids(env, boss, major_status="confirmed") == []
    assert set(await ids(env, boss, due_within=3)) == {due_soon, major}
    # A major hazard starts on a short fuse (three days at most).
    assert set(await ids(env, boss, due_within=4)) == {due_soon, later, major}
    assert set(await ids(env, boss, due_within=2)) == set()
    assert set(await ids(env, boss, overdue="true", escalation_level=1)) == {overdue1}
    assert set(await ids(env, boss, overdue="true", escalation_level=2)) == {overdue2}
    assert await ids(env, boss, verification_overdue="true") == [late_check]
    assert late_check not in await ids(env, boss, verification_overdue="false")
    for bad in ({"due_within": -1}, {"escalation_level": 4}, {"major_status": "maybe"}):
        r = await env.client.get(f"{API}/findings", params=bad, headers=boss)
        assert_problem(r, 422, "validation_error")
    r = await env.client.get(f"{API}/findings", params={"area": "no-such-area"}, headers=boss)
    assert_problem(r, 422, "unknown_area")
    r = await env.client.get(f"{API}/reports", params={"area": "no-such-area"}, headers=boss)
    assert_problem(r, 422, "unknown_area")
    # An area that exists but lies outside one's own simply matches nothing.
    assert await ids(env, boss, area="v-baiyun") == []
    # The ledger takes the same filters.
    r = await env.client.get(f"{API}/findings/export", params={"area": "no-such-area"}, headers=boss)
    assert_problem(r, 422, "unknown_area")

    f = await get_finding(env, late_check)
    assert (
        f["verification_overdue"] is True and f["verification_due"] == (today - timedelta(days=1)).isoformat()
    )

    r = await env.client.get(f"{API}/queue", headers=boss)
    assert r.status_code == 200, r.text
    q = r.json()
    assert {k: v for k, v in q.items() if k != "reports_to_triage"} == {
        "major_to_decide": 1,
        "due_soon": 2,
        "overdue_by_level": {"1": 1, "2": 1, "3": 0},
        "awaiting_verification": 2,
        "verification_overdue": 1,
    }
    # Each count is the size of its list.
    received, cursor = 0, None
    while True:
        params = {"status": "received", "limit": 200, **({"cursor": cursor} if cursor else {})}
        page = (await env.client.get(f"{API}/reports", params=params, headers=boss)).json()
        received += len(page["items"])
        if not (cursor := page["next_cursor"]):
            break
    assert q["reports_to_triage"] == received
    assert_problem(await env.client.get(f"{API}/queue", headers=a), 403, "role_required")
    # A supervisor of another village counts none of it.
    empty = f"v-e{new_id()[:8]}"
    async with await env.session() as s:
        await upsert_area(s, empty, "空村", "town", "village")
        await s.commit()
    other = await make_user(env, f"sup_{empty}", "supervisor", [empty])
    q2 = (await env.client.get(f"{API}/queue", headers=other)).json()
    assert {k: v for k, v in q2.items() if k != "reports_to_triage"} == {
        "major_to_decide": 0,
        "due_soon": 0,
        "overdue_by_level": {"1": 0, "2": 0, "3": 0},
        "awaiting_verification": 0,
        "verification_overdue": 0,
    }


# --------------------------------------------------------------------------- time rules


async def test_verification_has_its_own_deadline(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    fid = await open_finding(env)
    # Rectified at 23:30 in Shanghai: the day counts in Shanghai, the deadline is three days on.
    at = datetime.combine(sh_today(), datetime.min.time(), tzinfo=LOCAL_TZ) + timedelta(hours=23, minutes=30)
    freeze(monkeypatch, at.astimezone(UTC))
    r = await act(env, fid, "rectification", "inspector_baiyun")
    assert r.status_code == 200, r.text
    due = sh_today() + timedelta(days=3)
    f = r.json()
    assert (f["verification_due"], f["verification_overdue"]) == (due.isoformat(), False)
    assert f["rectified_at"] is not None
    # On the due day it is not yet overdue; the day after, it is.
    freeze(monkeypatch, (at + timedelta(days=3)).astimezone(UTC))
    assert (await get_finding(env, fid))["verification_overdue"] is False
    freeze(monkeypatch, (at + timedelta(days=3, hours=1)).astimezone(UTC))
    f = await get_finding(env, fid)
    assert f["verification_overdue"] is True
    assert fid in await ids(
        env, env.auth("supervisor"), verification_overdue="true", venue_id=venue_id(BAIYUN_SHOP)
    )
    # A failed verification sends it back without a verification deadline.
    r = await act(env, fid, "verification", "inspector_baiyun2", {"result": "fail", "note": "未整改到位"})
    assert r.status_code == 200, r.text
    assert (r.json()["verification_due"], r.json()["verification_overdue"]) == (None, False)


async def test_verification_days_come_from_the_settings(env: Env) -> None:
    settings = env.settings.model_copy(update={"verification_days": 7})
    from api.app import create_app

    app = create_app(settings)
    fid = await open_finding(env)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            r = await c.post(
                f"{API}/findings/{fid}/rectification",
                json={"note": "已整改"},
                headers=env.auth("inspector_baiyun"),
            )
    assert r.status_code == 200, r.text
    assert r.json()["verification_due"] == (sh_today() + timedelta(days=7)).isoformat()


async def closed_on_time(env: Env, fid: str) -> tuple[bool | None, Any]:
    async with await env.session() as s:
        row = (
            await s.execute(
                select(Finding.closed_on_time, Finding.overdue_since).where(Finding.id == uuid.UUID(fid))
            )
        ).one()
    return row[0], row[1]


async def test_a_late_major_finding_is_not_on_time(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    start = datetime.now(UTC)
    fid = await open_finding(env, item=MAJOR_LONG)
    deadline = (await get_finding(env, fid))["deadline"]
    # Rectified two days after its deadline; meanwhile no escalation rise came (it starts at level 1).
    late = datetime.combine(datetime.fromisoformat(deadline).date(), datetime.min.time(), tzinfo=LOCAL_TZ)
    freeze(monkeypatch, (late + timedelta(days=2, hours=10)).astimezone(UTC))
    photo = await put_photo(env)
    r = await act(env, fid, "rectification", "inspector_baiyun", {"note": "已整改", "photo_ids": [photo]})
    assert r.status_code == 200, r.text
    # The decision then gives it a far register deadline, and it is verified: closed, but late.
    body = {
        "decision": "confirm",
        "decided_on": sh_today().isoformat(),
        "participants": "李主任、张工",
        "register": {
            "responsible_person": "张华",
            "measures": "更换线路",
            "funds": "2000元",
            "deadline": (sh_today() + timedelta(days=30)).isoformat(),
            "contingency_plan": "停用",
            "supervising_official": "李主任",
        },
    }
    r = await env.client.post(
        f"{API}/findings/{fid}/major-decision", json=body, headers=env.auth("supervisor")
    )
    assert r.status_code == 200, r.text
    r = await act(env, fid, "verification", "inspector_baiyun2")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"
    on_time, since = await closed_on_time(env, fid)
    assert on_time is False
    assert since == datetime.fromisoformat(deadline).date() + timedelta(days=1)
    assert start  # the test ran in frozen time after a real start


async def test_a_late_rectification_extended_afterwards_stays_late(env: Env) -> None:
    fid = await open_finding(env)
    await set_finding_fields(env, fid, deadline=sh_today() - timedelta(days=1))
    assert (await act(env, fid, "rectification", "inspector_baiyun")).status_code == 200
    later = (sh_today() + timedelta(days=20)).isoformat()
    r = await act(env, fid, "extension", "supervisor", {"deadline": later, "reason": "补办"})
    assert r.status_code == 200, r.text
    assert (await act(env, fid, "verification", "inspector_baiyun2")).status_code == 200
    assert (await closed_on_time(env, fid))[0] is False


async def test_the_sweep_notes_a_major_finding_overdue_without_a_rise(env: Env) -> None:
    from api.services.findings import sweep_escalations

    fid = await open_finding(env, item=MAJOR_LONG)
    await set_finding_fields(env, fid, deadline=sh_today() - timedelta(days=2))
    async with await env.session() as s:
        await sweep_escalations(s)
        await s.commit()
    f = await get_finding(env, fid)
    assert f["escalation_level"] == 1 and [e["action"] for e in f["events"]] == ["create"]
    assert (await closed_on_time(env, fid))[1] == sh_today() - timedelta(days=1)


# --------------------------------------------------------------------------- reports


@pytest.fixture
async def pub(env: Env) -> AsyncIterator[httpx.AsyncClient]:
    async with public_app(env) as (_, c):
        yield c


async def test_triage_carries_the_place_onto_the_finding(env: Env, pub: httpx.AsyncClient) -> None:
    marker = new_id()
    r = await submit(
        pub,
        description=f"桥头有人囤放烟花 {marker}",
        location_text="白云村桥头小卖部后院",
        lat="31.402",
        lng="109.633",
    )
    assert r.status_code == 201, r.text
    listed = await env.client.get(
        f"{API}/reports", params={"status": "received", "limit": 200}, headers=env.auth("supervisor")
    )
    report = next(i for i in listed.json()["items"] if marker in i["description"])
    q = (await env.client.get(f"{API}/queue", headers=env.auth("supervisor"))).json()
    assert q["reports_to_triage"] >= 1
    r = await env.client.post(
        f"{API}/reports/{report['id']}/triage",
        json={"action": "accept", "area_code": "v-baiyun-g1", "severity": "major"},
        headers=env.auth("supervisor"),
    )
    assert r.status_code == 200, r.text
    f = await get_finding(env, r.json()["finding_id"])
    assert (f["location_text"], f["lat"], f["lng"]) == ("白云村桥头小卖部后院", 31.402, 109.633)
    assert f["note"] == f"桥头有人囤放烟花 {marker}"
    assert (f["source"], f["major_status"], f["area_code"]) == ("report", "suspected", "v-baiyun-g1")
    assert NUMBER.match(f["number"])
    events = (await env.client.get(f"{API}/reports/{report['id']}", headers=env.auth("supervisor"))).json()[
        "events"
    ]
    assert [e["action"] for e in events] == ["received", "triage"]
    assert events[1]["data"]["from_status"] == "received" and events[1]["data"]["to_status"] == "accepted"
    q2 = (await env.client.get(f"{API}/queue", headers=env.auth("supervisor"))).json()
    assert q2["reports_to_triage"] == q["reports_to_triage"] - 1


async def test_the_finding_gets_the_words_triage_released(env: Env, pub: httpx.AsyncClient) -> None:
    marker = new_id()
    r = await submit(pub, description=f"我是三组李四，隔壁王五家囤烟花 {marker}", location_text="三组")
    assert r.status_code == 201, r.text
    listed = await env.client.get(
        f"{API}/reports", params={"status": "received", "limit": 200}, headers=env.auth("supervisor")
    )
    report = next(i for i in listed.json()["items"] if marker in i["description"])
    r = await env.client.post(
        f"{API}/reports/{report['id']}/triage",
        json={"action": "accept", "area_code": "v-baiyun-g2", "description": "三组有住户囤放烟花"},
        headers=env.auth("supervisor"),
    )
    assert r.status_code == 200, r.text
    f = await get_finding(env, r.json()["finding_id"], user="inspector_baiyun")
    assert (f["note"], f["description"]) == ("三组有住户囤放烟花", "三组有住户囤放烟花")
    assert "李四" not in str(f)


async def test_rows_inserted_in_bulk_take_numbers_from_the_same_counter(env: Env) -> None:
    from api.services.numbering import number_rows

    before = NUMBER.match((await get_finding(env, await open_finding(env)))["number"])
    assert before
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = [{"id": uuid.uuid4(), "created_at": now} for _ in range(3)]
    async with await env.session() as s:
        await number_rows(s, rows)
        await s.commit()
    serials = [int(NUMBER.match(r["number"]).group(2)) for r in rows]  # type: ignore[union-attr]
    assert len(set(serials)) == 3 and min(serials) > int(before.group(2))
    after = NUMBER.match((await get_finding(env, await open_finding(env)))["number"])
    assert after and int(after.group(2)) > max(serials)
