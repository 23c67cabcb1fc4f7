"""双随机 draws: idempotent, seeded and reproducible in another process, never the target's own inspector,
assignments on the drawn inspectors' lists, and a public page with venue names and outcomes only."""

from __future__ import annotations

import asyncio
import math
import os
import random
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select, text, update

from api.models import Area, Draw, LoginThrottle, User, UserArea
from api.services import demo
from api.services.areas import upsert_area
from api.services.auth import _throttle_key
from api.services.draws import run_draw
from tests.conftest import Env
from tests.helpers import (
    API,
    GENERAL_ITEM,
    assert_problem,
    fail,
    inspection_body,
    make_user,
    new_id,
    put_inspection,
    put_venue,
    undrawn,
)


def draw_body(**fields: Any) -> dict[str, Any]:
    return {"id": new_id(), "area_code": "town", "count": 3, **fields}


async def post_draw(env: Env, body: dict[str, Any], user: str = "supervisor") -> dict[str, Any]:
    r = await env.client.post(f"{API}/draws", json=body, headers=env.auth(user))
    assert r.status_code == 201, r.text
    reply: dict[str, Any] = r.json()
    return reply


async def area_paths(env: Env) -> dict[str, str]:
    async with await env.session() as s:
        return {code: path for code, path in (await s.execute(select(Area.code, Area.path))).all()}


async def inspector_paths(env: Env, ids: list[str]) -> dict[str, list[str]]:
    async with await env.session() as s:
        rows = await s.execute(
            select(UserArea.user_id, Area.path)
            .join(Area, Area.code == UserArea.area_code)
            .where(UserArea.user_id.in_([uuid.UUID(i) for i in ids]))
        )
        out: dict[str, list[str]] = {}
        for uid, path in rows.all():
            out.setdefault(str(uid), []).append(path)
        return out


async def sign_in_as(env: Env, user_id: str) -> dict[str, str]:
    """A token for a drawn inspector (a demo user or one another test made), keeping their areas."""
    async with await env.session() as s:
        user = await s.get(User, uuid.UUID(user_id))
        assert user is not None
        areas = list((await s.scalars(select(UserArea.area_code).where(UserArea.user_id == user.id))).all())
        username = user.username
    if username in env.tokens:
        return env.auth(username)
    # The draw may pick a user another test locked out on purpose (test_auth's throttling tests).
    async with await env.session() as s:
        await s.execute(delete(LoginThrottle).where(LoginThrottle.key == _throttle_key(username)))
        await s.commit()
    return await make_user(env, username, "inspector", areas)


async def test_a_draw_picks_targets_and_outside_inspectors_once(env: Env) -> None:
    body = draw_body(inspectors_per_target=2)
    draw = await post_draw(env, body)
    assert draw["count"] == 3 and len(draw["targets"]) == 3
    assert draw["population_size"] >= 10 and len(draw["population"]) == draw["population_size"]
    assert draw["population"] == sorted(draw["population"])  # the stable order the draw ran over
    assert len(draw["seed"]) == 32 and draw["method"] == "sgdraw-1"
    paths = await area_paths(env)
    drawn = [i["id"] for t in draw["targets"] for i in t["inspectors"]]
    their_areas = await inspector_paths(env, drawn)
    for target in draw["targets"]:
        assert len(target["inspectors"]) == 2 and len({i["id"] for i in target["inspectors"]}) == 2
        venue_path = paths[target["area_code"]]
        for inspector in target["inspectors"]:
            for p in their_areas[inspector["id"]]:  # never the target area's own inspector
                assert not (venue_path.startswith(p) or p.startswith(venue_path)), (target, inspector)
        assert target["outcome"] is None
    assert len({t["venue_id"] for t in draw["targets"]}) == 3

    # The same request again: the same draw, not a second one.
    r = await env.client.post(f"{API}/draws", json=body, headers=env.auth("supervisor"))
    assert r.status_code == 200 and r.json() == draw
    r = await env.client.post(f"{API}/draws", json={**body, "count": 2}, headers=env.auth("supervisor"))
    assert_problem(r, 409, "draw_conflict")
    r = await env.client.get(f"{API}/draws/{draw['id']}", headers=env.auth("supervisor"))
    assert r.status_code == 200 and r.json() == draw
    r = await env.client.get(f"{API}/draws", headers=env.auth("supervisor"))
    assert draw["id"] in [d["id"] for d in r.json()["items"]]


