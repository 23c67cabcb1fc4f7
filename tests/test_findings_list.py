"""GET /findings: every filter, scope, and keyset pagination (no duplicates or gaps, stable under inserts)."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from api.models import Finding
from api.services.pagination import encode_cursor
from api.timeutil import utcnow
from tests.conftest import Env, venue_id
from tests.helpers import (
    API,
    BAIYUN_INN,
    BAIYUN_SHOP,
    GENERAL_ITEM,
    JIEZHEN_KTV,
    QINGSHAN_CLUB,
    act,
    assert_problem,
    fail,
    inspection_body,
    new_id,
    pages,
    put_inspection,
    put_venue,
    set_finding_fields,
    sh_today,
    undrawn,
)


def token() -> str:
    return "Tk" + uuid.uuid4().hex[:10]


async def manual(
    env: Env, title: str, venue: str, user: str = "supervisor", severity: str = "general"
) -> str:
    vid = venue if len(venue) == 36 else venue_id(venue)
    r = await env.client.post(
        f"{API}/findings",
        json={"title": title, "venue_id": vid, "severity": severity},
        headers=env.auth(user),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def ids(env: Env, user: str = "supervisor", **params: Any) -> list[str]:
    """Every id the list gives for these filters, walking all pages."""
    return [i["id"] async for items, _ in pages(env, "/findings", user, **params) for i in items]


@dataclass
class Town:
    tok: str
    general_open: str  # 白云便利店 (v-baiyun-g1), manual, later overdue
    major_submitted: str  # 山泉民宿 (v-baiyun-g2)
    qingshan_closed: str  # 青山棋牌室 (v-qingshan-g1)
    jiezhen_void: str  # 场镇KTV (c-jiezhen-g1)
    from_inspection: str  # 白云便利店, token only in the description
    by_venue_name: str  # a venue named after the token, nothing else matches
    venue_named: str


@pytest.fixture
async def town(env: Env) -> Town:
    tok = token()
    general_open = await manual(env, f"{tok} 灭火器过期", BAIYUN_SHOP, "inspector_baiyun")
    major_submitted = await manual(env, f"{tok} 安全出口锁闭", BAIYUN_INN, severity="major")
    assert (await act(env, major_submitted, "rectification", "inspector_baiyun")).status_code == 200
    qingshan_closed = await manual(env, f"{tok} 电线私拉乱接", QINGSHAN_CLUB)
    assert (await act(env, qingshan_closed, "rectification", "inspector_qingshan")).status_code == 200
    assert (await act(env, qingshan_closed, "verification", "supervisor")).status_code == 200
    jiezhen_void = await manual(env, f"{tok} 烟花违规存放", JIEZHEN_KTV)
    assert (await act(env, jiezhen_void, "void", "supervisor")).status_code == 200
    reply = await put_inspection(
        env,
        inspection_body(BAIYUN_SHOP, [fail(GENERAL_ITEM, note=f"备注 {tok.lower()}")]),
        "inspector_baiyun",
    )
    from_inspection = str(reply["finding_ids"][0])
    venue = await put_venue(env, f"{tok}酒家", "v-baiyun-g1", "small_restaurant")
    by_venue_name = await manual(env, "厨房油烟管道未清洗", venue)
    await set_finding_fields(env, general_open, deadline=sh_today() - timedelta(days=3))
    await set_finding_fields(env, major_submitted, deadline=sh_today() - timedelta(days=3))
    return Town(
        tok,
        general_open,
        major_submitted,
        qingshan_closed,
        jiezhen_void,
        from_inspection,
        by_venue_name,
        venue,
    )


def newest_first(*fids: str, order: list[str]) -> list[str]:
    return [f for f in order if f in fids]


async def test_q_matches_title_description_and_venue_name(env: Env, town: Town) -> None:
    everything = await ids(env, q=town.tok)
    assert set(everything) == {
        town.general_open,
        town.major_submitted,
        town.qingshan_closed,
        town.jiezhen_void,
        town.from_inspection,
        town.by_venue_name,
    }
    # Newest first.
    assert everything[0] == town.by_venue_name and everything[-1] == town.general_open
    assert await ids(env, q=town.tok.lower()) == everything  # case-insensitive
    assert await ids(env, q=f"  {town.tok}  ") == everything
    assert await ids(env, q=f"{town.tok} 电线") == [town.qingshan_closed]
    assert await ids(env, q=f"{town.tok}酒家") == [town.by_venue_name]
    assert await ids(env, q=f"{town.tok}-nothing") == []


async def test_q_finds_a_finding_by_its_readable_number(env: Env, town: Town) -> None:
    """The office is phoned about "FX-2026-000006": the number on the notice and the phone."""
    r = await env.client.get(f"{API}/findings/{town.general_open}", headers=env.auth("supervisor"))
    number = r.json()["number"]
    assert number and number.startswith("FX-")
    assert town.general_open in await ids(env, q=number)
    assert await ids(env, q=number.lower()) == await ids(env, q=number)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "open"}, ["general_open", "from_inspection", "by_venue_name"]),
        ({"status": "submitted"}, ["major_submitted"]),
        ({"status": "closed"}, ["qingshan_closed"]),
        ({"status": "void"}, ["jiezhen_void"]),
        ({"severity": "major"}, ["major_submitted"]),
        (
            {"severity": "general"},
            ["general_open", "qingshan_closed", "jiezhen_void", "from_inspection", "by_venue_name"],
        ),
        ({"area": "v-baiyun"}, ["general_open", "major_submitted", "from_inspection", "by_venue_name"]),
        ({"area": "v-baiyun-g1"}, ["general_open", "from_inspection", "by_venue_name"]),
        ({"area": "v-baiyun-g2"}, ["major_submitted"]),
        ({"area": "v-qingshan"}, ["qingshan_closed"]),
        ({"area": "c-jiezhen"}, ["jiezhen_void"]),
        (
            {"area": "town"},
            [
                "general_open",
                "major_submitted",
                "qingshan_closed",
                "jiezhen_void",
                "from_inspection",
                "by_venue_name",
            ],
        ),
        ({"source": "inspection"}, ["from_inspection"]),
        (
            {"source": "manual"},
            ["general_open", "major_submitted", "qingshan_closed", "jiezhen_void", "by_venue_name"],
        ),
        ({"source": "report"}, []),
        ({"overdue": "true"}, ["general_open"]),
        (
            {"overdue": "false"},
            ["major_submitted", "qingshan_closed", "jiezhen_void", "from_inspection", "by_venue_name"],
        ),
        ({"status": "open", "area": "v-baiyun-g1", "overdue": "false"}, ["from_inspection", "by_venue_name"]),
        ({"status": "open", "severity": "major"}, []),
    ],
)
async def test_filters(env: Env, town: Town, params: dict[str, str], expected: list[str]) -> None:
    got = await ids(env, q=town.tok, **params)
    want = {getattr(town, name) for name in expected}
    assert set(got) == want, params
    assert len(got) == len(want)


async def test_filter_by_venue(env: Env, town: Town) -> None:
    got = await ids(env, q=town.tok, venue_id=venue_id(BAIYUN_SHOP))
    assert got == [town.from_inspection, town.general_open]
    assert await ids(env, venue_id=town.venue_named) == [town.by_venue_name]
    assert await ids(env, venue_id=new_id()) == []


async def test_overdue_flag_in_items(env: Env, town: Town) -> None:
    r = await env.client.get(f"{API}/findings", params={"q": town.tok}, headers=env.auth("supervisor"))
    flags = {i["id"]: i["overdue"] for i in r.json()["items"]}
    # Past deadline: overdue while open; a submitted one waits for verification, not for its owner.
    assert flags[town.general_open] is True
    assert flags[town.major_submitted] is False
    assert flags[town.from_inspection] is False


async def test_scope_limits_every_filter(env: Env, town: Town) -> None:
    baiyun = await undrawn(env, ["v-baiyun"])
    assert set(await ids(env, baiyun, q=town.tok)) == {
        town.general_open,
        town.major_submitted,
        town.from_inspection,
        town.by_venue_name,
    }
    assert await ids(env, await undrawn(env, ["v-qingshan"]), q=town.tok) == [town.qingshan_closed]
    assert await ids(env, await undrawn(env, ["c-jiezhen"]), q=town.tok) == [town.jiezhen_void]
    # Naming another area does not widen the scope.
    assert await ids(env, baiyun, q=town.tok, area="v-qingshan") == []
    assert await ids(env, baiyun, q=town.tok, area="town") == await ids(env, baiyun, q=town.tok)
    assert len(await ids(env, "admin", q=town.tok)) == 6


async def test_q_treats_like_wildcards_literally(env: Env) -> None:
    tok = token()
    pct = await manual(env, f"{tok} 100% 堵塞", BAIYUN_SHOP)
    plain = await manual(env, f"{tok} 1000 堵塞", BAIYUN_SHOP)
    under = await manual(env, f"{tok} a_b", BAIYUN_SHOP)
    other = await manual(env, f"{tok} axb", BAIYUN_SHOP)
    assert await ids(env, q=f"{tok} 100%") == [pct]
    assert await ids(env, q=f"{tok} a_b") == [under]
    assert set(await ids(env, q=tok)) == {pct, plain, under, other}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "pending"}, "status"),
        ({"severity": "critical"}, "severity"),
        ({"source": "phone"}, "source"),
        ({"overdue": "perhaps"}, "overdue"),
        ({"venue_id": "not-a-uuid"}, "venue_id"),
        ({"limit": "ten"}, "limit"),
    ],
)
async def test_bad_filter_values(env: Env, params: dict[str, str], field: str) -> None:
    r = await env.client.get(f"{API}/findings", params=params, headers=env.auth("supervisor"))
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["query", field]


# --------------------------------------------------------------------------- pagination


async def walk(env: Env, limit: int, between: Any = None, **params: Any) -> tuple[list[str], int]:
    out: list[str] = []
    count = 0
    async for items, more in pages(env, "/findings", limit=limit, **params):
        count += 1
        out += [i["id"] for i in items]
        if more:
            assert len(items) == min(limit, 200)
            if between:
                await between()
    return out, count


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
async def test_walking_all_pages(env: Env, limit: int) -> None:
    tok = token()
    made = [await manual(env, f"{tok} 第{i}条", BAIYUN_SHOP) for i in range(7)]
    got, pages = await walk(env, limit, q=tok)
    assert got == list(reversed(made))
    assert pages == -(-7 // limit)


async def test_findings_created_in_the_same_instant_page_by_id(env: Env) -> None:
    # One inspection opens all its findings at one created_at: the id breaks the tie.
    vid = await put_venue(env, f"同刻 {token()}")
    items = ["JX-MG-01", "JX-MG-02", "JX-MG-03", "JX-MG-04", "JX-LC-01"]
    reply = await put_inspection(env, inspection_body(vid, [fail(i) for i in items]), "inspector_baiyun")
    everything, _ = await walk(env, 50, venue_id=vid)
    assert sorted(everything) == sorted(reply["finding_ids"])
    for limit in (1, 2, 4):
        got, _ = await walk(env, limit, venue_id=vid)
        assert got == everything


async def test_pages_are_stable_when_findings_are_added_between_fetches(env: Env) -> None:
    tok = token()
    made = [await manual(env, f"{tok} 原有{i}", BAIYUN_SHOP) for i in range(6)]
    added: list[str] = []

    async def add() -> None:
        added.append(await manual(env, f"{tok} 新增{len(added)}", BAIYUN_SHOP))

    got, pages = await walk(env, 2, between=add, q=tok)
    assert got == list(reversed(made))
    assert pages == 3 and len(added) == 2
    again, _ = await walk(env, 2, q=tok)
    assert again == list(reversed(made + added))


async def test_limit_over_200_is_clamped(env: Env) -> None:
    tok = token()
    now = utcnow()
    async with await env.session() as s:
        for i in range(205):
            at = now - timedelta(seconds=i)
            s.add(
                Finding(
                    id=uuid.uuid4(),
                    venue_id=uuid.UUID(venue_id(BAIYUN_SHOP)),
                    area_code="v-baiyun-g1",
                    source="manual",
                    title=f"{tok} 批量{i}",
                    severity="general",
                    status="open",
                    deadline=sh_today() + timedelta(days=7),
                    escalation_level=0,
                    photo_ids=[],
                    created_at=at,
                    updated_at=at,
                )
            )
        await s.commit()
    h = env.auth("supervisor")
    for limit in (201, 500, 10**9):
        r = await env.client.get(f"{API}/findings", params={"q": tok, "limit": limit}, headers=h)
        assert r.status_code == 200, r.text
        assert len(r.json()["items"]) == 200
        assert r.json()["next_cursor"]
    r = await env.client.get(f"{API}/findings", params={"q": tok}, headers=h)
    assert len(r.json()["items"]) == 50  # the default
    got, pages = await walk(env, 500, q=tok)
    assert (len(got), len(set(got)), pages) == (205, 205, 2)


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "%%%",
        "中文",
        _b64(["only-one"]),
        _b64({"a": 1}),
        _b64([1, 2]),
        encode_cursor("not-a-time", uuid.uuid4()),
        encode_cursor(datetime.now(UTC).isoformat(), "not-a-uuid"),
        encode_cursor("2026-01-01T00:00:00", uuid.uuid4()),  # naive: never one of ours
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
    ],
)
async def test_bad_cursor(env: Env, cursor: str) -> None:
    r = await env.client.get(f"{API}/findings", params={"cursor": cursor}, headers=env.auth("supervisor"))
    assert_problem(r, 422, "invalid_cursor")


# --------------------------------------------------------------------------- overdue and the time zone


async def test_overdue_is_decided_by_the_date_in_shanghai(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    tok = token()
    fid = await manual(env, f"{tok} 时区", BAIYUN_SHOP)
    deadline = date(2026, 3, 1)
    await set_finding_fields(env, fid, deadline=deadline)
    h = env.auth("supervisor")

    async def overdue_now(at: datetime) -> tuple[bool, list[str], list[str]]:
        monkeypatch.setattr("api.timeutil.utcnow", lambda: at)
        item = (await env.client.get(f"{API}/findings/{fid}", headers=h)).json()
        yes = await ids(env, q=tok, overdue="true")
        no = await ids(env, q=tok, overdue="false")
        return item["overdue"], yes, no

    # 23:59 on the deadline day in Shanghai (15:59 UTC): due at the end of the day, not overdue yet.
    assert await overdue_now(datetime(2026, 3, 1, 15, 59, tzinfo=UTC)) == (False, [], [fid])
    # 00:01 the next day in Shanghai, still 1 March in UTC: overdue.
    assert await overdue_now(datetime(2026, 3, 1, 16, 1, tzinfo=UTC)) == (True, [fid], [])
    # The morning of the deadline day in Shanghai is the evening before in UTC: not overdue.
    assert await overdue_now(datetime(2026, 2, 28, 23, 0, tzinfo=UTC)) == (False, [], [fid])


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/findings", "overdue"),
        ("/findings", "verification_overdue"),
        ("/findings/export", "overdue"),
        ("/venues", "due"),
    ],
)
@pytest.mark.parametrize("word", ["yes", "1", "on", "True", "no", "0", ""])
async def test_query_booleans_are_true_or_false(env: Env, path: str, param: str, word: str) -> None:
    """A filter word other than true/false is a 422, not a guess that silently changes the list."""
    r = await env.client.get(f"{API}{path}", params={param: word}, headers=env.auth("supervisor"))
    body = assert_problem(r, 422, "validation_error")
    assert param in body["detail"] and "true or false" in body["detail"]
    for ok in ("true", "false"):
        r = await env.client.get(f"{API}{path}", params={param: ok}, headers=env.auth("supervisor"))
        assert r.status_code == 200, r.text
