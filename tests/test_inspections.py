"""PUT /inspections/{id}: findings opened per failed item, their severity, deadline and area, the checks
on the body, exactly-once storage under retries and races, and versioned checklists."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from api.models import ChecklistTemplate, Finding, FindingEvent, Inspection
from tests.conftest import Env, venue_id
from tests.helpers import (
    API,
    BAIYUN_INN,
    BAIYUN_SHOP,
    GENERAL_ITEM,
    GENERAL_ITEM_15,
    GENERAL_ZERO_DAY,
    MAJOR_LONG,
    MAJOR_ZERO_DAY,
    QINGSHAN_CLUB,
    SMALL_VENUE,
    assert_problem,
    fail,
    get_finding,
    inspection_body,
    new_id,
    pages,
    put_inspection,
    put_photo,
    put_venue,
    sh_today,
    undrawn,
)

A = "inspector_baiyun"


async def prompts(env: Env, code: str = SMALL_VENUE, version: int = 1) -> dict[str, dict[str, Any]]:
    r = await env.client.get(f"{API}/checklists/{code}", params={"version": version}, headers=env.auth(A))
    assert r.status_code == 200, r.text
    return {i["code"]: i for i in r.json()["items"]}


async def findings_of(env: Env, inspection_id: str) -> int:
    async with await env.session() as s:
        n = await s.scalar(
            select(func.count()).select_from(Finding).where(Finding.inspection_id == uuid.UUID(inspection_id))
        )
    return int(n or 0)


async def test_each_fail_opens_one_finding_in_answer_order(env: Env) -> None:
    p1, p2 = await put_photo(env, A), await put_photo(env, A)
    answers = [
        {"item_code": "JX-MG-02", "result": "pass"},
        fail(GENERAL_ITEM, note="未建立巡查记录"),
        {"item_code": "JX-LC-01", "result": "na"},
        fail(MAJOR_ZERO_DAY, [p1, p2], note="安全出口锁闭"),
        fail(GENERAL_ITEM_15),
    ]
    iid = new_id()
    reply = await put_inspection(env, inspection_body(BAIYUN_SHOP, answers), A, iid)
    assert reply["id"] == iid
    assert len(reply["finding_ids"]) == 3
    assert await findings_of(env, iid) == 3
    items = await prompts(env)
    got = [await get_finding(env, str(f)) for f in reply["finding_ids"]]
    assert [f["item_code"] for f in got] == [GENERAL_ITEM, MAJOR_ZERO_DAY, GENERAL_ITEM_15]
    for f, answer in zip(got, [answers[1], answers[3], answers[4]], strict=True):
        assert f["source"] == "inspection"
        assert f["inspection_id"] == iid
        assert f["venue_id"] == venue_id(BAIYUN_SHOP)
        assert f["area_code"] == "v-baiyun-g1"
        # A finding reads as the hazard found, in words the owner can act on, not as the question.
        assert f["title"] == items[answer["item_code"]]["hazard"]
        assert f["description"] == answer["note"]
        assert f["photo_ids"] == answer["photo_ids"]
        assert f["status"] == "open"
        assert [e["action"] for e in f["events"]] == ["create"]
    # The inspection keeps every answer, passes and n/a included.
    r = await env.client.get(f"{API}/inspections/{iid}", headers=env.auth(A))
    assert r.status_code == 200
    assert r.json() == reply
    assert [a["result"] for a in reply["answers"]] == ["pass", "fail", "na", "fail", "fail"]


async def test_inspection_reply_shape(env: Env) -> None:
    iid = new_id()
    reply = await put_inspection(env, inspection_body(BAIYUN_SHOP), A, iid)
    assert reply["checklist_code"] == SMALL_VENUE and reply["checklist_version"] == 1
    assert reply["area_code"] == "v-baiyun-g1"
    assert reply["started_at"] == "2026-11-20T01:00:00+00:00"
    assert reply["submitted_at"] == "2026-11-20T01:30:00+00:00"
    assert (reply["lat"], reply["lng"], reply["accuracy_m"], reply["note"]) == (
        31.401,
        109.632,
        12.5,
        "例行检查",
    )
    assert reply["finding_ids"] == []
    me = (await env.client.get(f"{API}/me", headers=env.auth(A))).json()
    assert reply["inspector_id"] == me["id"]


@pytest.mark.parametrize(
    ("item", "severity", "level", "days"),
    [
        (GENERAL_ITEM, "general", 0, 7),
        (GENERAL_ITEM_15, "general", 0, 15),
        (GENERAL_ZERO_DAY, "general", 0, 0),
        (MAJOR_ZERO_DAY, "major", 1, 0),
        (MAJOR_LONG, "major", 1, None),  # 30 days in the checklist, capped for a major hazard
    ],
)
async def test_severity_and_deadline_come_from_the_item(
    env: Env, item: str, severity: str, level: int, days: int | None
) -> None:
    if days is None:
        days = env.settings.major_deadline_days_cap
        assert days < 30
    photos = [await put_photo(env, A)]
    day_before = sh_today()
    reply = await put_inspection(env, inspection_body(BAIYUN_SHOP, [fail(item, photos)]), A)
    day_after = sh_today()
    f = await get_finding(env, str(reply["finding_ids"][0]))
    assert f["severity"] == severity
    assert f["escalation_level"] == level
    # A deadline is a date in Asia/Shanghai: 0 days is due at the end of today there.
    assert f["deadline"] in {
        (day_before + timedelta(days=days)).isoformat(),
        (day_after + timedelta(days=days)).isoformat(),
    }
    assert f["overdue"] is False


async def test_area_comes_from_the_venue(env: Env) -> None:
    reply = await put_inspection(env, inspection_body(BAIYUN_INN, [fail(GENERAL_ITEM)]), A)
    assert reply["area_code"] == "v-baiyun-g2"
    f = await get_finding(env, str(reply["finding_ids"][0]))
    assert f["area_code"] == "v-baiyun-g2"
    assert f["venue_id"] == venue_id(BAIYUN_INN)


async def test_photo_required_on_fail(env: Env) -> None:
    iid = new_id()
    body = inspection_body(BAIYUN_SHOP, [fail(GENERAL_ITEM), fail(MAJOR_ZERO_DAY)])
    r = await env.client.put(f"{API}/inspections/{iid}", json=body, headers=env.auth(A))
    problem = assert_problem(r, 422, "photo_required")
    assert problem["item_code"] == MAJOR_ZERO_DAY
    # Nothing was stored, not even the finding of the valid answer.
    assert (await env.client.get(f"{API}/inspections/{iid}", headers=env.auth(A))).status_code == 404
    assert await findings_of(env, iid) == 0
    # A pass of the same item needs no photo.
    body = inspection_body(BAIYUN_SHOP, [{"item_code": MAJOR_ZERO_DAY, "result": "pass"}])
    assert (
        await env.client.put(f"{API}/inspections/{iid}", json=body, headers=env.auth(A))
    ).status_code == 201


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"answers": [fail("NO-SUCH-ITEM")]}, "unknown_item"),
        ({"answers": [fail("ZJF-ST-05")]}, "unknown_item"),  # an item of another checklist
        ({"checklist_code": "no_such_checklist"}, "unknown_checklist"),
        ({"checklist_version": 999}, "unknown_checklist"),
        ({"venue_id": "00000000-0000-4000-8000-000000000000"}, "venue_not_found"),
        ({"venue_id": venue_id(QINGSHAN_CLUB)}, "venue_not_found"),  # exists, but not in 白云村
        ({"checklist_code": "self_built_house"}, "checklist_not_for_venue"),
        ({"answers": [fail(GENERAL_ITEM), fail(GENERAL_ITEM)]}, "duplicate_answer"),
        ({"answers": []}, "validation_error"),
        ({"answers": [{"item_code": GENERAL_ITEM, "result": "maybe"}]}, "validation_error"),
        ({"submitted_at": "2026-11-20T09:30:00"}, "validation_error"),  # no offset
        ({"lat": 91}, "validation_error"),
        ({"checklist_version": 0}, "validation_error"),
        ({"surprise": 1}, "validation_error"),
    ],
)
async def test_invalid_inspections_are_refused(env: Env, change: dict[str, Any], code: str) -> None:
    iid = new_id()
    body = {**inspection_body(BAIYUN_SHOP, [fail(GENERAL_ITEM)]), **change}
    # A's own areas, but never drawn: another test's draw may have sent A to 青山棋牌室.
    inspector = await undrawn(env, ["v-baiyun"])
    r = await env.client.put(f"{API}/inspections/{iid}", json=body, headers=env.auth(inspector))
    assert_problem(r, 422, code)
    async with await env.session() as s:
        assert await s.get(Inspection, uuid.UUID(iid)) is None
    assert await findings_of(env, iid) == 0


async def test_unknown_photo_ids_are_named(env: Env) -> None:
    known = await put_photo(env, A)
    foreign = await put_photo(env, "inspector_qingshan")  # exists, but not this inspector's to use
    missing = new_id()
    body = inspection_body(BAIYUN_SHOP, [fail(MAJOR_ZERO_DAY, [known, missing]), fail(MAJOR_LONG, [foreign])])
    iid = new_id()
    r = await env.client.put(f"{API}/inspections/{iid}", json=body, headers=env.auth(A))
    problem = assert_problem(r, 422, "unknown_photos")
    assert problem["photo_ids"] == [missing, foreign]
    assert missing in problem["detail"] and foreign in problem["detail"]
    assert known not in problem["photo_ids"]
    assert await findings_of(env, iid) == 0


async def test_the_same_body_again_is_200_with_the_same_reply(env: Env) -> None:
    iid = new_id()
    body = inspection_body(BAIYUN_SHOP, [fail(GENERAL_ITEM), fail(GENERAL_ITEM_15)])
    first = await env.client.put(f"{API}/inspections/{iid}", json=body, headers=env.auth(A))
    assert first.status_code == 201
    for _ in range(2):
        again = await env.client.put(f"{API}/inspections/{iid}", json=body, headers=env.auth(A))
        assert again.status_code == 200, again.text
        assert again.json() == first.json()
    assert await findings_of(env, iid) == 2
    # The same instant written with another offset is the same body.
    shifted = {**body, "submitted_at": "2026-11-20T01:30:00+00:00", "started_at": "2026-11-20T01:00:00Z"}
    again = await env.client.put(f"{API}/inspections/{iid}", json=shifted, headers=env.auth(A))
    assert again.status_code == 200, again.text


@pytest.mark.parametrize(
    "change",
    [
        {"note": "另一条备注"},
        {"answers": [fail(GENERAL_ITEM)]},
        {"submitted_at": "2026-11-20T09:31:00+08:00"},
    ],
)
async def test_another_body_under_the_same_id_is_409(env: Env, change: dict[str, Any]) -> None:
    iid = new_id()
    body = inspection_body(BAIYUN_SHOP, [fail(GENERAL_ITEM), fail(GENERAL_ITEM_15)])
    first = await put_inspection(env, body, A, iid)
    r = await env.client.put(f"{API}/inspections/{iid}", json={**body, **change}, headers=env.auth(A))
    assert_problem(r, 409, "inspection_conflict")
    r = await env.client.get(f"{API}/inspections/{iid}", headers=env.auth(A))
    assert r.json() == first
    assert await findings_of(env, iid) == 2


async def test_the_same_body_from_another_inspector_is_409(env: Env) -> None:
    iid = new_id()
    body = inspection_body(BAIYUN_SHOP, [fail(GENERAL_ITEM)])
    await put_inspection(env, body, A, iid)
    r = await env.client.put(f"{API}/inspections/{iid}", json=body, headers=env.auth("inspector_baiyun2"))
    assert_problem(r, 409, "inspection_conflict")


@pytest.mark.parametrize("copies", [2, 3])
async def test_racing_identical_puts_store_one_inspection(env: Env, copies: int) -> None:
    iid = new_id()
    photo = await put_photo(env, A)
    body = inspection_body(BAIYUN_SHOP, [fail(GENERAL_ITEM), fail(MAJOR_ZERO_DAY, [photo])])
    rs = await asyncio.gather(
        *(env.client.put(f"{API}/inspections/{iid}", json=body, headers=env.auth(A)) for _ in range(copies))
    )
    assert sorted(r.status_code for r in rs) == [200] * (copies - 1) + [201], [r.text for r in rs]
    assert all(r.json() == rs[0].json() for r in rs)
    async with await env.session() as s:
        assert await s.scalar(select(func.count()).where(Inspection.id == uuid.UUID(iid))) == 1
        fids = (await s.scalars(select(Finding.id).where(Finding.inspection_id == uuid.UUID(iid)))).all()
        assert sorted(str(f) for f in fids) == sorted(rs[0].json()["finding_ids"])
        events = await s.scalar(select(func.count()).where(FindingEvent.finding_id.in_(fids)))
    assert len(fids) == 2
    assert events == 2


async def test_racing_different_bodies_one_wins_one_conflicts(env: Env) -> None:
    iid = new_id()
    b1 = inspection_body(BAIYUN_SHOP, [fail(GENERAL_ITEM)])
    b2 = inspection_body(BAIYUN_SHOP, [fail(GENERAL_ITEM_15)])
    rs = await asyncio.gather(
        *(env.client.put(f"{API}/inspections/{iid}", json=b, headers=env.auth(A)) for b in (b1, b2))
    )
    assert sorted(r.status_code for r in rs) == [201, 409], [r.text for r in rs]
    assert next(r for r in rs if r.status_code == 409).json()["code"] == "inspection_conflict"
    assert await findings_of(env, iid) == 1


async def test_a_new_checklist_version_never_changes_a_past_inspection(env: Env) -> None:
    before = (await env.client.get(f"{API}/checklists/{SMALL_VENUE}", headers=env.auth(A))).json()
    v1 = await prompts(env, SMALL_VENUE, before["version"])
    iid = new_id()
    old = await put_inspection(
        env,
        inspection_body(BAIYUN_SHOP, [fail(GENERAL_ITEM)], checklist_version=before["version"]),
        A,
        iid,
    )
    old_finding = await get_finding(env, str(old["finding_ids"][0]))

    new_version = before["version"] + 1
    items = [dict(i) for i in before["items"] if i["code"] != GENERAL_ITEM_15]
    items[0] = {
        **items[0],
        "prompt": "（新版）" + items[0]["prompt"],
        "hazard": "（新版）" + items[0]["hazard"],
        "deadline_days": 1,
    }
    async with await env.session() as s:
        s.add(
            ChecklistTemplate(
                code=SMALL_VENUE,
                version=new_version,
                title=before["title"] + "（修订）",
                venue_kinds=before["venue_kinds"],
                items=items,
                source={"reference_id": "test"},
            )
        )
        await s.commit()
    try:
        latest = (await env.client.get(f"{API}/checklists/{SMALL_VENUE}", headers=env.auth(A))).json()
        assert latest["version"] == new_version
        assert latest["items"][0]["prompt"].startswith("（新版）")
        listed = (await env.client.get(f"{API}/checklists", headers=env.auth(A))).json()
        assert {c["code"]: c["version"] for c in listed}[SMALL_VENUE] == new_version

        r = await env.client.get(
            f"{API}/checklists/{SMALL_VENUE}", params={"version": before["version"]}, headers=env.auth(A)
        )
        assert r.status_code == 200
        assert r.json() == before
        assert await prompts(env, SMALL_VENUE, before["version"]) == v1

        r = await env.client.get(f"{API}/inspections/{iid}", headers=env.auth(A))
        assert r.json() == old
        assert r.json()["checklist_version"] == before["version"]
        assert await get_finding(env, str(old["finding_ids"][0])) == old_finding

        # The item dropped from the new version is still valid against the old one, and not the new one.
        r = await env.client.put(
            f"{API}/inspections/{new_id()}",
            json=inspection_body(BAIYUN_SHOP, [fail(GENERAL_ITEM_15)], checklist_version=new_version),
            headers=env.auth(A),
        )
        assert_problem(r, 422, "unknown_item")
        await put_inspection(
            env, inspection_body(BAIYUN_SHOP, [fail(GENERAL_ITEM_15)], checklist_version=before["version"]), A
        )
        # A new inspection against the new version takes the new item's text and deadline.
        reply = await put_inspection(
            env,
            inspection_body(BAIYUN_SHOP, [fail(items[0]["code"])], checklist_version=new_version),
            A,
        )
        f = await get_finding(env, str(reply["finding_ids"][0]))
        assert f["title"] == items[0]["hazard"]
        assert f["deadline"] == (sh_today() + timedelta(days=1)).isoformat()
    finally:
        async with await env.session() as s:
            await s.execute(
                delete(ChecklistTemplate).where(
                    ChecklistTemplate.code == SMALL_VENUE, ChecklistTemplate.version == new_version
                )
            )
            await s.commit()
    r = await env.client.get(
        f"{API}/checklists/{SMALL_VENUE}", params={"version": new_version + 5}, headers=env.auth(A)
    )
    assert_problem(r, 404, "checklist_not_found")


async def test_photos_take_the_area_of_the_inspection(env: Env) -> None:
    photo = await put_photo(env, A)
    h2 = env.auth("inspector_baiyun2")
    assert (await env.client.get(f"{API}/photos/{photo}", headers=h2)).status_code == 404
    await put_inspection(env, inspection_body(BAIYUN_INN, [fail(MAJOR_ZERO_DAY, [photo])]), A)
    assert (await env.client.get(f"{API}/photos/{photo}", headers=h2)).status_code == 200
    assert (await env.client.get(f"{API}/photos/{photo}", headers=env.auth("supervisor"))).status_code == 200
    r = await env.client.get(f"{API}/photos/{photo}", headers=env.auth("inspector_qingshan"))
    assert r.status_code == 404


async def test_list_inspections_by_venue_with_a_cursor(env: Env) -> None:
    vid = await put_venue(env, f"巡查列表测试 {new_id()[:8]}", user=A)
    made = [(await put_inspection(env, inspection_body(vid), A))["id"] for _ in range(5)]
    seen: list[str] = []
    count = 0
    async for items, _ in pages(env, "/inspections", A, limit=2, venue_id=vid):
        seen += [i["id"] for i in items]
        count += 1
    assert count == 3
    assert seen == list(reversed(made))  # newest first
    from api.services.pagination import encode_cursor

    for bad in ("garbage!", encode_cursor("2026-11-20T01:00:00", new_id()), encode_cursor("x", "y")):
        r = await env.client.get(f"{API}/inspections", params={"cursor": bad}, headers=env.auth(A))
        assert_problem(r, 422, "invalid_cursor")


async def test_inspection_needs_an_inspector(env: Env) -> None:
    r = await env.client.put(f"{API}/inspections/{new_id()}", json=inspection_body(BAIYUN_SHOP))
    assert_problem(r, 401, "unauthorized")


async def test_items_say_the_hazard_the_kinds_and_what_to_do_now(env: Env) -> None:
    small = await prompts(env)
    for item in small.values():
        assert item["hazard"] and "CL-" not in item["hazard"] and "？" not in item["hazard"]
        assert item["kinds"]
    # A 便利店 has no child-care room and no sprinklers to demand; a kindergarten can have both.
    assert "small_retail" not in small["JX-LY-05"]["kinds"]
    assert "small_education" in small["JX-LY-05"]["kinds"]
    assert "small_retail" not in small["JX-EQ-04"]["kinds"]
    assert "small_retail" in small["JX-EV-01"]["kinds"]
    assert small["JX-EB-01"]["immediate"] is True and small["JX-MG-01"]["immediate"] is False
    house = await prompts(env, "self_built_house")
    crack = house["ZJF-ST-02"]
    assert crack["stop_use"] is True and crack["immediate"] is True and crack["major"] is True
    assert house["ZJF-UC-03"]["kinds"] == ["self_built_house_commercial"]


async def test_a_hazard_on_an_item_that_cannot_apply_to_the_venue_is_refused(env: Env) -> None:
    items = await prompts(env)
    assert "small_retail" not in items["JX-LY-05"]["kinds"]
    p = await put_photo(env, A)
    r = await env.client.put(
        f"{API}/inspections/{new_id()}",
        json=inspection_body(BAIYUN_SHOP, [fail("JX-LY-05", [p])]),
        headers=env.auth(A),
    )
    assert_problem(r, 422, "item_not_for_venue")
    # The phone sends such an item as 不适用 (a pass would be accepted as well): no finding.
    answers = [{"item_code": "JX-LY-05", "result": "na"}, {"item_code": "JX-EQ-04", "result": "pass"}]
    reply = await put_inspection(env, inspection_body(BAIYUN_SHOP, answers), A, new_id())
    assert reply["finding_ids"] == []


async def test_a_structural_danger_opens_a_major_finding_due_today(env: Env) -> None:
    house = await prompts(env, "self_built_house")
    p = await put_photo(env, A)
    body = inspection_body("王家自建房", [fail("ZJF-ST-02", [p])], checklist_code="self_built_house")
    reply = await put_inspection(env, body, A, new_id())
    f = await get_finding(env, str(reply["finding_ids"][0]))
    assert f["severity"] == "major"
    assert f["title"] == house["ZJF-ST-02"]["hazard"]
    assert f["deadline"] == sh_today().isoformat()


async def test_loading_the_reference_again_makes_a_new_version_and_keeps_the_old(env: Env) -> None:
    """`safegrid migrate` after the reference gained hazards and kinds: the templates as an older release
    stored them get a new version beside them, and nothing changes when it runs again."""
    from api.services import checklists as checklist_service

    old_keys = {"hazard", "kinds", "immediate", "stop_use"}
    async with await env.session() as s:
        latest = await checklist_service.get_latest(s, "fire_exits")
        assert latest is not None
        old_items = [{k: v for k, v in i.items() if k not in old_keys} for i in latest.items]
        s.add(
            ChecklistTemplate(
                code="fire_exits",
                version=latest.version + 1,
                title=latest.title,
                venue_kinds=latest.venue_kinds,
                items=old_items,
                source=latest.source,
            )
        )
        await s.commit()
        old_version = latest.version + 1
    try:
        async with await env.session() as s:
            added = await checklist_service.seed_builtin(s)
            await s.commit()
        assert added == [("fire_exits", old_version + 1)]
        async with await env.session() as s:
            assert await checklist_service.seed_builtin(s) == []
        old = await prompts(env, "fire_exits", old_version)
        assert all(i["hazard"] is None and i["kinds"] is None for i in old.values())
        new = await prompts(env, "fire_exits", old_version + 1)
        assert all(i["hazard"] for i in new.values())
    finally:
        async with await env.session() as s:
            await s.execute(
                delete(ChecklistTemplate).where(
                    ChecklistTemplate.code == "fire_exits", ChecklistTemplate.version >= old_version
                )
            )
            await s.commit()


async def test_another_areas_inspection_id_is_404_as_a_get_would_answer(env: Env) -> None:
    iid = new_id()
    await put_inspection(env, inspection_body(BAIYUN_SHOP), A, iid)
    other = await undrawn(env, ["v-qingshan"])
    assert_problem(
        await env.client.get(f"{API}/inspections/{iid}", headers=env.auth(other)), 404, "inspection_not_found"
    )
    # Neither the same body nor another one reveals that the id is taken.
    for body in (inspection_body(BAIYUN_SHOP), inspection_body(QINGSHAN_CLUB)):
        r = await env.client.put(f"{API}/inspections/{iid}", json=body, headers=env.auth(other))
        assert_problem(r, 404, "inspection_not_found")
    # Someone who may see it still learns it is taken.
    r = await env.client.put(
        f"{API}/inspections/{iid}", json=inspection_body(BAIYUN_SHOP), headers=env.auth("inspector_baiyun2")
    )
    assert_problem(r, 409, "inspection_conflict")


@pytest.mark.parametrize("submitted_at", ["2026-01-05T09:30:00+08:00", "2031-06-01T09:30:00+08:00"])
async def test_deadline_counts_from_the_servers_date_of_receipt(env: Env, submitted_at: str) -> None:
    """A backdated or future submitted_at is kept and shown as reported; the deadline ignores it."""
    photos = [await put_photo(env, A)]
    day_before = sh_today()
    body = inspection_body(BAIYUN_SHOP, [fail(GENERAL_ITEM_15, photos)], submitted_at=submitted_at)
    reply = await put_inspection(env, body, A)
    day_after = sh_today()
    assert reply["submitted_at"] == submitted_at.replace("09:30:00+08:00", "01:30:00+00:00")
    f = await get_finding(env, str(reply["finding_ids"][0]))
    assert f["deadline"] in {
        (day_before + timedelta(days=15)).isoformat(),
        (day_after + timedelta(days=15)).isoformat(),
    }


def test_prepared_reply_equals_the_models_serialisation() -> None:
    from datetime import UTC, datetime, timezone

    from api.schemas.inspections import InspectionOut, inspection_json

    row = {
        "id": uuid.uuid4(),
        "venue_id": uuid.uuid4(),
        "area_code": "v-baiyun-g1",
        "checklist_code": SMALL_VENUE,
        "checklist_version": 3,
        "inspector_id": uuid.uuid4(),
        "started_at": None,
        "submitted_at": datetime(2026, 11, 20, 9, 30, 5, 123456, tzinfo=timezone(timedelta(hours=8))),
        "lat": 31.401,
        "lng": -0.5,
        "accuracy_m": None,
        "note": '例行检查 "引号" \n',
        "answers": [
            {"photo_ids": [str(uuid.uuid4())], "result": "fail", "item_code": "X1", "note": "坏了"},
            {"item_code": "X2", "result": "pass", "note": None, "photo_ids": []},
        ],
        "finding_ids": [uuid.uuid4()],
        "created_at": datetime(2026, 11, 20, 1, 30, tzinfo=UTC),
    }
    assert json.loads(inspection_json(row)) == json.loads(InspectionOut(**row).model_dump_json())