async def test_draws_refuse_what_is_not_a_draw(env: Env) -> None:
    sup = env.auth("supervisor")
    cases = [
        (draw_body(count=None, ratio=0.04), "ratio_too_small"),
        (draw_body(ratio=0.5), "count_or_ratio"),
        (draw_body(count=None), "count_or_ratio"),
        (draw_body(count=100_00), "count_exceeds_population"),
        (draw_body(inspectors_per_target=1), "too_few_inspectors"),
        (draw_body(kinds=["castle"]), "unknown_venue_kind"),
        (draw_body(area_code="nowhere"), "unknown_area"),
        (draw_body(area_code="c-jiezhen", kinds=["small_education"]), "empty_population"),
        (draw_body(due_on="2099-01-01"), "deadline_too_far"),  # a draw cannot be withdrawn
    ]
    for body, code in cases:
        r = await env.client.post(f"{API}/draws", json=body, headers=sup)
        assert_problem(r, 422, code)
        r = await env.client.get(f"{API}/public/draws/{body['id']}")
        assert_problem(r, 404, "draw_not_found")  # nothing half-made
    # A grid's supervisor can draw only the grid's own inspectors, who may never inspect their own grid.
    grid_sup = await make_user(env, "draw_sup_grid", "supervisor", ["v-baiyun-g1"])
    body = draw_body(area_code="v-baiyun-g1", count=1)
    r = await env.client.post(f"{API}/draws", json=body, headers=grid_sup)
    problem = assert_problem(r, 422, "not_enough_inspectors")
    assert uuid.UUID(problem["venue_id"])
    assert_problem(await env.client.get(f"{API}/public/draws/{body['id']}"), 404, "draw_not_found")
    ok = await post_draw(env, draw_body(count=None, ratio=0.05))
    assert ok["count"] == math.ceil(0.05 * ok["population_size"])  # 5 % of the town's venues, rounded up


async def test_draws_are_for_supervisors_in_scope(env: Env) -> None:
    r = await env.client.post(f"{API}/draws", json=draw_body(), headers=env.auth("inspector_baiyun"))
    assert_problem(r, 403, "role_required")
    draw = await post_draw(env, draw_body(count=1))
    r = await env.client.get(f"{API}/draws/{draw['id']}", headers=env.auth("inspector_baiyun"))
    assert_problem(r, 403, "role_required")
    village_sup = await make_user(env, "draw_sup_qingshan", "supervisor", ["v-qingshan"])
    r = await env.client.get(f"{API}/draws/{draw['id']}", headers=village_sup)
    assert_problem(r, 404, "draw_not_found")
    r = await env.client.post(f"{API}/draws", json=draw_body(), headers=village_sup)
    assert_problem(r, 403, "area_out_of_scope")
    r = await env.client.get(f"{API}/draws", headers=village_sup)
    assert draw["id"] not in [d["id"] for d in r.json()["items"]]
    r = await env.client.get(f"{API}/draws/{new_id()}", headers=env.auth("supervisor"))
    assert_problem(r, 404, "draw_not_found")


def test_the_draw_is_a_function_of_its_seed_and_snapshots() -> None:
    population = [[f"{i:08d}-0000-0000-0000-000000000000", f"/t/v{i % 3}/"] for i in range(40)]
    inspectors = [[f"u{i}", [f"/t/v{i % 3}/"]] for i in range(9)]
    random.seed(1)
    first = run_draw("ab" * 16, population, inspectors, 8, 2)
    random.seed(2)
    random.random()
    assert run_draw("ab" * 16, population, inspectors, 8, 2) == first  # the global state plays no part
    assert run_draw("cd" * 16, population, inspectors, 8, 2) != first
    for venue_id, chosen in first:
        village = dict(population)[venue_id]  # type: ignore[arg-type]
        assert all(dict(inspectors)[u] != [village] for u in chosen)  # type: ignore[arg-type]


