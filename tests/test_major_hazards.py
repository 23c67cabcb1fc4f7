"""Major hazards (疑似重大 → 重大): the supervisor's decision as a lifecycle transition, the register entry
(五落实 + 督办人) required to confirm and to close, the register list, its workbook and the open stock."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from openpyxl import load_workbook

from api.services.areas import upsert_area
from tests.conftest import Env
from tests.helpers import (
    API,
    GENERAL_ITEM,
    MAJOR_LONG,
    MAJOR_ZERO_DAY,
    act,
    assert_problem,
    fail,
    file_finding,
    get_finding,
    inspection_body,
    make_user,
    new_id,
    open_finding,
    put_photo,
    put_venue,
    set_finding_fields,
    sh_today,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def register(days: int = 30, **overrides: Any) -> dict[str, Any]:
    return {
        "responsible_person": "王建国",
        "measures": "停用二楼住宿，拆除违规隔断，增设疏散楼梯",
        "funds": "8万元（业主自筹）",
        "deadline": (sh_today() + timedelta(days=days)).isoformat(),
        "contingency_plan": "整改期间专人值守，夜间不得住人",
        "supervising_official": "镇应急办 李主任",
        **overrides,
    }


def decision(kind: str = "confirm", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "decision": kind,
        "decided_on": sh_today().isoformat(),
        "participants": "李主任、张工程师、村支书",
        "note": "集体讨论认定",
    }
    if kind == "confirm":
        body["register"] = register()
    body.update(overrides)
    return body


async def decide(env: Env, fid: str, body: dict[str, Any], user: str = "supervisor") -> Any:
    return await env.client.post(f"{API}/findings/{fid}/major-decision", json=body, headers=env.auth(user))


async def suspected(env: Env, user: str = "inspector_baiyun") -> str:
    return await open_finding(env, user=user, item=MAJOR_LONG)


async def test_a_major_item_opens_a_suspected_major_hazard(env: Env) -> None:
    f = await get_finding(env, await suspected(env))
    assert (f["severity"], f["major_status"], f["register"], f["decided_on"]) == (
        "major",
        "suspected",
        None,
        None,
    )
    g = await get_finding(env, await open_finding(env, item=GENERAL_ITEM))
    assert g["major_status"] is None


async def test_confirm_needs_the_register_and_sets_the_deadline(env: Env) -> None:
    fid = await suspected(env)
    before = await get_finding(env, fid)
    body = decision()
    del body["register"]
    assert_problem(await decide(env, fid, body), 422, "register_required")

    r = await decide(env, fid, decision())
    assert r.status_code == 200, r.text
    f = r.json()
    assert (f["major_status"], f["severity"], f["status"]) == ("confirmed", "major", "open")
    assert f["deadline"] == register()["deadline"]
    assert f["register"] == register()
    assert (f["decided_on"], f["participants"]) == (sh_today().isoformat(), "李主任、张工程师、村支书")
    event = f["events"][-1]
    assert event["action"] == "confirm_major" and event["note"] == "集体讨论认定"
    assert event["data"]["major_status"] == {"before": "suspected", "after": "confirmed"}
    assert event["data"]["deadline"] == {"before": before["deadline"], "after": register()["deadline"]}
    assert event["data"]["register"] == {"before": None, "after": register()}
    # Decided once: a second decision is refused.
    assert_problem(await decide(env, fid, decision("downgrade")), 409, "not_suspected")
    assert await get_finding(env, fid) == f


async def test_an_extension_moves_the_register_deadline_too(env: Env) -> None:
    """The register entry, the register list and its workbook name the finding's deadline after an
    extension, as they do after a register edit."""
    code, venue, inspector, boss = await new_village(env)
    fid = await open_major(env, venue, inspector)
    r = await env.client.post(f"{API}/findings/{fid}/major-decision", json=decision(), headers=boss)
    assert r.status_code == 200, r.text
    later = (sh_today() + timedelta(days=60)).isoformat()
    r = await env.client.post(
        f"{API}/findings/{fid}/extension", json={"deadline": later, "reason": "需外购消防设施"}, headers=boss
    )
    assert r.status_code == 200, r.text
    f = r.json()
    assert f["deadline"] == later and f["register"]["deadline"] == later
    r = await env.client.get(f"{API}/major-hazards", params={"area": code}, headers=boss)
    assert [(i["deadline"], i["register"]["deadline"]) for i in r.json()["items"]] == [(later, later)]
    r = await env.client.get(f"{API}/major-hazards/export", params={"area": code}, headers=boss)
    rows = list(load_workbook(io.BytesIO(r.content))["重大事故隐患清单"].iter_rows(values_only=True))
    header, row = rows[0], rows[1]
    assert [row[i] for i, name in enumerate(header) if name in ("整改期限", "整改时限")] == [later, later]


async def test_downgrade_makes_it_general(env: Env) -> None:
    fid = await suspected(env)
    r = await decide(env, fid, decision("downgrade", note="经核实可立即整改"))
    assert r.status_code == 200, r.text
    f = r.json()
    assert (f["major_status"], f["severity"], f["register"]) == ("downgraded", "general", None)
    assert f["decided_on"] == sh_today().isoformat()
    event = f["events"][-1]
    assert event["action"] == "downgrade_major"
    assert event["data"]["severity"] == {"before": "major", "after": "general"}
    assert event["data"]["major_status"] == {"before": "suspected", "after": "downgraded"}
    # It was at 一级督办 for being major, not for being late: as a general hazard within its deadline it is
    # not escalated.
    assert f["overdue"] is False and f["escalation_level"] == 0
    assert event["data"]["escalation_level"] == {"before": 1, "after": 0}
    # A general finding awaits no decision.
    general = await open_finding(env, item=GENERAL_ITEM)
    assert_problem(await decide(env, general, decision()), 409, "not_suspected")


async def test_a_downgrade_gives_the_general_hazard_its_deadline(env: Env) -> None:
    """The suspicion's deadline was days short, for a decision; a downgrade may set the general hazard's own
    in the same step, recorded in its event, and a resend with the same id changes nothing more."""
    later = (sh_today() + timedelta(days=20)).isoformat()
    fid = await suspected(env)
    for bad, code in (
        ({"deadline": (sh_today() - timedelta(days=1)).isoformat()}, "deadline_in_past"),
        ({"deadline": (sh_today() + timedelta(days=800)).isoformat()}, "deadline_too_far"),
    ):
        assert_problem(await decide(env, fid, decision("downgrade", **bad)), 422, code)
    assert_problem(await decide(env, fid, decision(deadline=later)), 422, "validation_error")
    body = decision("downgrade", deadline=later, id=new_id())
    r = await decide(env, fid, body)
    assert r.status_code == 200, r.text
    f = r.json()
    assert (f["severity"], f["deadline"], f["escalation_level"]) == ("general", later, 0)
    assert f["events"][-1]["data"]["deadline"]["after"] == later
    again = await decide(env, fid, body)
    assert again.status_code == 200 and len(again.json()["events"]) == len(f["events"])


async def test_a_late_hazard_downgraded_with_a_new_deadline_keeps_its_escalation(env: Env) -> None:
    fid = await suspected(env)
    await set_finding_fields(env, fid, deadline=sh_today() - timedelta(days=10))
    later = (sh_today() + timedelta(days=20)).isoformat()
    r = await decide(env, fid, decision("downgrade", deadline=later))
    assert r.status_code == 200, r.text
    # Ten days late, it keeps its 督办 level (the sweep raises it from there), as after an extension: the new
    # deadline does not make it a hazard that was never late.
    assert (r.json()["deadline"], r.json()["escalation_level"]) == (later, 1)


async def test_a_decision_with_a_client_id_is_applied_once(env: Env) -> None:
    fid = await suspected(env)
    body = decision(id=new_id())
    first = await decide(env, fid, body)
    assert first.status_code == 200, first.text
    again = await decide(env, fid, body)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert [e["action"] for e in again.json()["events"]].count("confirm_major") == 1
    # The same id for other words is a conflict, not a second decision.
    other = decision(id=body["id"], participants="另一批人")
    assert_problem(await decide(env, fid, other), 409, "id_conflict")
    # Without an id, the same decision sent again right after is answered as it was.
    fid2 = await suspected(env)
    plain = decision("downgrade")
    assert (await decide(env, fid2, plain)).status_code == 200
    r = await decide(env, fid2, plain)
    assert r.status_code == 200, r.text
    assert [e["action"] for e in r.json()["events"]].count("downgrade_major") == 1


async def test_bad_decision_bodies_are_422(env: Env) -> None:
    fid = await suspected(env)
    bad = [
        decision(participants=""),
        decision(decision="maybe"),
        decision(decided_on="yesterday"),
        decision(register=register(responsible_person="")),
        decision(register={k: v for k, v in register().items() if k != "funds"}),
        decision("downgrade", register=register()),
        decision(register=register(days=-1)),
        {**decision(), "extra": 1},
    ]
    for body in bad:
        r = await decide(env, fid, body)
        assert r.status_code == 422, (body, r.text)
    assert_problem(await decide(env, fid, decision(register=register(days=-1))), 422, "deadline_in_past")
    tomorrow = (sh_today() + timedelta(days=1)).isoformat()
    assert_problem(await decide(env, fid, decision(decided_on=tomorrow)), 422, "decided_on_in_future")
    assert (await get_finding(env, fid))["major_status"] == "suspected"


async def test_who_may_decide(env: Env) -> None:
    fid = await suspected(env)
    assert_problem(await decide(env, fid, decision(), user="inspector_baiyun"), 403, "role_required")
    # A supervisor of another village does not learn that the finding exists.
    other = await make_user(env, f"sup_q_{new_id()[:6]}", "supervisor", ["v-qingshan"])
    r = await env.client.post(f"{API}/findings/{fid}/major-decision", json=decision(), headers=other)
    assert_problem(r, 404, "finding_not_found")
    r = await env.client.put(f"{API}/findings/{fid}/register", json=register(), headers=other)
    assert_problem(r, 404, "finding_not_found")
    r = await env.client.get(f"{API}/major-hazards", params={"limit": 200}, headers=other)
    assert fid not in {i["id"] for i in r.json()["items"]}


async def test_closing_rules(env: Env) -> None:
    # Suspected: no closing before the decision.
    fid = await suspected(env)
    assert (await act(env, fid, "rectification", "inspector_baiyun")).status_code == 200
    assert_problem(await act(env, fid, "verification", "inspector_baiyun2"), 409, "major_decision_pending")
    # Confirmed: no closing without photo evidence.
    assert (await decide(env, fid, decision())).status_code == 200
    assert_problem(await act(env, fid, "verification", "inspector_baiyun2"), 422, "evidence_required")
    assert (await get_finding(env, fid))["status"] == "submitted"
    photo = await put_photo(env, "inspector_baiyun2")
    r = await act(
        env,
        fid,
        "verification",
        "inspector_baiyun2",
        {"result": "pass", "note": "复查合格", "photo_ids": [photo]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"
    # A rectification with photos is evidence too.
    fid = await suspected(env)
    assert (await decide(env, fid, decision())).status_code == 200
    photo = await put_photo(env, "inspector_baiyun")
    r = await act(env, fid, "rectification", "inspector_baiyun", {"note": "已拆除", "photo_ids": [photo]})
    assert r.status_code == 200, r.text
    assert (await act(env, fid, "verification", "inspector_baiyun2")).status_code == 200
    # A downgraded one closes like any general finding.
    fid = await suspected(env)
    assert (await decide(env, fid, decision("downgrade"))).status_code == 200
    assert (await act(env, fid, "rectification", "inspector_baiyun")).status_code == 200
    assert (await act(env, fid, "verification", "inspector_baiyun2")).status_code == 200


async def test_register_updates(env: Env) -> None:
    fid = await suspected(env)
    r = await env.client.put(
        f"{API}/findings/{fid}/register", json=register(), headers=env.auth("supervisor")
    )
    assert_problem(r, 409, "not_confirmed")
    assert (await decide(env, fid, decision())).status_code == 200
    changed = register(days=45, funds="12万元")
    body = {**changed, "id": new_id()}
    r = await env.client.put(f"{API}/findings/{fid}/register", json=body, headers=env.auth("supervisor"))
    assert r.status_code == 200, r.text
    f = r.json()
    assert f["register"] == changed and f["deadline"] == changed["deadline"]
    event = f["events"][-1]
    assert event["action"] == "update_register"
    assert event["data"]["register"] == {"before": register(), "after": changed}
    assert event["data"]["deadline"]["after"] == changed["deadline"]
    again = await env.client.put(f"{API}/findings/{fid}/register", json=body, headers=env.auth("supervisor"))
    assert again.status_code == 200 and again.json() == f
    r = await env.client.put(
        f"{API}/findings/{fid}/register", json={**register(), "funds": ""}, headers=env.auth("supervisor")
    )
    assert_problem(r, 422, "validation_error")


async def new_village(env: Env) -> tuple[str, str, dict[str, str], dict[str, str]]:
    """A village of its own with one grid, a venue, and its inspector's and supervisor's headers."""
    code = f"v-m{new_id()[:8]}"
    async with await env.session() as s:
        await upsert_area(s, code, "重大隐患测试村", "town", "village")
        await upsert_area(s, f"{code}-g1", "重大隐患测试村一网格", code, "grid")
        await s.commit()
    venue = await put_venue(env, f"测试店 {code}", f"{code}-g1")
    inspector = await make_user(env, f"insp_{code}", "inspector", [code])
    boss = await make_user(env, f"sup_{code}", "supervisor", [code])
    return code, venue, inspector, boss


async def open_major(env: Env, venue: str, headers: dict[str, str]) -> str:
    photo_id = new_id()
    from tests.helpers import make_jpeg

    r = await env.client.put(
        f"{API}/photos/{photo_id}", files={"file": ("p.jpg", make_jpeg(), "image/jpeg")}, headers=headers
    )
    assert r.status_code == 201, r.text
    r = await env.client.put(
        f"{API}/inspections/{new_id()}",
        json=inspection_body(venue, [fail(MAJOR_ZERO_DAY, [photo_id])]),
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["finding_ids"][0])


async def test_the_register_list_export_and_stock(env: Env) -> None:
    code, venue, inspector, boss = await new_village(env)
    ids = [await open_major(env, venue, inspector) for _ in range(3)]
    r = await env.client.post(f"{API}/findings/{ids[0]}/major-decision", json=decision(), headers=boss)
    assert r.status_code == 200, r.text
    r = await env.client.post(
        f"{API}/findings/{ids[1]}/major-decision", json=decision("downgrade"), headers=boss
    )
    assert r.status_code == 200, r.text

    # Keyset pages of one, newest first: the suspected and the confirmed one, not the downgraded.
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        r = await env.client.get(f"{API}/major-hazards", params=params, headers=boss)
        assert r.status_code == 200, r.text
        seen += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert [i["id"] for i in seen] == [ids[2], ids[0]]
    confirmed = seen[1]
    assert confirmed["register"] == register() and confirmed["participants"] == "李主任、张工程师、村支书"
    assert confirmed["venue"]["name"] == f"测试店 {code}" and confirmed["number"].startswith("FX-")
    assert seen[0]["register"] is None and seen[0]["major_status"] == "suspected"

    r = await env.client.get(f"{API}/major-hazards", params={"major_status": "confirmed"}, headers=boss)
    assert [i["id"] for i in r.json()["items"]] == [ids[0]]
    r = await env.client.get(f"{API}/major-hazards", params={"major_status": "downgraded"}, headers=boss)
    assert_problem(r, 422, "validation_error")
    r = await env.client.get(f"{API}/major-hazards", params={"area": "no-such-area"}, headers=boss)
    assert_problem(r, 422, "unknown_area")
    r = await env.client.get(f"{API}/major-hazards", headers=inspector)
    assert_problem(r, 403, "role_required")

    # The stock per area below the supervisor's village, and for the town.
    r = await env.client.get(f"{API}/major-hazards/stock", headers=boss)
    assert r.status_code == 200, r.text
    assert r.json() == [
        {
            "area_code": f"{code}-g1",
            "name": "重大隐患测试村一网格",
            "own_level": False,
            "suspected_open": 1,
            "confirmed_open": 1,
            "total_open": 2,
        }
    ]
    r = await env.client.get(f"{API}/major-hazards/stock", headers=env.auth("admin"))
    row = next(x for x in r.json() if x["area_code"] == code)
    assert (row["suspected_open"], row["confirmed_open"], row["total_open"]) == (1, 1, 2)
    r = await env.client.get(f"{API}/major-hazards/stock", params={"area": "v-baiyun"}, headers=boss)
    assert_problem(r, 403, "area_out_of_scope")
    # Closed or void leaves the stock.
    r = await env.client.post(f"{API}/findings/{ids[2]}/void", json={"reason": "重复录入"}, headers=boss)
    assert r.status_code == 200, r.text
    r = await env.client.get(f"{API}/major-hazards/stock", headers=boss)
    assert r.json()[0]["total_open"] == 1

    # The workbook: the same list, register columns, typed text, an autofilter.
    r = await env.client.get(f"{API}/major-hazards/export", headers=boss)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    sheet = load_workbook(io.BytesIO(r.content))["重大事故隐患清单"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert header[0] == "编号" and "责任人" in header and "督办人" in header and "应急预案" in header
    assert sheet.auto_filter.ref == f"A1:T{len(rows)}"
    by_id = {row[-1]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert set(by_id) == {ids[0], ids[2]}
    entry = by_id[ids[0]]
    assert (entry["认定"], entry["责任人"], entry["督办人"], entry["整改时限"]) == (
        "重大",
        "王建国",
        "镇应急办 李主任",
        register()["deadline"],
    )
    assert entry["编号"] == confirmed["number"]
    assert entry["督办级别"] == "一级督办(镇)"  # in words, as in the findings ledger


async def test_the_stock_of_a_supervisor_of_two_villages_and_of_a_grid(env: Env) -> None:
    """Two villages: one row each (not `area_required`); a grid, with nothing below it: its own row, not an
    empty list that a screen adds up to zero beside an open major hazard."""
    first, first_venue, first_inspector, _ = await new_village(env)
    second, second_venue, second_inspector, _ = await new_village(env)
    await open_major(env, first_venue, first_inspector)
    await open_major(env, second_venue, second_inspector)
    await open_major(env, second_venue, second_inspector)
    both = await make_user(env, f"sup2_{first}", "supervisor", [first, second])

    r = await env.client.get(f"{API}/major-hazards/stock", headers=both)
    assert r.status_code == 200, r.text
    assert {row["area_code"]: row["total_open"] for row in r.json()} == {first: 1, second: 2}
    r = await env.client.get(f"{API}/major-hazards/stock", params={"area": f"{second}-g1"}, headers=both)
    assert r.status_code == 200, r.text
    assert r.json() == [
        {
            "area_code": f"{second}-g1",
            "name": "重大隐患测试村一网格",
            "own_level": False,
            "suspected_open": 2,
            "confirmed_open": 0,
            "total_open": 2,
        }
    ]


async def test_a_register_deadline_years_ahead_is_refused(env: Env) -> None:
    fid = await suspected(env)
    far = decision()
    far["register"] = register(days=800)
    assert_problem(await decide(env, fid, far), 422, "deadline_too_far")
    assert (await decide(env, fid, decision())).status_code == 200
    r = await env.client.put(
        f"{API}/findings/{fid}/register", json=register(days=800), headers=env.auth("supervisor")
    )
    assert_problem(r, 422, "deadline_too_far")
    # A refusal for the finding's state keeps its old answer, whatever the date.
    assert_problem(await decide(env, fid, far), 409, "not_suspected")


async def test_a_major_hazard_placed_on_the_town_itself_is_in_the_stock(env: Env) -> None:
    """A hazard filed on the town (a report accepted there, or by hand), not on a village, is counted in a
    last row of the town's own: the rows add up to the number that must reach zero, as the register does."""
    town = env.auth("supervisor")

    async def stock() -> list[dict[str, Any]]:
        r = await env.client.get(f"{API}/major-hazards/stock", params={"area": "town"}, headers=town)
        assert r.status_code == 200, r.text
        return list(r.json())

    async def register_open() -> int:
        count, cursor = 0, None
        while True:
            params: dict[str, Any] = {"limit": 200, "area": "town", **({"cursor": cursor} if cursor else {})}
            r = await env.client.get(f"{API}/major-hazards", params=params, headers=town)
            assert r.status_code == 200, r.text
            count += sum(1 for i in r.json()["items"] if i["status"] in ("open", "submitted"))
            if not (cursor := r.json()["next_cursor"]):
                return count

    before = await stock()
    await file_finding(env, area_code="town", title="镇政府院内液化气瓶露天存放", severity="major")
    after = await stock()
    own = after[-1]
    assert (own["area_code"], own["name"], own["own_level"]) == ("town", "云岭镇（本级）", True)
    was = before[-1]["suspected_open"] if before and before[-1]["own_level"] else 0
    assert own["suspected_open"] == was + 1
    assert [r["total_open"] for r in after if not r["own_level"]] == [
        r["total_open"] for r in before if not r["own_level"]
    ]
    assert sum(r["total_open"] for r in after) == await register_open()
