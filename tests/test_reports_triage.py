"""Anonymous reports, the office's side: list, triage, the finding it opens, duplicates, rewards, contact."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from api.services import reports as report_service
from api.timeutil import local_today
from tests.conftest import Env, venue_id
from tests.helpers import BAIYUN_SHOP, QINGSHAN_CLUB, assert_problem, make_jpeg, pages
from tests.test_public_reports import public_app, submit

API = "/api/v1"
REPORT_KEYS = {
    "id",
    "category",
    "description",
    "location_text",
    "lat",
    "lng",
    "status",
    "reply",
    "photo_ids",
    "finding_id",
    "created_at",
}


@pytest.fixture
async def pub(env: Env) -> AsyncIterator[httpx.AsyncClient]:
    async with public_app(env) as (_, c):
        yield c


async def new_report(env: Env, pub: httpx.AsyncClient, **fields: Any) -> tuple[str, str]:
    """Files a report; returns (report id, receipt)."""
    files = fields.pop("files", None)
    marker = f"report {uuid.uuid4()}"
    fields.setdefault("description", f"电动车在楼道里充电 {marker}")
    r = await submit(pub, files=files, **fields)
    assert r.status_code == 201, r.text
    receipt = r.json()["receipt"]
    report = await _find(env, fields["description"])
    return report["id"], receipt


async def _find(env: Env, description: str) -> dict[str, Any]:
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200, "status": "received"}
        if cursor:
            params["cursor"] = cursor
        r = await env.client.get(f"{API}/reports", params=params, headers=env.auth("supervisor"))
        assert r.status_code == 200, r.text
        for item in r.json()["items"]:
            if item["description"] == description:
                return dict(item)
        cursor = r.json()["next_cursor"]
        assert cursor, f"report {description!r} not listed"


async def triage(env: Env, report_id: str, user: str = "supervisor", **body: Any) -> httpx.Response:
    return await env.client.post(f"{API}/reports/{report_id}/triage", json=body, headers=env.auth(user))


async def detail(env: Env, report_id: str, user: str = "supervisor") -> dict[str, Any]:
    r = await env.client.get(f"{API}/reports/{report_id}", headers=env.auth(user))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def public_status(pub: httpx.AsyncClient, receipt: str) -> dict[str, Any]:
    r = await pub.get(f"{API}/public/reports/{receipt}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def remote_spot() -> tuple[float, float]:
    """Somewhere no other test files reports (outside the demo town)."""
    rnd = random.Random()
    return 29.0 + rnd.random(), 106.0 + rnd.random()


# --------------------------------------------------------------------------- who may do what


async def test_reports_are_for_supervisors_and_admins(env: Env, pub: httpx.AsyncClient) -> None:
    rid, _ = await new_report(env, pub)
    assert_problem(await env.client.get(f"{API}/reports"), 401)
    for path in (f"{API}/reports", f"{API}/reports/{rid}", f"{API}/reports/{rid}/contact"):
        assert_problem(await env.client.get(path, headers=env.auth("inspector_baiyun")), 403, "role_required")
    assert_problem(await triage(env, rid, "inspector_baiyun", action="reject", reply="x"), 403)
    for user in ("supervisor", "admin"):
        assert (await env.client.get(f"{API}/reports", headers=env.auth(user))).status_code == 200
    assert_problem(await env.client.get(f"{API}/reports/{uuid.uuid4()}", headers=env.auth("admin")), 404)


async def test_report_object_never_carries_the_contact(env: Env, pub: httpx.AsyncClient) -> None:
    contact = f"微信 wx{uuid.uuid4().hex[:10]}"
    rid, _ = await new_report(env, pub, contact=contact, files=[make_jpeg()])
    body = await detail(env, rid)
    assert set(body) >= REPORT_KEYS
    assert "contact" not in body and body["has_contact"] is True
    assert len(body["photo_ids"]) == 1
    listed = await env.client.get(f"{API}/reports", headers=env.auth("admin"))
    admin_detail = await env.client.get(f"{API}/reports/{rid}", headers=env.auth("admin"))
    for r in (listed, admin_detail):
        assert contact not in r.text
    # Supervisors see report photos before triage gives them an area; inspectors do not.
    photo = body["photo_ids"][0]
    assert (await env.client.get(f"{API}/photos/{photo}", headers=env.auth("supervisor"))).status_code == 200
    assert (
        await env.client.get(f"{API}/photos/{photo}", headers=env.auth("inspector_baiyun"))
    ).status_code == 404


async def test_only_an_admin_reads_the_contact_and_every_reading_is_recorded(
    env: Env, pub: httpx.AsyncClient
) -> None:
    contact = f"1390000{random.randint(1000, 9999)}"
    rid, _ = await new_report(env, pub, contact=contact)
    assert_problem(await env.client.get(f"{API}/reports/{rid}/contact", headers=env.auth("supervisor")), 403)
    for _ in range(2):
        r = await env.client.get(f"{API}/reports/{rid}/contact", headers=env.auth("admin"))
        assert r.status_code == 200
        assert r.json() == {"report_id": rid, "contact": contact}
        assert r.headers["cache-control"] == "no-store"
    events = [e for e in (await detail(env, rid))["events"] if e["action"] == "contact_read"]
    assert len(events) == 2
    assert all(e["actor_name"] == "系统管理员" for e in events)
    assert contact not in str(events)


# --------------------------------------------------------------------------- listing


async def test_list_filters_and_cursor_pagination(env: Env, pub: httpx.AsyncClient) -> None:
    ids = [(await new_report(env, pub, category="RPT-05"))[0] for _ in range(5)]
    sup = env.auth("supervisor")

    async def walk(**params: Any) -> list[str]:
        return [i["id"] async for items, _ in pages(env, "/reports", limit=2, **params) for i in items]

    today = local_today()
    listed = await walk(category="RPT-05", **{"from": today.isoformat(), "to": today.isoformat()})
    assert len(listed) == len(set(listed)) and set(ids) <= set(listed)
    # Newest first: the five appear in reverse order of filing (ties broken by id, consistently).
    positions = [listed.index(i) for i in ids]
    assert positions == sorted(positions, reverse=True) or len({*positions}) == 5
    tomorrow, yesterday = today + timedelta(days=1), today - timedelta(days=1)
    assert not set(ids) & set(await walk(category="RPT-05", **{"from": tomorrow.isoformat()}))
    assert not set(ids) & set(await walk(category="RPT-05", to=yesterday.isoformat()))

    r = await triage(env, ids[0], action="reject", reply="经核查不属实")
    assert r.status_code == 200
    r = await triage(env, ids[1], action="accept", venue_id=venue_id(BAIYUN_SHOP))
    assert r.status_code == 200
    assert ids[0] in await walk(status="rejected", category="RPT-05")
    assert ids[0] not in await walk(status="received", category="RPT-05")
    assert ids[1] in await walk(area="v-baiyun", category="RPT-05")
    assert ids[1] not in await walk(area="v-qingshan", category="RPT-05")

    r = await env.client.get(f"{API}/reports", params={"limit": 500}, headers=sup)
    assert r.status_code == 200 and len(r.json()["items"]) <= 200
    assert_problem(await env.client.get(f"{API}/reports", params={"cursor": "garbage"}, headers=sup), 422)
    assert_problem(await env.client.get(f"{API}/reports", params={"status": "lost"}, headers=sup), 422)


# --------------------------------------------------------------------------- triage


async def test_accept_opens_a_finding_from_the_report(env: Env, pub: httpx.AsyncClient) -> None:
    rid, receipt = await new_report(env, pub, files=[make_jpeg(), make_jpeg()])
    body = {
        "action": "accept",
        "venue_id": venue_id(BAIYUN_SHOP),
        "severity": "major",
        "reply": "已受理，安排核查",
    }
    r = await triage(env, rid, **body)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["status"] == "accepted" and report["reply"] == "已受理，安排核查"
    assert report["finding_id"] == str(report_service.finding_id_for(uuid.UUID(rid)))
    assert report["area_code"] == "v-baiyun-g1"
    assert [e["action"] for e in report["events"]] == ["received", "triage"]

    finding = await env.client.get(
        f"{API}/findings/{report['finding_id']}", headers=env.auth("inspector_baiyun")
    )
    assert finding.status_code == 200, finding.text
    f = finding.json()
    assert f["source"] == "report" and f["report_id"] == rid and f["severity"] == "major"
    assert f["venue_id"] == venue_id(BAIYUN_SHOP) and f["status"] == "open"
    assert f["photo_ids"] == report["photo_ids"]
    major_days = env.settings.major_deadline_days_cap
    assert (
        f["deadline"]
        == (local_today() + timedelta(days=min(report_service.DEFAULT_DEADLINE_DAYS, major_days))).isoformat()
    )
    # The grid inspector of the venue's village can now see the report's photos; another village cannot.
    photo = report["photo_ids"][0]
    assert (
        await env.client.get(f"{API}/photos/{photo}", headers=env.auth("inspector_baiyun"))
    ).status_code == 200
    assert (
        await env.client.get(f"{API}/photos/{photo}", headers=env.auth("inspector_qingshan"))
    ).status_code == 404

    assert await public_status(pub, receipt) == {
        "status": "accepted",
        "updated_at": await _updated(env, rid),
        "reply": "已受理，安排核查",
    }

    # The same triage again is a harmless retry; another one is refused with a stable code.
    again = await triage(env, rid, **body)
    assert again.status_code == 200 and again.json() == report
    assert_problem(await triage(env, rid, **{**body, "severity": "general"}), 409, "already_triaged")
    assert_problem(await triage(env, rid, action="reject", reply="不属实"), 409, "already_triaged")


async def _updated(env: Env, rid: str) -> str:
    return str((await detail(env, rid))["updated_at"])


async def test_accept_can_register_the_venue_in_the_same_call(env: Env, pub: httpx.AsyncClient) -> None:
    rid, _ = await new_report(env, pub)
    vid = str(uuid.uuid4())
    venue = {
        "id": vid,
        "name": f"无名小作坊 {vid[:6]}",
        "kind": "small_workshop",
        "area_code": "v-qingshan-g2",
        "address": "青山村六组",
    }
    r = await triage(env, rid, action="accept", venue=venue, title="私设作坊，电线乱拉")
    assert r.status_code == 200, r.text
    v = await env.client.get(f"{API}/venues/{vid}", headers=env.auth("inspector_qingshan"))
    assert v.status_code == 200 and v.json()["name"] == venue["name"]
    f = (
        await env.client.get(f"{API}/findings/{r.json()['finding_id']}", headers=env.auth("supervisor"))
    ).json()
    assert f["venue_id"] == vid and f["title"] == "私设作坊，电线乱拉" and f["area_code"] == "v-qingshan-g2"


async def test_accept_with_only_an_area_and_the_refusals(env: Env, pub: httpx.AsyncClient) -> None:
    rid, _ = await new_report(env, pub)
    assert_problem(await triage(env, rid, action="accept"), 422, "area_required")
    assert_problem(
        await triage(env, rid, action="accept", venue_id=str(uuid.uuid4())), 422, "venue_not_found"
    )
    assert_problem(await triage(env, rid, action="accept", area_code="nowhere"), 422, "unknown_area")
    assert_problem(await triage(env, rid, action="reject"), 422, "validation_error")
    assert_problem(await triage(env, rid, action="duplicate"), 422, "validation_error")
    assert_problem(await triage(env, rid, action="maybe"), 422, "validation_error")
    r = await triage(env, rid, action="accept", area_code="c-jiezhen-g1", description="老街路口堆放液化气罐")
    assert r.status_code == 200, r.text
    f = (
        await env.client.get(f"{API}/findings/{r.json()['finding_id']}", headers=env.auth("supervisor"))
    ).json()
    assert (
        f["venue_id"] is None
        and f["area_code"] == "c-jiezhen-g1"
        and f["description"] == "老街路口堆放液化气罐"
    )
    assert f["title"].startswith("群众举报：")


async def test_reject_shows_the_reason_to_the_reporter(env: Env, pub: httpx.AsyncClient) -> None:
    rid, receipt = await new_report(env, pub)
    r = await triage(env, rid, action="reject", reply="经现场核查，未发现所述问题。")
    assert r.status_code == 200 and r.json()["status"] == "rejected" and r.json()["finding_id"] is None
    status = await public_status(pub, receipt)
    assert status["status"] == "rejected" and status["reply"] == "经现场核查，未发现所述问题。"
    # The office can change its public reply later; the change is on the record.
    r = await env.client.post(
        f"{API}/reports/{rid}/reply", json={"reply": "复查后仍未发现问题。"}, headers=env.auth("supervisor")
    )
    assert r.status_code == 200 and r.json()["reply"] == "复查后仍未发现问题。"
    assert [e["action"] for e in r.json()["events"]][-1] == "reply"
    assert (await public_status(pub, receipt))["reply"] == "复查后仍未发现问题。"


async def test_duplicate_of_a_report_or_a_finding(env: Env, pub: httpx.AsyncClient) -> None:
    original, _ = await new_report(env, pub)
    accepted = await triage(env, original, action="accept", venue_id=venue_id(QINGSHAN_CLUB))
    finding_id = accepted.json()["finding_id"]

    dup, receipt = await new_report(env, pub)
    assert_problem(await triage(env, dup, action="duplicate", duplicate_of=dup), 422, "duplicate_of_self")
    assert_problem(
        await triage(env, dup, action="duplicate", duplicate_of=str(uuid.uuid4())),
        422,
        "duplicate_target_not_found",
    )
    r = await triage(env, dup, action="duplicate", duplicate_of=original, reply="已有人举报，正在处理")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "duplicate" and r.json()["duplicate_of_report_id"] == original
    assert r.json()["area_code"] == "v-qingshan-g1"
    assert (await public_status(pub, receipt))["status"] == "duplicate"
    again = await triage(env, dup, action="duplicate", duplicate_of=original, reply="已有人举报，正在处理")
    assert again.status_code == 200 and again.json() == r.json()

    dup2, _ = await new_report(env, pub)
    r = await triage(env, dup2, action="duplicate", duplicate_of=finding_id)
    assert r.status_code == 200 and r.json()["duplicate_of_finding_id"] == finding_id


async def test_report_is_resolved_when_its_finding_closes(env: Env, pub: httpx.AsyncClient) -> None:
    rid, receipt = await new_report(env, pub)
    finding_id = (await triage(env, rid, action="accept", venue_id=venue_id(BAIYUN_SHOP))).json()[
        "finding_id"
    ]
    r = await env.client.post(
        f"{API}/findings/{finding_id}/rectification",
        json={"note": "已清理楼道"},
        headers=env.auth("inspector_baiyun"),
    )
    assert r.status_code == 200, r.text
    assert (await public_status(pub, receipt))["status"] == "accepted"
    r = await env.client.post(
        f"{API}/findings/{finding_id}/verification",
        json={"result": "pass"},
        headers=env.auth("inspector_baiyun2"),
    )
    assert r.status_code == 200, r.text
    status = await public_status(pub, receipt)
    assert status["status"] == "resolved"
    report = await detail(env, rid)
    assert report["status"] == "resolved" and report["events"][-1]["action"] == "resolved"
    # A retried accept of a resolved report is still the same triage.
    again = await triage(env, rid, action="accept", venue_id=venue_id(BAIYUN_SHOP))
    assert again.status_code == 200 and again.json()["status"] == "resolved"


async def test_void_of_the_finding_is_recorded_on_the_report(env: Env, pub: httpx.AsyncClient) -> None:
    rid, receipt = await new_report(env, pub)
    finding_id = (await triage(env, rid, action="accept", venue_id=venue_id(BAIYUN_SHOP))).json()[
        "finding_id"
    ]
    r = await env.client.post(
        f"{API}/findings/{finding_id}/void", json={"reason": "重复录入"}, headers=env.auth("supervisor")
    )
    assert r.status_code == 200, r.text
    report = await detail(env, rid)
    assert report["status"] == "accepted" and report["events"][-1]["action"] == "finding_void"
    assert (await public_status(pub, receipt))["status"] == "accepted"
    # A resent void changes nothing, on the finding or on the report.
    for _ in range(2):
        r = await env.client.post(
            f"{API}/findings/{finding_id}/void", json={"reason": "重复录入"}, headers=env.auth("supervisor")
        )
        assert r.status_code == 200, r.text
    events = [e["action"] for e in (await detail(env, rid))["events"]]
    assert events.count("finding_void") == 1


# --------------------------------------------------------------------------- possible duplicates


async def test_nearby_reports_are_suggested_as_duplicates(env: Env, pub: httpx.AsyncClient) -> None:
    lat, lng = remote_spot()
    a, _ = await new_report(env, pub, lat=lat, lng=lng)
    near, _ = await new_report(env, pub, lat=lat + 0.001, lng=lng + 0.001)  # ~140 m
    edge, _ = await new_report(env, pub, lat=lat + 0.0035, lng=lng)  # ~390 m
    far, _ = await new_report(env, pub, lat=lat + 0.02, lng=lng)  # ~2.2 km
    nowhere, _ = await new_report(env, pub)
    suggested = (await detail(env, a))["possible_duplicates"]
    assert near in suggested
    assert edge not in suggested and far not in suggested and nowhere not in suggested and a not in suggested
    assert report_service.distance_m(lat, lng, lat + 0.001, lng + 0.001) < 300


async def test_reports_about_the_same_venue_are_suggested(env: Env, pub: httpx.AsyncClient) -> None:
    vid = str(uuid.uuid4())
    lat, lng = remote_spot()
    venue = {
        "id": vid,
        "name": f"远山加油点 {vid[:6]}",
        "kind": "small_hazmat",
        "area_code": "v-qingshan-g1",
        "lat": lat,
        "lng": lng,
    }
    first, _ = await new_report(env, pub)
    assert (await triage(env, first, action="accept", venue=venue)).status_code == 200
    # A later report with no position, accepted at the same venue.
    second, _ = await new_report(env, pub)
    assert (await triage(env, second, action="accept", venue_id=vid)).status_code == 200
    assert first in (await detail(env, second))["possible_duplicates"]
    # A new report next to the venue (before triage) is matched through the venue's position.
    third, _ = await new_report(env, pub, lat=lat + 0.0005, lng=lng)
    suggested = (await detail(env, third))["possible_duplicates"]
    assert first in suggested and second in suggested


# --------------------------------------------------------------------------- rewards


async def test_reward_marked_by_a_supervisor_and_paid_by_an_admin(env: Env, pub: httpx.AsyncClient) -> None:
    rid, _ = await new_report(env, pub, contact="13811112222")
    sup, admin = env.auth("supervisor"), env.auth("admin")
    reward = {"eligible": True, "amount": "200", "note": "重大隐患举报属实"}
    assert_problem(
        await env.client.post(f"{API}/reports/{rid}/reward", json=reward, headers=sup), 409, "not_rewardable"
    )
    assert (
        await triage(env, rid, action="accept", venue_id=venue_id(BAIYUN_SHOP), severity="major")
    ).is_success
    assert_problem(
        await env.client.post(
            f"{API}/reports/{rid}/reward", json=reward, headers=env.auth("inspector_baiyun")
        ),
        403,
    )
    assert_problem(
        await env.client.post(f"{API}/reports/{rid}/reward", json={"eligible": True}, headers=sup), 422
    )
    assert_problem(
        await env.client.post(f"{API}/reports/{rid}/reward/payment", json={"amount": "200"}, headers=admin),
        409,
        "not_reward_eligible",
    )

    r = await env.client.post(f"{API}/reports/{rid}/reward", json=reward, headers=sup)
    assert r.status_code == 200, r.text
    assert r.json()["reward"] == {"eligible": True, "amount": "200.00", "paid_at": None}

    pay = {"amount": "200.00", "note": "银行转账"}
    assert_problem(await env.client.post(f"{API}/reports/{rid}/reward/payment", json=pay, headers=sup), 403)
    assert_problem(
        await env.client.post(f"{API}/reports/{rid}/reward/payment", json={"amount": "150"}, headers=admin),
        422,
        "amount_mismatch",
    )
    r = await env.client.post(f"{API}/reports/{rid}/reward/payment", json=pay, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["reward"]["paid_at"] is not None
    assert_problem(
        await env.client.post(f"{API}/reports/{rid}/reward/payment", json=pay, headers=admin),
        409,
        "reward_already_paid",
    )
    assert_problem(
        await env.client.post(f"{API}/reports/{rid}/reward", json=reward, headers=sup),
        409,
        "reward_already_paid",
    )
    events = {e["action"]: e for e in r.json()["events"]}
    assert events["reward"]["note"] == "重大隐患举报属实"
    assert events["reward"]["data"]["amount"] == {"before": None, "after": "200.00"}
    assert (
        events["reward_paid"]["actor_name"] == "系统管理员"
        and events["reward_paid"]["data"]["amount"] == "200.00"
    )
    assert "13811112222" not in r.text


def pdf_words(data: bytes) -> str:
    """The text of a PDF without the spaces and breaks of its layout."""
    import subprocess

    text = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout
    return "".join(text.decode().split())


async def test_the_notice_of_a_reported_hazard_says_it_came_from_a_report(
    env: Env, pub: httpx.AsyncClient
) -> None:
    """Not "本办检查人员…进行安全检查" with the office's clerk as 检查人员; and never the reporter's own
    words for the place, which the reported owner would read ("我家楼下" says who reported)."""
    rid, _ = await new_report(env, pub, location_text="我家楼下，场镇老街18号后门")
    r = await triage(env, rid, action="accept", area_code="v-baiyun-g1", title="后门通道堵塞")
    assert r.status_code == 200, r.text
    fid = r.json()["finding_id"]
    r = await env.client.get(f"{API}/findings/{fid}/notice.pdf", headers=env.auth("supervisor"))
    assert r.status_code == 200, r.text
    words = pdf_words(r.content)
    assert "根据群众举报" in words and "经办人员" in words and "我家楼下" not in words
    assert "本办检查人员" not in words and "检查人员（签名）" not in words


async def test_the_office_releases_the_place_in_its_own_words(env: Env, pub: httpx.AsyncClient) -> None:
    """The reporter's place text ("我家楼下") points at the reporter as much as their description: the office
    may give the inspectors the place in its own words, once (a resend is answered unchanged)."""
    rid, _ = await new_report(env, pub, location_text="我家楼下，场镇老街18号后门")
    body = {"action": "accept", "area_code": "c-jiezhen-g1", "location_text": "场镇老街18号后门"}
    r = await triage(env, rid, **body)
    assert r.status_code == 200, r.text
    f = (
        await env.client.get(f"{API}/findings/{r.json()['finding_id']}", headers=env.auth("supervisor"))
    ).json()
    assert f["location_text"] == "场镇老街18号后门"
    assert (await triage(env, rid, **body)).status_code == 200
    assert_problem(await triage(env, rid, **{**body, "location_text": "别处"}), 409, "already_triaged")
    rid2, _ = await new_report(env, pub)
    r = await triage(env, rid2, action="reject", reply="不属实", location_text="x")
    assert_problem(r, 422, "validation_error")