def verify_in_another_process(env: Env, draw_id: str) -> subprocess.CompletedProcess[str]:
    child = {k: v for k, v in os.environ.items() if not k.startswith("SAFEGRID_")}
    child["SAFEGRID_DATA_DIR"] = str(env.settings.data_dir)
    child["SAFEGRID_SECRET_KEY"] = env.settings.secret_key
    if env.settings.database_url:
        child["SAFEGRID_DATABASE_URL"] = env.settings.database_url
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "draw", "verify", draw_id],
        env=child,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_safegrid_draw_verify_reruns_it_in_another_process(env: Env) -> None:
    draw = await post_draw(env, draw_body(count=4))
    done = verify_in_another_process(env, draw["id"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"OK: draw {draw['id']} reproduces: 4 target(s), 8 inspector slot(s)")
    # Another seed would have drawn otherwise: verify notices a record that no longer matches.
    async with await env.session() as s:
        await s.execute(update(Draw).where(Draw.id == uuid.UUID(draw["id"])).values(seed="0" * 31 + "1"))
        await s.commit()
    done = verify_in_another_process(env, draw["id"])
    assert done.returncode == 1 and done.stdout.startswith("DIFFERS"), (done.stdout, done.stderr)
    assert verify_in_another_process(env, new_id()).returncode == 2


async def test_drawn_inspectors_see_and_inspect_their_targets_and_the_public_sees_outcomes(env: Env) -> None:
    draw = await post_draw(env, draw_body(area_code="c-jiezhen", kinds=["small_entertainment"], count=1))
    target = draw["targets"][0]
    first, second = [await sign_in_as(env, i["id"]) for i in target["inspectors"]]
    r = await env.client.get(f"{API}/assignments", headers=first)
    mine = [a for a in r.json()["items"] if a["draw_id"] == draw["id"]]
    assert mine and mine[0]["venue_id"] == target["venue_id"] and not mine[0]["done"]
    assert mine[0]["due_on"] == draw["due_on"]
    r = await env.client.get(f"{API}/venues/{target['venue_id']}", headers=first)
    assert r.status_code == 200  # in reach although outside their areas

    r = await env.client.get(f"{API}/public/draws/{draw['id']}")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert r.json()["results"] == [
        {"venue_name": target["venue_name"], "inspected_on": None, "outcome": None}
    ]

    inspection_id = new_id()
    reply = await env.client.put(
        f"{API}/inspections/{inspection_id}",
        json=inspection_body(target["venue_id"], [fail(GENERAL_ITEM, note="未公示")]),
        headers=first,
    )
    assert reply.status_code == 201, reply.text

    r = await env.client.get(f"{API}/assignments", headers=second)
    mine = [a for a in r.json()["items"] if a["draw_id"] == draw["id"]]
    assert mine[0]["done"] and mine[0]["inspection_id"] == inspection_id
    r = await env.client.get(f"{API}/draws/{draw['id']}", headers=env.auth("supervisor"))
    assert r.json()["targets"][0]["outcome"] == "发现隐患 1 项"
    public = await env.client.get(f"{API}/public/draws/{draw['id']}")
    body = public.json()
    assert body["results"][0]["venue_name"] == target["venue_name"]
    assert body["results"][0]["outcome"] == "发现隐患 1 项" and body["results"][0]["inspected_on"]
    assert set(body) == {
        "id", "drawn_on", "area_name", "kinds", "kind_names", "risk_levels", "population_size", "count",
        "inspectors_per_target", "method", "seed", "due_on", "voided_on", "void_reason", "results",
    }  # fmt: skip
    text = public.text
    for private in (
        "吴亮",
        "13800000010",
        "owner",
        "inspector_id",
        "display_name",
        target["inspectors"][0]["id"],
    ):
        assert private not in text
    # An inspection by someone else (the grid's own inspector) is not the draw's result.
    other = await env.client.get(f"{API}/assignments", headers=env.auth("inspector_jiezhen"))
    assert all(a["draw_id"] != draw["id"] for a in other.json()["items"])


async def test_an_undrawn_inspectors_visit_is_not_a_result(env: Env) -> None:
    draw = await post_draw(env, draw_body(area_code="c-jiezhen", kinds=["small_hazmat"], count=1))
    venue = draw["targets"][0]["venue_id"]
    await put_inspection(env, inspection_body(venue, [fail(GENERAL_ITEM)]), user="inspector_jiezhen")
    public = (await env.client.get(f"{API}/public/draws/{draw['id']}")).json()
    assert public["results"][0]["outcome"] is None


async def drawn_and_inspected(
    env: Env,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str], httpx.Response]:
    """A draw of 场镇KTV whose first drawn inspector has inspected it and found one hazard: (draw, target,
    that inspector's header, the inspection's reply)."""
    draw = await post_draw(env, draw_body(area_code="c-jiezhen", kinds=["small_entertainment"], count=1))
    target = draw["targets"][0]
    drawn = await sign_in_as(env, target["inspectors"][0]["id"])
    reply = await env.client.put(
        f"{API}/inspections/{new_id()}",
        json=inspection_body(target["venue_id"], [fail(GENERAL_ITEM, note="未公示")]),
        headers=drawn,
    )
    assert reply.status_code == 201, reply.text
    return draw, target, drawn, reply


