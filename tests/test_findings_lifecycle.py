"""The finding lifecycle (DESIGN.md, "一单四制"): every allowed transition, every refused one, four eyes,
and the audit trail each transition leaves behind."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from api.models import Finding, FindingEvent
from api.timeutil import local_today
from tests.conftest import Env, venue_id
from tests.helpers import (
    API,
    BAIYUN_SHOP,
    act,
    assert_problem,
    get_finding,
    new_id,
    open_finding,
    put_photo,
    set_finding_fields,
    sh_today,
    user_id,
)

A = "inspector_baiyun"
B = "inspector_baiyun2"


def actions(finding: dict[str, Any]) -> list[str]:
    return [e["action"] for e in finding["events"]]


async def event_count(env: Env, finding_id: str) -> int:
    async with await env.session() as s:
        n = await s.scalar(
            select(func.count(FindingEvent.id)).where(FindingEvent.finding_id == uuid.UUID(finding_id))
        )
    return int(n or 0)


async def submitted_finding(env: Env, rectifier: str = A) -> str:
    fid = await open_finding(env)
    r = await act(env, fid, "rectification", rectifier)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "submitted"
    return fid


async def closed_finding(env: Env) -> str:
    fid = await submitted_finding(env, A)
    r = await act(env, fid, "verification", B)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"
    return fid


async def void_finding(env: Env) -> str:
    fid = await open_finding(env)
    r = await act(env, fid, "void", "supervisor")
    assert r.status_code == 200, r.text
    return fid


# --------------------------------------------------------------------------- allowed transitions


async def test_new_finding_is_open_with_a_create_event(env: Env) -> None:
    fid = await open_finding(env, note="灭火器压力不足")
    f = await get_finding(env, fid)
    assert f["status"] == "open"
    assert f["closed_at"] is None
    assert f["rectification"] is None
    assert [(e["seq"], e["action"], e["from_status"], e["to_status"]) for e in f["events"]] == [
        (1, "create", None, "open")
    ]
    create = f["events"][0]
    assert create["actor_id"] == await user_id(env, A)
    assert create["actor_name"] == "白云村网格员 王芳"
    assert create["data"]["severity"] == "general"
    assert create["data"]["deadline"] == f["deadline"]


async def test_rectification_moves_open_to_submitted(env: Env) -> None:
    fid = await open_finding(env)
    photo = await put_photo(env, A)
    r = await act(env, fid, "rectification", A, {"note": "已更换灭火器", "photo_ids": [photo]})
    assert r.status_code == 200, r.text
    f = r.json()
    # The reply is the whole updated finding, events included.
    assert f["id"] == fid
    assert f["status"] == "submitted"
    assert f["closed_at"] is None
    assert f["rectification"]["by"] == await user_id(env, A)
    assert f["rectification"]["note"] == "已更换灭火器"
    assert f["rectification"]["photo_ids"] == [photo]
    assert actions(f) == ["create", "rectify"]
    ev = f["events"][1]
    assert (ev["from_status"], ev["to_status"], ev["note"], ev["photo_ids"]) == (
        "open",
        "submitted",
        "已更换灭火器",
        [photo],
    )
    assert await get_finding(env, fid) == f


async def test_verification_pass_closes(env: Env) -> None:
    fid = await submitted_finding(env, A)
    photo = await put_photo(env, B)
    before = datetime.now().astimezone()
    r = await act(env, fid, "verification", B, {"result": "pass", "note": "复查合格", "photo_ids": [photo]})
    assert r.status_code == 200, r.text
    f = r.json()
    assert f["status"] == "closed"
    closed_at = datetime.fromisoformat(f["closed_at"])
    assert before - timedelta(seconds=5) <= closed_at <= datetime.now().astimezone() + timedelta(seconds=5)
    assert actions(f) == ["create", "rectify", "verify_pass"]
    ev = f["events"][-1]
    assert ev["actor_id"] == await user_id(env, B)
    assert (ev["from_status"], ev["to_status"], ev["note"], ev["photo_ids"]) == (
        "submitted",
        "closed",
        "复查合格",
        [photo],
    )
    # The photo now belongs to the finding's area: the other inspector of the village may see it.
    r = await env.client.get(f"{API}/photos/{photo}", headers=env.auth(A))
    assert r.status_code == 200


async def test_verification_fail_reopens_and_clears_the_rectification(env: Env) -> None:
    fid = await submitted_finding(env, A)
    r = await act(env, fid, "verification", B, {"result": "fail", "note": "仍未整改到位"})
    assert r.status_code == 200, r.text
    f = r.json()
    assert f["status"] == "open"
    assert f["closed_at"] is None
    assert f["rectification"] is None
    assert actions(f) == ["create", "rectify", "verify_fail"]
    ev = f["events"][-1]
    assert (ev["from_status"], ev["to_status"], ev["note"]) == ("submitted", "open", "仍未整改到位")
    # The failed rectification stays in the trail.
    assert f["events"][1]["note"] == "已整改"


async def test_after_a_failed_verification_a_new_rectification_and_another_verifier(env: Env) -> None:
    fid = await submitted_finding(env, A)
    assert (await act(env, fid, "verification", B, {"result": "fail", "note": "不合格"})).status_code == 200
    # The verifier now rectifies; the first submitter may verify this new rectification.
    r = await act(env, fid, "rectification", B, {"note": "第二次整改", "photo_ids": []})
    assert r.status_code == 200, r.text
    assert r.json()["rectification"]["by"] == await user_id(env, B)
    assert_problem(await act(env, fid, "verification", B), 403, "four_eyes")
    r = await act(env, fid, "verification", A)
    assert r.status_code == 200, r.text
    f = r.json()
    assert f["status"] == "closed"
    assert actions(f) == ["create", "rectify", "verify_fail", "rectify", "verify_pass"]
    assert [e["actor_id"] for e in f["events"]] == [
        await user_id(env, A),
        await user_id(env, A),
        await user_id(env, B),
        await user_id(env, B),
        await user_id(env, A),
    ]


async def test_supervisor_may_verify(env: Env) -> None:
    fid = await submitted_finding(env, A)
    r = await act(env, fid, "verification", "supervisor")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"


@pytest.mark.parametrize("result", ["pass", "fail"])
async def test_four_eyes_the_submitter_cannot_verify(env: Env, result: str) -> None:
    fid = await submitted_finding(env, A)
    n = await event_count(env, fid)
    body = assert_problem(await act(env, fid, "verification", A, {"result": result}), 403, "four_eyes")
    assert "submitter" in body["detail"]
    f = await get_finding(env, fid)
    assert f["status"] == "submitted"
    assert await event_count(env, fid) == n


async def test_four_eyes_binds_a_supervisor_too(env: Env) -> None:
    fid = await open_finding(env)
    assert (await act(env, fid, "rectification", "supervisor")).status_code == 200
    assert_problem(await act(env, fid, "verification", "supervisor"), 403, "four_eyes")
    assert (await act(env, fid, "verification", A)).status_code == 200


# --------------------------------------------------------------------------- extension


async def test_extension_moves_the_deadline_later_with_a_reason(env: Env) -> None:
    fid = await open_finding(env)
    before = (await get_finding(env, fid))["deadline"]
    later = (sh_today() + timedelta(days=45)).isoformat()
    r = await act(env, fid, "extension", "supervisor", {"deadline": later, "reason": "需采购防火门"})
    assert r.status_code == 200, r.text
    f = r.json()
    assert f["deadline"] == later
    assert f["status"] == "open"
    ev = f["events"][-1]
    assert ev["action"] == "extend"
    assert ev["actor_id"] == await user_id(env, "supervisor")
    assert (ev["from_status"], ev["to_status"], ev["note"]) == ("open", "open", "需采购防火门")
    assert ev["data"]["deadline"] == {"before": before, "after": later}


async def test_extension_of_a_submitted_finding_keeps_it_submitted(env: Env) -> None:
    fid = await submitted_finding(env)
    later = (sh_today() + timedelta(days=30)).isoformat()
    r = await act(env, fid, "extension", "supervisor", {"deadline": later, "reason": "等待复查"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["deadline"]) == ("submitted", later)


@pytest.mark.parametrize("days", [0, -1])
async def test_extension_must_be_later(env: Env, days: int) -> None:
    fid = await open_finding(env)
    f = await get_finding(env, fid)
    current = datetime.fromisoformat(f["deadline"]).date()
    new = (current + timedelta(days=days)).isoformat()
    body = assert_problem(
        await act(env, fid, "extension", "supervisor", {"deadline": new, "reason": "x"}),
        422,
        "deadline_not_later",
    )
    assert current.isoformat() in body["detail"]
    assert (await get_finding(env, fid))["deadline"] == current.isoformat()
    assert actions(await get_finding(env, fid)) == ["create"]


async def test_extension_cannot_set_a_past_deadline(env: Env) -> None:
    fid = await open_finding(env)
    async with await env.session() as s:
        finding = await s.get(Finding, uuid.UUID(fid))
        finding.deadline = local_today() - timedelta(days=10)
        await s.commit()
    # Later than the current deadline, but already gone: an extension that leaves it overdue is refused.
    past = (local_today() - timedelta(days=1)).isoformat()
    assert_problem(
        await act(env, fid, "extension", "supervisor", {"deadline": past, "reason": "x"}),
        422,
        "deadline_in_past",
    )
    assert (await get_finding(env, fid))["deadline"] == (local_today() - timedelta(days=10)).isoformat()


async def test_a_deadline_more_than_two_years_ahead_is_a_slip_and_refused(env: Env) -> None:
    """2099 for 2026 would keep a hazard "on time" for ever: extension, decision, register and a
    supervisor's manual finding all refuse it; nearly two years ahead is still accepted."""
    fid = await open_finding(env)
    far = (local_today() + timedelta(days=800)).isoformat()  # clear of the limit on either side of midnight
    assert_problem(
        await act(env, fid, "extension", "supervisor", {"deadline": far, "reason": "录错了"}),
        422,
        "deadline_too_far",
    )
    r = await env.client.post(
        f"{API}/findings",
        json={"area_code": "v-baiyun", "title": "楼道堆物", "deadline": far},
        headers=env.auth("supervisor"),
    )
    assert_problem(r, 422, "deadline_too_far")
    # An inspector is refused any longer deadline as before: a supervisor's decision.
    r = await env.client.post(
        f"{API}/findings",
        json={"area_code": "v-baiyun", "title": "楼道堆物", "deadline": far},
        headers=env.auth("inspector_baiyun"),
    )
    assert_problem(r, 422, "deadline_too_late")
    almost_two_years = (local_today() + timedelta(days=700)).isoformat()
    r = await act(env, fid, "extension", "supervisor", {"deadline": almost_two_years, "reason": "需拆除重建"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("body", [{"deadline": "2099-01-01"}, {"deadline": "2099-01-01", "reason": ""}])
async def test_extension_needs_a_reason(env: Env, body: dict[str, Any]) -> None:
    fid = await open_finding(env)
    assert_problem(await act(env, fid, "extension", "supervisor", body), 422, "validation_error")


async def test_extension_and_void_need_a_supervisor(env: Env) -> None:
    fid = await open_finding(env)
    for action in ("extension", "void"):
        assert_problem(await act(env, fid, action, A), 403, "role_required")
    f = await get_finding(env, fid)
    assert f["status"] == "open" and actions(f) == ["create"]


# --------------------------------------------------------------------------- void


@pytest.mark.parametrize("state", ["open", "submitted", "closed"])
async def test_void_from(env: Env, state: str) -> None:
    fid = {"open": open_finding, "submitted": submitted_finding, "closed": closed_finding}[state]
    fid = await fid(env)
    r = await act(env, fid, "void", "supervisor", {"reason": "误报，现场不存在该隐患"})
    assert r.status_code == 200, r.text
    f = r.json()
    assert f["status"] == "void"
    ev = f["events"][-1]
    assert ev["action"] == "void"
    assert (ev["from_status"], ev["to_status"]) == (state, "void")
    assert ev["note"] == "误报，现场不存在该隐患"
    assert ev["actor_id"] == await user_id(env, "supervisor")


async def test_void_needs_a_reason(env: Env) -> None:
    fid = await open_finding(env)
    assert_problem(await act(env, fid, "void", "supervisor", {}), 422, "validation_error")
    assert_problem(await act(env, fid, "void", "supervisor", {"reason": "  "}), 422, "validation_error")
    assert (await get_finding(env, fid))["status"] == "open"


# --------------------------------------------------------------------------- refused transitions


REFUSALS = [
    # (state, action, body, code)
    ("submitted", "rectification", None, "already_submitted"),
    ("open", "verification", None, "not_submitted"),
    ("open", "verification", {"result": "fail"}, "not_submitted"),
    ("closed", "rectification", None, "finding_closed"),
    ("closed", "verification", None, "finding_closed"),
    ("closed", "extension", None, "finding_closed"),
    ("void", "rectification", None, "finding_void"),
    ("void", "verification", None, "finding_void"),
    ("void", "extension", None, "finding_void"),
    ("void", "void", {"reason": "另一个理由"}, "already_void"),
]


@pytest.mark.parametrize(("state", "action", "body", "code"), REFUSALS)
async def test_forbidden_transition(
    env: Env, state: str, action: str, body: dict[str, Any] | None, code: str
) -> None:
    make = {
        "open": open_finding,
        "submitted": submitted_finding,
        "closed": closed_finding,
        "void": void_finding,
    }[state]
    fid = await make(env)
    before = await get_finding(env, fid)
    # Someone other than whoever made the last transition: the same person sending the same thing again
    # is a retry, answered as the first send was (see test_a_resend_of_the_last_transition_is_harmless).
    user = (
        "supervisor"
        if action in ("extension", "void") or (state, action) == ("closed", "verification")
        else B
    )
    problem = assert_problem(await act(env, fid, action, user, body), 409, code)
    assert problem["status_now"] == state
    after = await get_finding(env, fid)
    # Nothing changed and nothing was recorded.
    assert after == before


async def test_concurrent_rectifications_one_wins(env: Env) -> None:
    fid = await open_finding(env)
    rs = await asyncio.gather(
        act(env, fid, "rectification", A, {"note": "甲", "photo_ids": []}),
        act(env, fid, "rectification", B, {"note": "乙", "photo_ids": []}),
    )
    assert sorted(r.status_code for r in rs) == [200, 409]
    loser = next(r for r in rs if r.status_code == 409)
    assert loser.json()["code"] == "already_submitted"
    f = await get_finding(env, fid)
    assert actions(f) == ["create", "rectify"]
    assert f["status"] == "submitted"


async def test_rectification_with_unknown_photos_is_refused_whole(env: Env) -> None:
    fid = await open_finding(env)
    known = await put_photo(env, A)
    unknown = new_id()
    body = assert_problem(
        await act(env, fid, "rectification", A, {"note": "x", "photo_ids": [known, unknown]}),
        422,
        "unknown_photos",
    )
    assert body["photo_ids"] == [unknown]
    f = await get_finding(env, fid)
    assert f["status"] == "open" and actions(f) == ["create"]


async def test_another_inspectors_unattached_photo_cannot_be_used(env: Env) -> None:
    fid = await open_finding(env)
    foreign = await put_photo(env, "inspector_qingshan")
    body = assert_problem(
        await act(env, fid, "rectification", A, {"note": "x", "photo_ids": [foreign]}), 422, "unknown_photos"
    )
    assert body["photo_ids"] == [foreign]


# --------------------------------------------------------------------------- the audit trail


async def test_every_transition_is_an_event_in_order(env: Env) -> None:
    fid = await open_finding(env)
    sup, a, b = [await user_id(env, u) for u in ("supervisor", A, B)]
    p1, p2 = await put_photo(env, A), await put_photo(env, B)
    later = (sh_today() + timedelta(days=20)).isoformat()
    steps = [
        ("extension", "supervisor", {"deadline": later, "reason": "延期一"}),
        ("rectification", A, {"note": "整改一", "photo_ids": [p1]}),
        ("verification", B, {"result": "fail", "note": "复查不合格", "photo_ids": [p2]}),
        ("rectification", B, {"note": "整改二", "photo_ids": []}),
        ("verification", A, {"result": "pass", "note": "复查合格", "photo_ids": []}),
        ("void", "supervisor", {"reason": "并入其他隐患"}),
    ]
    for action, user, body in steps:
        r = await act(env, fid, action, user, body)
        assert r.status_code == 200, (action, r.text)
    f = await get_finding(env, fid, A)
    got = [
        (e["seq"], e["action"], e["actor_id"], e["from_status"], e["to_status"], e["note"], e["photo_ids"])
        for e in f["events"]
    ]
    assert got == [
        (1, "create", a, None, "open", None, []),
        (2, "extend", sup, "open", "open", "延期一", []),
        (3, "rectify", a, "open", "submitted", "整改一", [p1]),
        (4, "verify_fail", b, "submitted", "open", "复查不合格", [p2]),
        (5, "rectify", b, "open", "submitted", "整改二", []),
        (6, "verify_pass", a, "submitted", "closed", "复查合格", []),
        (7, "void", sup, "closed", "void", "并入其他隐患", []),
    ]
    times = [datetime.fromisoformat(e["at"]) for e in f["events"]]
    assert all(t.utcoffset() is not None for t in times)
    assert times == sorted(times)
    assert f["status"] == "void"


async def test_events_are_append_only_rows(env: Env) -> None:
    fid = await closed_finding(env)
    async with await env.session() as s:
        rows = (
            await s.scalars(
                select(FindingEvent)
                .where(FindingEvent.finding_id == uuid.UUID(fid))
                .order_by(FindingEvent.seq)
            )
        ).all()
        finding = await s.get(Finding, uuid.UUID(fid))
    assert [r.seq for r in rows] == [1, 2, 3]
    assert finding is not None and finding.status == "closed"
    assert rows[-1].at == finding.closed_at


# --------------------------------------------------------------------------- manual findings


async def test_manual_finding_and_its_retry(env: Env) -> None:
    fid = new_id()
    body = {
        "id": fid,
        "venue_id": venue_id(BAIYUN_SHOP),
        "title": "门口堆放杂物",
        "description": "影响疏散",
        "severity": "general",
    }
    r1 = await env.client.post(f"{API}/findings", json=body, headers=env.auth(A))
    assert r1.status_code == 201, r1.text
    f = r1.json()
    assert (f["id"], f["source"], f["status"], f["area_code"]) == (fid, "manual", "open", "v-baiyun-g1")
    assert f["deadline"] == (sh_today() + timedelta(days=7)).isoformat()
    assert actions(f) == ["create"]
    r2 = await env.client.post(f"{API}/findings", json=body, headers=env.auth(A))
    assert r2.status_code == 200, r2.text
    assert r2.json() == f
    async with await env.session() as s:
        assert await s.scalar(select(func.count()).where(Finding.id == uuid.UUID(fid))) == 1
    assert await event_count(env, fid) == 1
    # The same id for something else is a conflict, not an overwrite.
    other = {**body, "title": "另一个隐患"}
    r3 = await env.client.post(f"{API}/findings", json=other, headers=env.auth(A))
    assert_problem(r3, 409, "id_conflict")


async def test_racing_manual_finding_posts_make_one_finding(env: Env) -> None:
    fid = new_id()
    body = {"id": fid, "venue_id": venue_id(BAIYUN_SHOP), "title": "电动车室内充电"}
    rs = await asyncio.gather(
        *(env.client.post(f"{API}/findings", json=body, headers=env.auth(A)) for _ in range(2))
    )
    assert sorted(r.status_code for r in rs) == [200, 201], [r.text for r in rs]
    assert rs[0].json()["id"] == rs[1].json()["id"] == fid
    async with await env.session() as s:
        assert await s.scalar(select(func.count()).where(Finding.id == uuid.UUID(fid))) == 1
    assert await event_count(env, fid) == 1


async def test_manual_major_finding_is_on_a_short_fuse(env: Env) -> None:
    r = await env.client.post(
        f"{API}/findings",
        json={"venue_id": venue_id(BAIYUN_SHOP), "title": "疏散通道锁闭", "severity": "major"},
        headers=env.auth(A),
    )
    assert r.status_code == 201, r.text
    f = r.json()
    assert f["severity"] == "major"
    assert f["escalation_level"] == 1
    cap = env.settings.major_deadline_days_cap
    assert f["deadline"] == (sh_today() + timedelta(days=cap)).isoformat()


async def test_manual_finding_refusals(env: Env) -> None:
    post = env.client.post
    h = env.auth(A)
    yesterday = (sh_today() - timedelta(days=1)).isoformat()
    cases = [
        ({"venue_id": venue_id("青山棋牌室"), "title": "x"}, "venue_not_found"),
        ({"title": "x"}, "area_required"),
        ({"area_code": "v-baiyun", "title": "x", "deadline": yesterday}, "deadline_in_past"),
        ({"area_code": "v-baiyun", "title": "x", "photo_ids": [new_id()]}, "unknown_photos"),
        ({"area_code": "v-baiyun", "title": ""}, "validation_error"),
        ({"area_code": "v-baiyun", "title": "x", "severity": "huge"}, "validation_error"),
    ]
    for body, code in cases:
        assert_problem(await post(f"{API}/findings", json=body, headers=h), 422, code)
    r = await post(f"{API}/findings", json={"area_code": "v-qingshan", "title": "x"}, headers=h)
    assert_problem(r, 403, "area_out_of_scope")
    r = await post(f"{API}/findings", json={"area_code": "nowhere", "title": "x"}, headers=h)
    assert_problem(r, 422, "unknown_area")


async def test_an_inspector_may_shorten_the_deadline_but_not_lengthen_it(env: Env) -> None:
    h = env.auth(A)
    sooner = (sh_today() + timedelta(days=2)).isoformat()
    later = (sh_today() + timedelta(days=60)).isoformat()
    r = await env.client.post(
        f"{API}/findings", json={"area_code": "v-baiyun", "title": "x", "deadline": sooner}, headers=h
    )
    assert r.status_code == 201 and r.json()["deadline"] == sooner
    r = await env.client.post(
        f"{API}/findings", json={"area_code": "v-baiyun", "title": "x", "deadline": later}, headers=h
    )
    assert_problem(r, 422, "deadline_too_late")
    # A major hazard's deadline is capped for inspectors too.
    r = await env.client.post(
        f"{API}/findings",
        json={
            "area_code": "v-baiyun",
            "title": "x",
            "severity": "major",
            "deadline": (sh_today() + timedelta(days=7)).isoformat(),
        },
        headers=h,
    )
    assert_problem(r, 422, "deadline_too_late")
    # A supervisor decides longer deadlines.
    r = await env.client.post(
        f"{API}/findings",
        json={"area_code": "v-baiyun", "title": "x", "deadline": later},
        headers=env.auth("supervisor"),
    )
    assert r.status_code == 201 and r.json()["deadline"] == later


async def test_a_retry_with_another_body_is_a_conflict(env: Env) -> None:
    fid = new_id()
    body = {"id": fid, "area_code": "v-baiyun", "title": "楼道堆物", "severity": "general"}
    assert (await env.client.post(f"{API}/findings", json=body, headers=env.auth(A))).status_code == 201
    for change in ({"severity": "major"}, {"description": "另说"}, {"photo_ids": [new_id()]}):
        r = await env.client.post(f"{API}/findings", json={**body, **change}, headers=env.auth(A))
        assert r.status_code in (409, 422), r.text
    r = await env.client.post(f"{API}/findings", json={**body, "severity": "major"}, headers=env.auth(A))
    assert_problem(r, 409, "id_conflict")
    assert (await env.client.post(f"{API}/findings", json=body, headers=env.auth(A))).status_code == 200


async def test_past_deadline_finding_reads_overdue_until_rectified(env: Env) -> None:
    fid = await open_finding(env)
    await set_finding_fields(env, fid, deadline=sh_today() - timedelta(days=2))
    assert (await get_finding(env, fid))["overdue"] is True
    await act(env, fid, "rectification", A)
    assert (await get_finding(env, fid))["overdue"] is False


@pytest.mark.parametrize("action", ["rectification", "verification", "extension", "void"])
async def test_a_resend_of_the_last_transition_is_harmless(env: Env, action: str) -> None:
    # A phone whose reply was lost sends the same transition again: 200, the same finding, no new event.
    later = (sh_today() + timedelta(days=30)).isoformat()
    fid = await (submitted_finding(env) if action == "verification" else open_finding(env))
    user = {"rectification": A, "verification": B, "extension": "supervisor", "void": "supervisor"}[action]
    body = {
        "rectification": {"note": "已清理", "photo_ids": []},
        "verification": {"result": "pass", "note": "复查合格", "photo_ids": []},
        "extension": {"deadline": later, "reason": "督办决定延期"},
        "void": {"reason": "重复录入"},
    }[action]
    first = await act(env, fid, action, user, body)
    assert first.status_code == 200, first.text
    again = await act(env, fid, action, user, body)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert len(again.json()["events"]) == len(first.json()["events"])
    # Not a resend: another person, or other words, meets the lifecycle's refusal.
    other_user = {"rectification": B, "verification": "supervisor", "extension": "admin", "void": "admin"}[
        action
    ]
    refused = await act(env, fid, action, other_user, body)
    assert refused.status_code == (422 if action == "extension" else 409), refused.text


async def test_a_client_id_makes_a_resend_harmless_even_after_others_acted(env: Env) -> None:
    # A rectified offline, the reply was lost; meanwhile B's verification failed it, so the finding is
    # open again. A's phone resends with the same id: answered, not applied a second time.
    fid = await open_finding(env)
    rid = new_id()
    body = {"id": rid, "note": "第一次整改", "photo_ids": []}
    assert (await act(env, fid, "rectification", A, body)).status_code == 200
    assert (await act(env, fid, "verification", B, {"result": "fail", "note": "未改到位"})).status_code == 200
    again = await act(env, fid, "rectification", A, body)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "open"
    assert actions(again.json()) == ["create", "rectify", "verify_fail"]
    # A new rectification carries a new id and is applied.
    r = await act(env, fid, "rectification", A, {"id": new_id(), "note": "第二次整改", "photo_ids": []})
    assert r.status_code == 200 and r.json()["status"] == "submitted"
    # The same id with other words, for another change, or by another person, is a conflict.
    changed = {**body, "note": "完全不同"}
    assert_problem(await act(env, fid, "rectification", A, changed), 409, "id_conflict")
    assert_problem(await act(env, fid, "verification", B, {"id": rid, "result": "pass"}), 409, "id_conflict")
    other = await open_finding(env)
    assert_problem(await act(env, other, "rectification", A, body), 409, "id_conflict")
    assert actions(await get_finding(env, other)) == ["create"]


async def test_racing_sends_with_one_client_id_apply_once(env: Env) -> None:
    fid = await open_finding(env)
    body = {"id": new_id(), "note": "同时发出", "photo_ids": []}
    rs = await asyncio.gather(*(act(env, fid, "rectification", A, body) for _ in range(3)))
    assert [r.status_code for r in rs] == [200, 200, 200], [r.text for r in rs]
    assert actions(await get_finding(env, fid)) == ["create", "rectify"]
