"""Anonymous reports (举报), the reporter's side: submission, receipts, limits, headers and the page."""

from __future__ import annotations

import asyncio
import re
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from api.app import create_app
from api.models import Photo, Report
from api.services import reference
from api.services import reports as report_service
from api.services.ratelimit import KeyedLimiter, LoginGuard, PublicLimits, TokenBucket
from api.services.sealing import unseal
from tests.conftest import Env
from tests.helpers import assert_problem, make_jpeg

API = "/api/v1"
RECEIPT_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){3}$")
HIGH_LIMITS = {
    "report_rate_per_client_per_hour": 1_000_000,
    "report_rate_global_per_minute": 1_000_000,
    "receipt_lookup_rate_per_client_per_minute": 1_000_000,
}
_addresses = iter(range(1, 60_000))


def next_address() -> tuple[str, int]:
    n = next(_addresses)
    return (f"10.{n // 250 % 250}.{n % 250}.{n // 62_500 + 1}", 40_000 + n % 20_000)


@asynccontextmanager
async def public_app(
    env: Env, client: tuple[str, int] | None = None, **overrides: Any
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """Another app on the env's database (so limits can be set per test), with a client from `client`."""
    settings = env.settings.model_copy(update={**HIGH_LIMITS, **overrides})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=client or next_address())
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield app, c


@pytest.fixture
async def pub(env: Env) -> AsyncIterator[httpx.AsyncClient]:
    async with public_app(env) as (_, c):
        yield c


async def submit(
    c: httpx.AsyncClient,
    files: list[bytes] | None = None,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> httpx.Response:
    data = {"category": "RPT-10", "description": "楼道里堆满杂物，安全出口被堵。", **fields}
    data = {k: str(v) for k, v in data.items() if v is not None}
    parts = [("files", (f"p{i}.jpg", b, "image/jpeg")) for i, b in enumerate(files or [])]
    return await c.post(f"{API}/public/reports", data=data, files=parts or None, headers=headers)


async def count(env: Env, model: Any) -> int:
    async with env.app.state.sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def report_by_receipt(env: Env, receipt: str) -> Report:
    digest = report_service.receipt_hash(env.settings, report_service.normalize_receipt(receipt) or "")
    async with env.app.state.sessionmaker() as s:
        report = await s.scalar(select(Report).where(Report.receipt_hash == digest))
    assert report is not None
    return report


# --------------------------------------------------------------------------- categories and submission


async def test_categories_are_public(env: Env) -> None:
    r = await env.client.get(f"{API}/public/report-categories")
    assert r.status_code == 200
    assert r.json() == reference.report_categories()
    codes = [c["code"] for c in r.json()]
    # The everyday hazards in plain words first, the legal categories after them.
    assert codes[:7] == ["fire_hazard", "ebike", "gas", "blocked_exit", "hot_work", "unsafe_house", "other"]
    assert "RPT-01" in codes[7:] and "RPT-10" not in codes
    # Nobody is asked to judge whether a hazard is 重大事故隐患.
    assert not any("重大事故隐患" in c["name"] and "认定" not in c["name"] for c in r.json())


async def test_a_category_no_longer_offered_is_still_accepted(env: Env, pub: httpx.AsyncClient) -> None:
    # Drafts made before the list changed, and reports filed under it, keep their code and its name.
    assert "RPT-10" in reference.report_category_names()
    r = await submit(pub, category="RPT-12")
    assert r.status_code == 201, r.text


async def test_submit_then_lookup_shows_status_only(env: Env, pub: httpx.AsyncClient) -> None:
    r = await submit(pub, location_text="场镇老街18号", lat="31.4121", lng="109.6251", contact="13900000000")
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"receipt", "status"} and body["status"] == "received"
    assert RECEIPT_RE.match(body["receipt"]), body["receipt"]

    r = await pub.get(f"{API}/public/reports/{body['receipt']}")
    assert r.status_code == 200
    status = r.json()
    assert set(status) == {"status", "updated_at", "reply"}
    assert status["status"] == "received" and status["reply"] is None
    assert re.search(r"[+-]\d\d:\d\d$", status["updated_at"])

    report = await report_by_receipt(env, body["receipt"])
    assert report.location_text == "场镇老街18号" and report.lat == 31.4121
    # The contact is sealed at rest: the row does not hold it, only the server can open it.
    assert report.contact is not None and "13900000000" not in report.contact
    assert unseal(env.settings, "contact", report.contact) == "13900000000"