async def test_a_drawn_inspector_reads_and_prints_the_findings_of_their_target(env: Env) -> None:
    _draw, target, drawn, reply = await drawn_and_inspected(env)
    [finding_id] = reply.json()["finding_ids"]
    inspection_id = reply.json()["id"]

    # The record of the visit is theirs to read and print, though the venue is outside their areas.
    r = await env.client.get(f"{API}/inspections/{inspection_id}", headers=drawn)
    assert r.status_code == 200, r.text
    r = await env.client.get(f"{API}/inspections", params={"venue_id": target["venue_id"]}, headers=drawn)
    assert inspection_id in [i["id"] for i in r.json()["items"]]
    r = await env.client.get(f"{API}/inspections/{inspection_id}/record.pdf", headers=drawn)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")

    # The finding lies outside the inspector's own areas, yet they opened it: they see it and print it.
    r = await env.client.get(f"{API}/findings", params={"venue_id": target["venue_id"]}, headers=drawn)
    assert finding_id in [f["id"] for f in r.json()["items"]]
    r = await env.client.get(f"{API}/findings/{finding_id}", headers=drawn)
    assert r.status_code == 200 and r.json()["venue_id"] == target["venue_id"]
    r = await env.client.get(f"{API}/findings/{finding_id}/notice.pdf", headers=drawn)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")

    # They may register the rectification of what their inspection found (立即整改 on the spot), not of
    # the venue's other findings, and the verification stays with the venue's own area.
    other = str(demo.work_id("submitted"))  # the demo's finding at 场镇KTV, not from an inspection
    rectify = {"note": "已整改", "photo_ids": []}
    r = await env.client.post(f"{API}/findings/{other}/rectification", json=rectify, headers=drawn)
    assert_problem(r, 404, "finding_not_found")
    r = await env.client.post(f"{API}/findings/{finding_id}/rectification", json=rectify, headers=drawn)
    assert r.status_code == 200 and r.json()["status"] == "submitted", r.text
    r = await env.client.post(
        f"{API}/findings/{finding_id}/verification", json={"result": "pass"}, headers=drawn
    )
    assert_problem(r, 404, "finding_not_found")
    r = await env.client.post(
        f"{API}/findings/{finding_id}/verification",
        json={"result": "pass"},
        headers=env.auth("inspector_jiezhen"),
    )
    assert r.status_code == 200 and r.json()["status"] == "closed", r.text
    # Another inspector from outside the village, not drawn, still sees nothing.
    outsider = await make_user(env, "outsider_" + uuid.uuid4().hex[:6], "inspector", ["v-baiyun"])
    r = await env.client.get(f"{API}/findings/{finding_id}", headers=outsider)
    assert_problem(r, 404, "finding_not_found")
    r = await env.client.get(f"{API}/findings", params={"venue_id": target["venue_id"]}, headers=outsider)
    assert r.json()["items"] == []
    r = await env.client.get(f"{API}/inspections/{inspection_id}", headers=outsider)
    assert_problem(r, 404, "inspection_not_found")


