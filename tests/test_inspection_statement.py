"""A new inspection on PostgreSQL is one statement (api/services/inspection_statement.py): it must write
exactly the rows the ordinary path writes, number findings from the same counter, keep the same scope and
photo rules, and leave every refusal to the ordinary path."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select, text, update

from api.errors import Unprocessable
from api.models import ChecklistTemplate, Finding, FindingCounter, FindingEvent, Inspection, Photo
from api.schemas.inspections import AnswerIn
from api.services import checklists, direct, inspection_statement, inspections, numbering
from api.timeutil import utcnow
from tests.conftest import Env
from tests.helpers import (
    API,
    BAIYUN_INN,
    BAIYUN_SHOP,
    GENERAL_ITEM,
    GENERAL_ITEM_15,
    MAJOR_ZERO_DAY,
    QINGSHAN_CLUB,
    assert_problem,
    fail,
    inspection_body,
    new_id,
    put_inspection,
    put_photo,
    undrawn,
)

A = "inspector_baiyun"


class Written:
    """Counts the inspections the one statement wrote (an area came back)."""

    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> Iterator[Written]:
    seen = Written()
    real = inspection_statement.insert_new

    async def spy(*args: Any, **kwargs: Any) -> str | None:
        area = await real(*args, **kwargs)
        seen.count += area is not None
        return area

    monkeypatch.setattr(inspection_statement, "insert_new", spy)
    yield seen


def _columns(row: Any, skip: set[str]) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in skip}


async def _stored(env: Env, inspection_id: str) -> tuple[Any, list[Any], list[Any]]:
    async with await env.session() as s:
        inspection = await s.get(Inspection, uuid.UUID(inspection_id))
        found = (
            await s.scalars(
                select(Finding)
                .where(Finding.inspection_id == uuid.UUID(inspection_id))
                .order_by(Finding.number)
            )
        ).all()
        events = (
            await s.scalars(
                select(FindingEvent)
                .where(FindingEvent.finding_id.in_([f.id for f in found]))
                .order_by(FindingEvent.finding_id)
            )
        ).all()
    return inspection, list(found), list(events)


async def test_the_statement_writes_what_the_ordinary_path_writes(
    env: Env, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    photos = [await put_photo(env, A), await put_photo(env, A)]
    answers = [
        {"item_code": "JX-MG-02", "result": "pass"},
        fail(GENERAL_ITEM, note="未建立巡查记录"),
        fail(MAJOR_ZERO_DAY, photos, note="安全出口锁闭"),
        fail(GENERAL_ITEM_15),
    ]
    body = inspection_body(BAIYUN_SHOP, answers)
    first = new_id()
    reply_one = await put_inspection(env, body, A, first)
    assert written.count == (1 if env.backend == "postgresql" else 0)

    monkeypatch.setattr(direct, "applies", lambda session: False)
    second = new_id()
    reply_two = await put_inspection(env, body, A, second)
    assert written.count == (1 if env.backend == "postgresql" else 0)

    skip = {"id", "created_at"}
    assert {k: v for k, v in reply_one.items() if k not in {*skip, "finding_ids"}} == {
        k: v for k, v in reply_two.items() if k not in {*skip, "finding_ids"}
    }
    one, two = await _stored(env, first), await _stored(env, second)
    assert _columns(one[0], skip) == _columns(two[0], skip)
    per_row = {"id", "inspection_id", "number", "created_at", "updated_at"}

    def by_item(stored: tuple[Any, list[Any], list[Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        events = {e.finding_id: _columns(e, {"id", "finding_id", "at"}) for e in stored[2]}
        rows = [(_columns(f, per_row), events[f.id]) for f in stored[1]]
        return sorted(rows, key=lambda row: row[0]["item_code"])

    assert by_item(one) == by_item(two)
    assert len(one[1]) == 3 and len(one[2]) == 3
    # Both numbered from the one counter: the second inspection's serials follow the first's.
    serials = [int(f.number.rsplit("-", 1)[1]) for f in (*one[1], *two[1])]
    assert serials == list(range(serials[0], serials[0] + 6))
    # In the order of their ids, as the ordinary path numbers a batch.
    assert [str(f.id) for f in one[1]] == sorted(str(f.id) for f in one[1])
    for f in one[1]:
        assert f.created_at == one[0].created_at == f.updated_at
    assert all(e.at == one[0].created_at for e in one[2])


async def test_the_photos_take_the_venues_area_and_document_one_area(env: Env, written: Written) -> None:
    photo = await put_photo(env, A)
    await put_inspection(env, inspection_body(BAIYUN_SHOP, [fail(MAJOR_ZERO_DAY, [photo])]), A)
    r = await env.client.get(f"{API}/photos/{photo}/meta", headers=env.auth("inspector_qingshan"))
    assert r.status_code == 404  # now 白云村's, out of 青山村's sight
    # The same inspector's other grid (白云客栈, v-baiyun-g2): the photo already documents v-baiyun-g1.
    iid = new_id()
    body = inspection_body(BAIYUN_INN, [fail(MAJOR_ZERO_DAY, [photo])])
    r = await env.client.put(f"{API}/inspections/{iid}", json=body, headers=env.auth(A))
    assert assert_problem(r, 422, "unknown_photos")["photo_ids"] == [photo]
    async with await env.session() as s:
        assert await s.get(Inspection, uuid.UUID(iid)) is None
    assert written.count == (1 if env.backend == "postgresql" else 0)


async def test_scope_and_draws_decide_in_the_statement(env: Env, written: Written) -> None:
    inspector = await undrawn(env, ["v-baiyun"])
    r = await env.client.put(
        f"{API}/inspections/{new_id()}",
        json=inspection_body(QINGSHAN_CLUB, [fail(GENERAL_ITEM)]),
        headers=env.auth(inspector),
    )
    assert_problem(r, 422, "venue_not_found")
    assert written.count == 0
    # An admin reaches every venue; the statement has a shape of its own for that.
    await put_inspection(env, inspection_body(QINGSHAN_CLUB, [fail(GENERAL_ITEM)]), "admin")
    assert written.count == (1 if env.backend == "postgresql" else 0)


async def test_a_retry_is_answered_by_the_ordinary_path(env: Env, written: Written) -> None:
    iid = new_id()
    body = inspection_body(BAIYUN_SHOP, [fail(GENERAL_ITEM)])
    first = await put_inspection(env, body, A, iid)
    r = await env.client.put(f"{API}/inspections/{iid}", json=body, headers=env.auth(A))
    assert r.status_code == 200 and r.json() == first
    assert written.count == (1 if env.backend == "postgresql" else 0)
    _, found, events = await _stored(env, iid)
    assert len(found) == 1 and len(events) == 1


async def test_numbers_past_a_million_keep_every_digit(env: Env) -> None:
    year = numbering.year_of(utcnow())
    await put_inspection(env, inspection_body(BAIYUN_SHOP, [fail(GENERAL_ITEM)]), A)  # the year's row exists
    async with await env.session() as s:
        before = await s.scalar(select(FindingCounter.last).where(FindingCounter.year == year))
        await s.execute(update(FindingCounter).where(FindingCounter.year == year).values(last=999_999))
        await s.commit()
    try:
        iid = new_id()
        body = inspection_body(BAIYUN_SHOP, [fail(GENERAL_ITEM), fail(GENERAL_ITEM_15)])
        await put_inspection(env, body, A, iid)
        _, found, _ = await _stored(env, iid)
        assert sorted(f.number for f in found) == [f"FX-{year}-1000000", f"FX-{year}-1000001"]
        assert numbering.format_number(year, 1_000_000) == f"FX-{year}-1000000"
    finally:
        # Back where it was: the numbers above stay unique, and other tests see the serials they expect.
        async with await env.session() as s:
            await s.execute(update(FindingCounter).where(FindingCounter.year == year).values(last=before))
            await s.commit()


def test_fitting_kinds_are_the_kinds_the_checks_let_pass() -> None:
    # The statement inserts only for a venue kind `fitting_kinds` names; the ordinary path's checks are
    # the rule. Every combination of answers over a small checklist must agree with them, kind by kind.
    items = [
        {"code": "ANY", "photo_required": False},
        {"code": "SHOP", "photo_required": False, "kinds": ["shop", "inn"]},
        {"code": "INN", "photo_required": True, "kinds": ["inn"]},
        {"code": "PHOTO", "photo_required": True},
    ]
    template = ChecklistTemplate(code="t", version=1, venue_kinds=["shop", "inn", "club"], items=items)
    by_code = {i["code"]: i for i in items}
    photo = uuid.uuid4()
    choices = [
        *(AnswerIn(item_code=c, result=r) for c in (*by_code, "NOPE") for r in ("pass", "fail", "na")),
        *(AnswerIn(item_code=c, result="fail", photo_ids=[photo]) for c in by_code),
    ]
    combos = 0
    for size in (0, 1, 2, 3):
        for answers in itertools.combinations(choices, size):
            expected = []
            for kind in [*template.venue_kinds, "elsewhere"]:
                try:
                    inspections._check_answers(template, by_code, answers, kind)
                except Unprocessable:
                    continue
                expected.append(kind)
            assert inspections.fitting_kinds(template, by_code, answers) == expected, answers
            combos += 1
    assert combos > 1000


async def test_the_statement_joins_a_transaction_the_request_already_began(
    env: Env, written: Written, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A checklist version not yet cached is read through the request's session first, which begins its
    # transaction on the connection; the statement then runs inside it and is committed with it.
    monkeypatch.setattr(checklists, "_versions", {})
    iid = new_id()
    await put_inspection(env, inspection_body(BAIYUN_SHOP, [fail(GENERAL_ITEM)]), A, iid)
    assert written.count == (1 if env.backend == "postgresql" else 0)
    _, found, events = await _stored(env, iid)
    assert len(found) == 1 and len(events) == 1


def _photo_row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "sha256": "0" * 64,
        "file_key": "1" * 64,
        "thumbnail_key": "2" * 64,
        "width": 1,
        "height": 1,
        "size_bytes": 1,
        "purpose": "inspection",
        "created_at": utcnow(),
    }
    return {**row, **changes}


_PHOTOS = Photo.__table__


async def test_a_direct_statement_refuses_what_the_session_would_refuse(env: Env) -> None:
    if env.backend != "postgresql":
        pytest.skip("direct statements are PostgreSQL's")
    async with await env.session() as s:
        # Too long for file_key (100): refused by the column, never cut to fit by a cast.
        long_key = "k" * 101
        with pytest.raises(direct.StatementFailed) as failed:
            await direct.insert_row_once(s, _PHOTOS, _photo_row(file_key=long_key))
        assert "StringDataRightTruncation" in str(failed.value)
        assert long_key not in str(failed.value)  # the values never reach an error message or a log
        await s.rollback()
        # A naive time is refused before anything is sent, as UTCDateTime refuses it through SQLAlchemy.
        with pytest.raises(ValueError, match="naive"):
            await direct.insert_row_once(s, _PHOTOS, _photo_row(created_at=datetime(2026, 12, 1, 8, 0)))
        await s.rollback()
        row = _photo_row()
        assert await direct.insert_row_once(s, _PHOTOS, row) is True
        assert await direct.insert_row_once(s, _PHOTOS, row) is False
        await s.commit()
    async with await env.session() as s:
        stored = await s.get(Photo, row["id"])
        assert stored is not None and stored.file_key == "1" * 64
        await s.delete(stored)
        await s.commit()


async def test_a_broken_connection_is_not_handed_to_the_next_request(env: Env) -> None:
    if env.backend != "postgresql":
        pytest.skip("direct statements are PostgreSQL's")
    async with await env.session() as s:
        pid = await direct.fetchval(s, "SELECT pg_backend_pid()")
        async with await env.session() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(direct.StatementFailed):
            await direct.fetchval(s, "SELECT 1")
    # The pool dropped it: the next uses of the pool get live connections.
    for _ in range(env.app.state.engine.pool.size() + 1):
        await put_photo(env, A)