async def test_receipt_input_is_normalized(pub: httpx.AsyncClient) -> None:
    receipt = (await submit(pub)).json()["receipt"]
    plain = receipt.replace("-", "")
    variants = [
        receipt.lower(),
        plain,
        " ".join(receipt.split("-")),
        f"  {receipt}  ",
        plain.replace("0", "O").replace("1", "I"),
        plain.replace("1", "l").lower(),
    ]
    for variant in variants:
        r = await pub.get(f"{API}/public/reports/{variant}")
        assert r.status_code == 200, (variant, r.text)


async def test_unknown_and_malformed_receipts_answer_alike(pub: httpx.AsyncClient) -> None:
    bodies = []
    for receipt in ["00000-00000-00000-00000", "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ", "short", "U" * 20, "x" * 300]:
        r = await pub.get(f"{API}/public/reports/{receipt}")
        body = assert_problem(r, 404, "receipt_not_found")
        bodies.append(body)
    assert all(b == bodies[0] for b in bodies)


def test_receipts_have_100_bits_in_an_unambiguous_alphabet(env: Env) -> None:
    assert len(report_service.ALPHABET) == 32 and not set("ILOU") & set(report_service.ALPHABET)
    assert report_service.RECEIPT_CHARS * 5 >= 100
    receipts = {report_service.new_receipt(env.settings, None) for _ in range(2000)}
    assert len(receipts) == 2000
    assert all(len(r) == 20 and set(r) <= set(report_service.ALPHABET) for r in receipts)
    # Derived from a draft: the same for the same draft, different across drafts and secrets.
    draft = uuid.uuid4()
    derived = report_service.new_receipt(env.settings, draft)
    assert derived == report_service.new_receipt(env.settings, draft)
    assert derived != report_service.new_receipt(env.settings, uuid.uuid4())
    other = env.settings.model_copy(update={"secret_key": "another-secret-key-of-enough-length-000"})
    assert derived != report_service.new_receipt(other, draft)


async def test_description_limit(pub: httpx.AsyncClient) -> None:
    assert (await submit(pub, description="险" * 4000)).status_code == 201
    assert_problem(await submit(pub, description="险" * 4001), 422, "description_too_long")
    assert_problem(await submit(pub, description="   "), 422, "description_required")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"category": "RPT-99"}, "unknown_category"),
        ({"lat": "31.4"}, "invalid_position"),
        ({"lat": "91", "lng": "109"}, "invalid_position"),
        ({"lat": "abc", "lng": "109"}, "invalid_position"),
        ({"lat": "nan", "lng": "109"}, "invalid_position"),
        ({"location_text": "路" * 501}, "location_too_long"),
        ({"contact": "1" * 201}, "contact_too_long"),
        ({"draft_id": "not-a-uuid"}, "invalid_draft_id"),
    ],
)
async def test_fields_are_checked(pub: httpx.AsyncClient, fields: dict[str, str], code: str) -> None:
    assert_problem(await submit(pub, **fields), 422, code)


async def test_missing_fields_are_422(pub: httpx.AsyncClient) -> None:
    r = await pub.post(f"{API}/public/reports", data={"description": "x"})
    assert_problem(r, 422, "validation_error")


async def test_empty_optional_fields_are_none(env: Env, pub: httpx.AsyncClient) -> None:
    r = await submit(pub, location_text="", lat="", lng="", contact=" ", draft_id="")
    assert r.status_code == 201, r.text
    report = await report_by_receipt(env, r.json()["receipt"])
    assert report.location_text is None and report.lat is None and report.contact is None
    assert report.draft_hash is None


async def test_up_to_five_photos(env: Env, pub: httpx.AsyncClient) -> None:
    r = await submit(pub, files=[make_jpeg() for _ in range(5)])
    assert r.status_code == 201, r.text
    report = await report_by_receipt(env, r.json()["receipt"])
    assert len(report.photo_ids) == 5
    before = await count(env, Report), await count(env, Photo)
    assert_problem(await submit(pub, files=[make_jpeg() for _ in range(6)]), 422, "too_many_photos")
    assert (await count(env, Report), await count(env, Photo)) == before