INSPECTORS = ("inspector_baiyun", "inspector_qingshan", "inspector_jiezhen")


async def own_target(env: Env) -> tuple[str, str]:
    """A village and a venue of this test's own: no other test's draw can send anyone there."""
    code = f"v-d{new_id()[:8]}"
    async with await env.session() as s:
        await upsert_area(s, code, "抽查测试村", "town", "village")
        await upsert_area(s, f"{code}-g1", "抽查测试村一网格", code, "grid")
        await s.commit()
    return code, await put_venue(env, "抽查测试小店", area_code=f"{code}-g1")


async def test_a_draw_made_by_mistake_is_voided_on_record_and_sends_no_one(env: Env) -> None:
    village, venue = await own_target(env)
    draw = await post_draw(env, draw_body(area_code=village, count=1))
    target = draw["targets"][0]
    assert target["venue_id"] == venue
    drawn = await sign_in_as(env, target["inspectors"][0]["id"])
    r = await env.client.get(f"{API}/venues/{venue}", headers=drawn)
    assert r.status_code == 200  # the draw put it in reach
    url = f"{API}/draws/{draw['id']}/void"
    reason = {"reason": "抽查范围选错，应为全镇"}

    for bad in ({}, {"reason": "   "}, {"reason": "x" * 501}, {"reason": "因为", "extra": 1}):
        assert_problem(await env.client.post(url, json=bad, headers=env.auth("supervisor")), 422)
    r = await env.client.post(url, json=reason, headers=drawn)
    assert_problem(r, 403, "role_required")
    r = await env.client.post(f"{API}/draws/{new_id()}/void", json=reason, headers=env.auth("supervisor"))
    assert_problem(r, 404, "draw_not_found")

    r = await env.client.post(url, json=reason, headers=env.auth("supervisor"))
    assert r.status_code == 200, r.text
    voided = r.json()
    assert voided["void_reason"] == reason["reason"] and voided["voided_at"]
    assert voided["targets"] == draw["targets"]  # who was drawn stays on record
    again = await env.client.post(url, json=reason, headers=env.auth("supervisor"))
    assert again.status_code == 200 and again.json()["voided_at"] == voided["voided_at"]
    r = await env.client.post(url, json={"reason": "另一个理由"}, headers=env.auth("supervisor"))
    assert_problem(r, 409, "draw_voided")

    listed = await env.client.get(f"{API}/draws", params={"limit": 200}, headers=env.auth("supervisor"))
    [summary] = [d for d in listed.json()["items"] if d["id"] == draw["id"]]
    assert summary["voided_at"] == voided["voided_at"]
    public = (await env.client.get(f"{API}/public/draws/{draw['id']}")).json()
    assert public["void_reason"] == reason["reason"] and public["voided_on"]

    # The drawn inspector is sent nowhere: no assignment, and the venue outside their areas is out of reach.
    r = await env.client.get(f"{API}/assignments", headers=drawn)
    assert all(a["draw_id"] != draw["id"] for a in r.json()["items"])
    r = await env.client.get(f"{API}/venues/{venue}", headers=drawn)
    assert_problem(r, 404, "venue_not_found")
    r = await env.client.put(
        f"{API}/inspections/{new_id()}",
        json=inspection_body(venue, [fail(GENERAL_ITEM, note="未公示")]),
        headers=drawn,
    )
    # Done offline before the phone heard of the voiding: refused, and told why in words of its own.
    assert_problem(r, 422, "assignment_voided")
    drawn_ids = {i["id"] for i in target["inspectors"]}
    ids = {n: (await env.client.get(f"{API}/me", headers=env.auth(n))).json()["id"] for n in INSPECTORS}
    other = env.auth(next(name for name, uid in ids.items() if uid not in drawn_ids))
    r = await env.client.put(
        f"{API}/inspections/{new_id()}",
        json=inspection_body(venue, [fail(GENERAL_ITEM, note="未公示")]),
        headers=other,
    )
    assert_problem(r, 422, "venue_not_found")  # never sent there: the venue is simply out of reach


async def test_a_voided_draw_takes_no_result_from_the_draw_made_again(env: Env) -> None:
    # A supervisor of two villages of the test's own, with two inspectors in the second: both draws of the
    # first village's venue send the same two, so the same visit could be read as either draw's result.
    village, venue = await own_target(env)
    other = f"v-d{new_id()[:8]}"
    async with await env.session() as s:
        await upsert_area(s, other, "抽查测试邻村", "town", "village")
        await s.commit()
    boss = "draw_boss_" + uuid.uuid4().hex[:8]
    header = await make_user(env, boss, "supervisor", [village, other])
    env.tokens[boss] = header["Authorization"].removeprefix("Bearer ")
    pair = {await undrawn(env, [other]) for _ in range(2)}

    first = await post_draw(env, draw_body(area_code=village, count=1), user=boss)
    r = await env.client.post(f"{API}/draws/{first['id']}/void", json={"reason": "期限选错"}, headers=header)
    assert r.status_code == 200, r.text
    again = await post_draw(env, draw_body(area_code=village, count=1), user=boss)
    async with await env.session() as s:
        ids = {str(i) for i in (await s.scalars(select(User.id).where(User.username.in_(pair)))).all()}
    for d in (first, again):
        assert {i["id"] for i in d["targets"][0]["inspectors"]} == ids
    await put_inspection(env, inspection_body(venue, [fail(GENERAL_ITEM)]), user=sorted(pair)[0])

    voided = (await env.client.get(f"{API}/draws/{first['id']}", headers=header)).json()
    assert voided["targets"][0]["inspection_id"] is None and voided["targets"][0]["outcome"] is None
    public = (await env.client.get(f"{API}/public/draws/{first['id']}")).json()
    assert public["results"][0]["inspected_on"] is None
    live = (await env.client.get(f"{API}/draws/{again['id']}", headers=header)).json()
    assert live["targets"][0]["inspection_id"] is not None


async def test_a_draw_under_way_cannot_be_voided(env: Env) -> None:
    draw, _target, _drawn, _reply = await drawn_and_inspected(env)
    r = await env.client.post(
        f"{API}/draws/{draw['id']}/void", json={"reason": "选错了"}, headers=env.auth("supervisor")
    )
    assert_problem(r, 409, "draw_started")
    r = await env.client.get(f"{API}/draws/{draw['id']}", headers=env.auth("supervisor"))
    assert r.json()["voided_at"] is None


async def test_an_inspection_racing_the_voiding_of_its_draw_waits_and_is_refused(env: Env) -> None:
    """The void locks the draw; an inspection that reaches its venue only through that draw takes a share
    lock on it, so it waits for the void and then is refused (the other order is `draw_started`, above)."""
    if env.backend != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    village, venue = await own_target(env)
    draw = await post_draw(env, draw_body(area_code=village, count=1))
    drawn = await sign_in_as(env, draw["targets"][0]["inspectors"][0]["id"])
    supervisor = (await env.client.get(f"{API}/me", headers=env.auth("supervisor"))).json()["id"]
    async with await env.session() as voiding:
        # The void's own steps, held open: the draw locked and marked, not yet committed.
        await voiding.execute(select(Draw.id).where(Draw.id == uuid.UUID(draw["id"])).with_for_update())
        await voiding.execute(
            update(Draw)
            .where(Draw.id == uuid.UUID(draw["id"]))
            .values(voided_at=func.now(), voided_by=uuid.UUID(supervisor), void_reason="抽查范围选错")
        )
        inspecting = asyncio.create_task(
            env.client.put(
                f"{API}/inspections/{new_id()}",
                json=inspection_body(venue, [fail(GENERAL_ITEM, note="未公示")]),
                headers=drawn,
            )
        )
        waiting = (
            select(func.count())
            .select_from(text("pg_stat_activity"))
            .where(text("wait_event_type = 'Lock' AND datname = current_database()"))
        )
        async with await env.session() as watcher:
            for _ in range(400):  # until the inspection waits on the lock, or was answered without waiting
                if inspecting.done() or await watcher.scalar(waiting):
                    break
                await asyncio.sleep(0.025)
        assert not inspecting.done(), (await inspecting).text
        await voiding.commit()
    assert_problem(await inspecting, 422, "assignment_voided")