@pytest.mark.parametrize(
    ("bad", "status"),
    [(b"%PDF-1.4 not an image at all", 415), (make_jpeg()[:300], 422)],
)
async def test_a_bad_photo_refuses_the_whole_report(
    env: Env, pub: httpx.AsyncClient, bad: bytes, status: int
) -> None:
    before = await count(env, Report), await count(env, Photo)
    r = await submit(pub, files=[make_jpeg(), make_jpeg(), bad], description=f"bad photo {uuid.uuid4()}")
    assert_problem(r, status)
    assert (await count(env, Report), await count(env, Photo)) == before


async def test_photo_and_body_size_limits(env: Env) -> None:
    big = make_jpeg(400, 300, quality=100)
    async with public_app(env, max_upload_bytes=len(big) - 1) as (_, c):
        before = await count(env, Report), await count(env, Photo)
        assert_problem(await submit(c, files=[make_jpeg(8, 8), big]), 413)
        # Past the whole body cap the middleware refuses before the form is parsed.
        r = await submit(c, files=[big] * 5 + [big])
        assert_problem(r, 413, "payload_too_large")
        assert (await count(env, Report), await count(env, Photo)) == before


# --------------------------------------------------------------------------- drafts: one report per draft


async def test_same_draft_twice_makes_one_report_with_the_same_receipt(
    env: Env, pub: httpx.AsyncClient
) -> None:
    draft = str(uuid.uuid4())
    first = await submit(pub, draft_id=draft, files=[make_jpeg()])
    assert first.status_code == 201
    before = await count(env, Report), await count(env, Photo)
    again = await submit(pub, draft_id=draft, files=[make_jpeg()])
    assert again.status_code == 200
    assert again.json() == first.json()
    assert (await count(env, Report), await count(env, Photo)) == before
    # The receipt is the one derived from the draft: nothing extra is stored to re-show it.
    expected = report_service.format_receipt(report_service.new_receipt(env.settings, uuid.UUID(draft)))
    assert first.json()["receipt"] == expected
    report = await report_by_receipt(env, expected)
    assert report.draft_hash == report_service.draft_hash(env.settings, uuid.UUID(draft))
    assert draft not in (report.draft_hash or "")

    assert_problem(await submit(pub, draft_id=draft, description="另一件事"), 409, "draft_conflict")


async def test_the_same_draft_at_once_makes_one_report(env: Env) -> None:
    draft = str(uuid.uuid4())
    async with public_app(env) as (_, a), public_app(env) as (_, b):
        before = await count(env, Report)
        r1, r2 = await asyncio.gather(submit(a, draft_id=draft), submit(b, draft_id=draft))
    assert sorted([r1.status_code, r2.status_code]) == [200, 201], (r1.text, r2.text)
    assert r1.json()["receipt"] == r2.json()["receipt"]
    assert await count(env, Report) == before + 1


async def test_submission_times_are_kept_to_the_minute(env: Env, pub: httpx.AsyncClient) -> None:
    receipt = (await submit(pub, files=[make_jpeg()])).json()["receipt"]
    report = await report_by_receipt(env, receipt)
    assert report.created_at.second == 0 and report.created_at.microsecond == 0
    async with env.app.state.sessionmaker() as s:
        photo = await s.get(Photo, uuid.UUID(report.photo_ids[0]))
    assert photo is not None and photo.created_at.second == 0 and photo.created_at.microsecond == 0


# --------------------------------------------------------------------------- guessing receipts


async def test_lookup_time_does_not_tell_whether_a_receipt_exists(pub: httpx.AsyncClient) -> None:
    receipt = (await submit(pub)).json()["receipt"]
    unknown = "ABCDE-FGHJK-MNPQR-STVWX"

    async def timed(value: str) -> float:
        start = time.perf_counter()
        await pub.get(f"{API}/public/reports/{value}")
        return time.perf_counter() - start

    known_t, unknown_t = [], []
    for _ in range(12):
        known_t.append(await timed(receipt))
        unknown_t.append(await timed(unknown))
    floor = report_service.LOOKUP_FLOOR_SECONDS
    assert min(known_t) >= floor and min(unknown_t) >= floor
    assert abs(statistics.median(known_t) - statistics.median(unknown_t)) < 0.02


async def test_lookups_are_rate_limited(env: Env) -> None:
    async with public_app(env, receipt_lookup_rate_per_client_per_minute=5) as (app, c):
        for _ in range(5):
            assert (await c.get(f"{API}/public/reports/ABCDE-FGHJK-MNPQR-STVWX")).status_code == 404
        r = await c.get(f"{API}/public/reports/ABCDE-FGHJK-MNPQR-STVWX")
        assert_problem(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) >= 1
        # Another address is not affected.
        transport = httpx.ASGITransport(app=app, client=next_address())
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
            assert (await other.get(f"{API}/public/reports/ABCDE-FGHJK-MNPQR-STVWX")).status_code == 404


# --------------------------------------------------------------------------- abuse limits


async def test_reports_are_rate_limited_per_client(env: Env) -> None:
    async with public_app(env, report_rate_per_client_per_hour=3) as (app, c):
        for _ in range(3):
            assert (await submit(c)).status_code == 201
        r = await submit(c, headers={"X-Forwarded-For": "192.0.2.200"})  # a forwarding header changes nothing
        body = assert_problem(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) > 60 and body["retry_after"] == int(r.headers["retry-after"])
        transport = httpx.ASGITransport(app=app, client=next_address())
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
            assert (await submit(other)).status_code == 201


async def test_reports_have_a_global_limit(env: Env) -> None:
    async with public_app(env, report_rate_global_per_minute=2) as (app, _):
        results = []
        for _ in range(3):
            transport = httpx.ASGITransport(app=app, client=next_address())
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                results.append(await submit(c))
        assert [r.status_code for r in results] == [201, 201, 429]
        assert_problem(results[2], 429, "rate_limited")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_refills_over_its_period() -> None:
    clock = FakeClock()
    bucket = TokenBucket(3, 3600, clock)
    assert [bucket.take() for _ in range(3)] == [0, 0, 0]
    wait = bucket.take()
    assert 1199 < wait <= 1200  # one token per 20 minutes
    clock.now += 1200
    assert bucket.take() == 0
    assert bucket.take() > 0
    bucket.give_back()
    assert bucket.take() == 0


def test_keyed_limiter_keeps_no_address() -> None:
    clock = FakeClock()
    limiter = KeyedLimiter(2, 60, clock)
    for _ in range(2):
        assert limiter.take("198.51.100.7") == 0
    assert limiter.take("198.51.100.7") > 0
    assert limiter.take("198.51.100.8") == 0
    keys = list(limiter._buckets)
    assert all(isinstance(k, bytes) and b"198.51" not in k for k in keys)
    # Keyed with a per-process secret: another limiter gives the same address another key.
    assert KeyedLimiter(2, 60, clock).key("198.51.100.7") != limiter.key("198.51.100.7")
    assert "198.51.100.7" not in repr(limiter.__dict__)


def test_keyed_limiter_forgets_idle_clients_and_is_bounded() -> None:
    clock = FakeClock()
    limiter = KeyedLimiter(1, 60, clock, max_keys=3)
    for i in range(3):
        assert limiter.take(f"a{i}") == 0
    clock.now += 61  # all buckets full again: idle
    assert limiter.take("b") == 0
    assert len(limiter) == 1
    for i in range(5):
        limiter.take(f"c{i}")
    assert len(limiter) <= 4  # three clients and the shared overflow bucket


def test_public_limits_refund_the_client_when_the_global_limit_refuses(env: Env) -> None:
    clock = FakeClock()
    settings = env.settings.model_copy(
        update={"report_rate_per_client_per_hour": 2, "report_rate_global_per_minute": 1}
    )
    limits = PublicLimits.from_settings(settings, clock)
    limits.check_report("a")
    with pytest.raises(Exception) as exc:
        limits.check_report("a")
    assert getattr(exc.value, "status", None) == 429
    clock.now += 60
    limits.check_report("a")  # the refused attempt did not use up a's second report


# --------------------------------------------------------------------------- headers and the page


def assert_public_headers(r: httpx.Response) -> None:
    assert r.headers["cache-control"] == "no-store", (r.url, r.headers)
    assert r.headers["referrer-policy"] == "no-referrer"
    csp = r.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "http" not in csp
    assert "default-src 'self'" in csp or "default-src 'none'" in csp
    assert "set-cookie" not in r.headers
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_public_api_headers(pub: httpx.AsyncClient) -> None:
    responses = [
        await pub.get(f"{API}/public/report-categories"),
        await submit(pub),
        await submit(pub, category="nope"),
        await pub.get(f"{API}/public/reports/ABCDE-FGHJK-MNPQR-STVWX"),
    ]
    responses.append(await pub.get(f"{API}/public/reports/{responses[1].json()['receipt']}"))
    for r in responses:
        assert_public_headers(r)
        assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


PAGES = ["/report", "/report/status", "/report/app.js", "/report/report.css"]


async def test_public_page_headers(pub: httpx.AsyncClient) -> None:
    for path in PAGES:
        r = await pub.get(path)
        assert r.status_code == 200, path
        assert_public_headers(r)
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert (await pub.get("/report")).headers["content-type"].startswith("text/html")


async def test_the_report_page_has_its_own_service_worker_for_its_own_scope(pub: httpx.AsyncClient) -> None:
    r = await pub.get("/report/sw.js")
    assert r.status_code == 200
    assert_public_headers(r)
    assert r.headers["content-type"].startswith("text/javascript")
    # Allowed to control /report (above its folder), and nothing wider.
    assert r.headers["service-worker-allowed"] == "/report"
    # The page may register a worker of its own origin only.
    page = await pub.get("/report")
    assert "worker-src 'self'" in page.headers["content-security-policy"]
    assert "service-worker-allowed" not in page.headers
    # The worker keeps no report, receipt or status lookup.
    assert "/public/reports" not in r.text


class _PageScan(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "script":
            self.scripts.append(a)
            self._in_script = True
        if tag == "style":
            self.inline.append("<style>")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.inline.append(f"{tag}[{name}]")
            if name in ("src", "href", "action", "poster", "srcset") and value:
                self.urls.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("inline script")


async def test_page_is_chinese_self_contained_and_without_inline_code(pub: httpx.AsyncClient) -> None:
    html = (await pub.get("/report")).text
    scan = _PageScan()
    scan.feed(html)
    assert scan.lang == "zh-CN"
    assert scan.inline == []
    assert scan.scripts and all((s.get("src") or "").startswith("/report/") for s in scan.scripts)
    # Same-origin paths only (the empty data: icon spares a request for /favicon.ico).
    assert all((u.startswith("/") and not u.startswith("//")) or u == "data:," for u in scan.urls), scan.urls
    for asset in ("/report/app.js", "/report/report.css"):
        text = (await pub.get(asset)).text
        assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}/", text, re.I), asset
        assert "@import" not in text and "document.cookie" not in text and "localStorage" not in text
    # What the page promises the reporter, in plain words.
    for phrase in ("回执码", "只显示一次", "IP 地址", "管理员", "Cookie", "使用我的位置", "定位"):
        assert phrase in html, phrase


@pytest.mark.parametrize("processes", ["1", "2", "3"])
def test_limits_on_everyone_are_shared_out_between_processes(
    env: Env, monkeypatch: pytest.MonkeyPatch, processes: str
) -> None:
    # `safegrid serve` runs one process per core on PostgreSQL: the report desk's rate and the sign-in
    # failures from everywhere must hold for the server as a whole, so each process holds its share.
    monkeypatch.setenv("WEB_CONCURRENCY", processes)
    n = int(processes)
    s = env.settings
    limits = PublicLimits.from_settings(s)
    assert limits.reports_global.capacity == s.report_rate_global_per_minute // n
    guard = LoginGuard.from_settings(s)
    assert guard.everyone.threshold == s.login_max_failures_global // n
    # A client's own limits stay whole in each process (its requests keep to one connection).
    assert limits.reports_per_client.capacity == s.report_rate_per_client_per_hour
    assert limits.lookups_per_client.capacity == s.receipt_lookup_rate_per_client_per_minute
    assert guard.clients.threshold == s.login_max_failures_per_client
    assert guard.pairs.threshold == s.login_max_failures
