"""No trace of the reporter: not in the database, not in any log, not in a stored photo.

The main test sends 100 reports from a marked address (the transport's client address, and another one
in X-Forwarded-For / X-Real-IP / Forwarded) with a marked user agent, looks each one up by its receipt,
and then scans every column of every table (found by SQLAlchemy inspection), the raw SQLite files, the
photo store and every log record: neither marker nor any receipt may appear anywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from opentelemetry import trace
from PIL import Image

from api.models import Photo, Report
from api.services import reports as report_service
from tests.conftest import Env
from tests.helpers import gps_exif, jpeg_segments, make_jpeg
from tests.test_public_reports import public_app, submit

API = "/api/v1"
TRANSPORT_IP = "198.51.100.173"
FORWARDED_IP = "203.0.113.219"
USER_AGENT = "MarkerBrowser/7.3 (privacy-probe zq5521)"
MARKED_HEADERS = {
    "User-Agent": USER_AGENT,
    "X-Forwarded-For": f"{FORWARDED_IP}, 192.0.2.1",
    "X-Real-IP": FORWARDED_IP,
    "Forwarded": f"for={FORWARDED_IP};proto=https",
}


# The test's own HTTP client logs the URLs it requests (so, receipts): that is the reporter's side, not
# the server's, and is left out of the scan.
CLIENT_LOGGERS = {"httpx", "httpcore"}


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.texts: list[str] = []
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in CLIENT_LOGGERS:
            return
        self.records.append(record)
        self.texts.append(self.format(record))
        self.texts.append(repr(record.args))
        self.texts.append(repr(getattr(record, "__dict__", {})))


@pytest.fixture
def captured_logs() -> Iterator[Capture]:
    root = logging.getLogger()
    handler = Capture()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def scan_database(env: Env) -> tuple[list[str], int]:
    """Every value of every column of every table, as text (bytes decoded leniently); and the row count."""
    engine = env.app.state.engine
    values: list[str] = []
    rows_seen = 0

    def scan(conn: Any) -> None:
        nonlocal rows_seen
        inspector = sa.inspect(conn)
        tables = inspector.get_table_names()
        assert {"reports", "report_events", "photos", "findings"} <= set(tables)
        for name in tables:
            columns = [c["name"] for c in inspector.get_columns(name)]
            table = sa.table(name, *[sa.column(c) for c in columns])
            for row in conn.execute(sa.select(table)).all():
                rows_seen += 1
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        values.append(bytes(value).decode("latin-1"))
                    elif value is not None:
                        values.append(str(value))

    async with engine.connect() as conn:
        await conn.run_sync(scan)
    return values, rows_seen


def raw_files(env: Env) -> list[tuple[Path, bytes]]:
    """The SQLite database files as bytes (with the WAL), and every stored photo file."""
    out = []
    if env.backend == "sqlite":
        for suffix in ("", "-wal", "-journal"):
            path = env.settings.data_dir / f"safegrid.db{suffix}"
            if path.exists():
                out.append((path, path.read_bytes()))
    for path in env.settings.photo_dir.rglob("*"):
        if path.is_file():
            out.append((path, path.read_bytes()))
    return out


async def test_a_hundred_reports_leave_no_trace(env: Env, captured_logs: Capture) -> None:
    probe = f"privacy-probe-{uuid.uuid4().hex}"  # written on purpose: proves the scans see the data
    receipts: list[str] = []
    async with public_app(env, client=(TRANSPORT_IP, 61234)) as (_, c):
        for i in range(100):
            draft = str(uuid.uuid4())
            files = [make_jpeg(exif=gps_exif(31.4, 109.6))] if i % 10 == 0 else None
            r = await submit(
                c,
                headers=MARKED_HEADERS,
                files=files,
                draft_id=draft,
                description=f"{probe} #{i}",
                contact="13700000000" if i % 5 == 0 else None,
                lat="31.41" if i % 3 == 0 else None,
                lng="109.62" if i % 3 == 0 else None,
            )
            assert r.status_code == 201, r.text
            receipts.append(r.json()["receipt"])
            if i % 10 == 0:  # a retry of the same draft, as the page's outbox does
                again = await submit(c, headers=MARKED_HEADERS, draft_id=draft, description=f"{probe} #{i}")
                assert again.status_code == 200 and again.json()["receipt"] == receipts[-1]
        for receipt in receipts:
            r = await c.get(f"{API}/public/reports/{receipt}", headers=MARKED_HEADERS)
            assert r.status_code == 200
        # Failures go through the same logs.
        assert (await submit(c, headers=MARKED_HEADERS, category="nope")).status_code == 422
        assert (await submit(c, headers=MARKED_HEADERS, files=[b"GIF89a-not-really"])).status_code == 415
        assert (
            await c.get(f"{API}/public/reports/ABCDE-FGHJK-MNPQR-STVWX", headers=MARKED_HEADERS)
        ).status_code == 404

    # The office works on some of them: triage and events must not bring anything in either.
    reports = (
        await env.client.get(f"{API}/reports", params={"limit": 200}, headers=env.auth("supervisor"))
    ).json()
    mine = [r for r in reports["items"] if r["description"].startswith(probe)]
    assert len(mine) == 100
    for r in mine[:3]:
        await env.client.get(f"{API}/reports/{r['id']}/contact", headers=env.auth("admin"))
        resp = await env.client.post(
            f"{API}/reports/{r['id']}/triage",
            json={"action": "reject", "reply": "不属实"},
            headers=env.auth("supervisor"),
        )
        assert resp.status_code == 200

    forbidden = {
        TRANSPORT_IP,
        FORWARDED_IP,
        USER_AGENT,
        "privacy-probe zq5521",
        "MarkerBrowser",
        env.settings.secret_key,
    }
    for receipt in receipts:
        forbidden |= {receipt, receipt.replace("-", ""), receipt.lower(), receipt.replace("-", "").lower()}

    values, rows = await scan_database(env)
    assert rows > 200
    assert any(probe in v for v in values), "the database scan sees nothing"
    blob = "\n".join(values)
    assert [m for m in forbidden if m in blob] == []
    # Keyed hashes only: not even a plain SHA-256 of a receipt is stored.
    plain = {hashlib.sha256(r.replace("-", "").encode()).hexdigest() for r in receipts}
    assert not [p for p in plain if p in blob]

    files = raw_files(env)
    if env.backend == "sqlite":
        assert any(probe.encode() in data for _, data in files), "the raw file scan sees nothing"
    for path, data in files:
        for marker in forbidden:
            assert marker.encode() not in data, (path.name, marker)

    assert captured_logs.records, "nothing was logged at all"
    access = [r for r in captured_logs.records if r.name == "safegrid.access"]
    assert any("/public/reports/{receipt} 200" in r.getMessage() for r in access)
    assert any("POST /public/reports 201" in r.getMessage() for r in access)
    log_text = "\n".join(captured_logs.texts)
    assert [m for m in forbidden if m in log_text] == []


def test_serve_runs_without_uvicorn_access_log_or_forwarded_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from api import cli

    seen: dict[str, Any] = {}
    monkeypatch.setattr(cli, "_migrate", lambda: None)
    monkeypatch.setattr(logging, "basicConfig", lambda **kw: None)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    assert cli.cmd_serve(cli.build_parser().parse_args(["serve"])) == 0
    assert seen["access_log"] is False and seen["proxy_headers"] is False

    # Behind a named proxy, its forwarding header gives each reporter their own rate-limit bucket.
    from api.config import get_settings

    monkeypatch.setenv("SAFEGRID_FORWARDED_ALLOW_IPS", "10.0.0.5")
    get_settings.cache_clear()
    try:
        assert cli.cmd_serve(cli.build_parser().parse_args(["serve"])) == 0
    finally:
        get_settings.cache_clear()
    assert seen["proxy_headers"] is True and seen["forwarded_allow_ips"] == "10.0.0.5"
    assert seen["access_log"] is False


async def test_only_a_keyed_hash_of_the_receipt_is_stored(env: Env) -> None:
    async with public_app(env) as (_, c):
        receipt = (await submit(c)).json()["receipt"]
    canonical = receipt.replace("-", "")
    async with env.app.state.sessionmaker() as s:
        keyed = hmac.new(
            env.settings.secret_key.encode(), f"receipt-hash:{canonical}".encode(), "sha256"
        ).hexdigest()
        report = await s.scalar(sa.select(Report).where(Report.receipt_hash == keyed))
    assert report is not None
    assert report.receipt_hash != hashlib.sha256(canonical.encode()).hexdigest()
    # Without the secret the stored hash cannot be checked against a guess.
    other = env.settings.model_copy(update={"secret_key": "not-the-secret-key-but-long-enough-0000"})
    assert report_service.receipt_hash(other, canonical) != report.receipt_hash


def _jpeg_with_everything() -> bytes:
    exif = gps_exif(31.40412, 109.63321, taken="2026:11:20 14:30:05")
    exif[0x0110] = "PhoneModel-X9"  # Model
    exif[0x0131] = "CameraApp 5.1"  # Software
    exif[0xA431] = "SN-0042-77"  # body serial number
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b"<rdf:Description xmlns:tiff='http://ns.adobe.com/tiff/1.0/' tiff:Model='PhoneModel-X9'/>"
        b"</rdf:RDF></x:xmpmeta>"
    )
    return make_jpeg(320, 240, exif=exif, quality=97, comment=b"owner: Zhang San", xmp=xmp)


LEAKS = [
    b"Exif",
    b"GPS",
    b"TestPhone",
    b"PhoneModel-X9",
    b"CameraApp",
    b"SN-0042-77",
    b"xmpmeta",
    b"ns.adobe.com",
    b"Zhang San",
    b"2026:11:20",
]


@pytest.mark.parametrize("kind", ["jpeg", "png"])
async def test_report_photos_keep_no_metadata(env: Env, kind: str) -> None:
    if kind == "jpeg":
        upload = _jpeg_with_everything()
        original = Image.open(io.BytesIO(upload))
        assert original.getexif().get_ifd(0x8825), "the test photo must carry GPS"
    else:
        img = Image.new("RGB", (300, 200), "orange")
        buf = io.BytesIO()
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_text("Author", "Zhang San")
        img.save(buf, "PNG", pnginfo=info, exif=gps_exif(31.4, 109.6))
        upload = buf.getvalue()
    async with public_app(env) as (_, c):
        r = await submit(c, files=[upload])
        assert r.status_code == 201, r.text
        receipt = r.json()["receipt"]
    digest = report_service.receipt_hash(env.settings, report_service.normalize_receipt(receipt) or "")
    async with env.app.state.sessionmaker() as s:
        report = await s.scalar(sa.select(Report).where(Report.receipt_hash == digest))
        assert report is not None
        photo = await s.get(Photo, uuid.UUID(report.photo_ids[0]))
    assert photo is not None
    assert photo.purpose == "report" and photo.uploaded_by is None
    assert photo.gps_lat is None and photo.gps_lng is None and photo.captured_at is None
    # Not even the hash of the uploaded bytes is kept (it would match the file on the reporter's phone).
    assert photo.sha256 != hashlib.sha256(upload).hexdigest()

    sup = env.auth("supervisor")
    for suffix in ("", "/thumbnail"):
        r = await env.client.get(f"{API}/photos/{photo.id}{suffix}", headers=sup)
        assert r.status_code == 200
        stored = r.content
        assert stored[:2] == b"\xff\xd8"
        assert not [m for m in jpeg_segments(stored) if 0xE1 <= m <= 0xEF or m == 0xFE]
        assert [leak for leak in LEAKS if leak in stored] == []
        img = Image.open(io.BytesIO(stored))
        assert not img.getexif() and "xmp" not in img.info and "comment" not in img.info
    if kind == "jpeg":
        # Encoded afresh: the camera's quantisation tables (a fingerprint of the phone) are gone too.
        main = Image.open(io.BytesIO((await env.client.get(f"{API}/photos/{photo.id}", headers=sup)).content))
        assert main.quantization != original.quantization  # type: ignore[attr-defined]


class _RecordingTracer(trace.Tracer):
    def __init__(self, spans: list[str]) -> None:
        self.spans = spans

    def start_span(self, name: str, *args: Any, **kwargs: Any) -> trace.Span:
        self.spans.append(name)
        return trace.INVALID_SPAN

    @contextlib.contextmanager
    def start_as_current_span(self, name: str, *args: Any, **kwargs: Any) -> Iterator[trace.Span]:
        self.spans.append(name)
        yield trace.INVALID_SPAN


class _RecordingTracerProvider(trace.TracerProvider):
    def __init__(self) -> None:
        self.spans: list[str] = []

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _RecordingTracer(self.spans)


async def test_no_tracing_even_when_the_host_configures_it(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """A span would carry the path (the receipt) and an exception log the words sent: FastAPI's
    OpenTelemetry hooks stay off even when the host has installed a tracer. (That the environment cannot
    switch them on, `auto_configure`, is read by FastAPI's own start-up, which these apps do not run.)"""
    provider = _RecordingTracerProvider()
    # The process-wide provider can be set only once; the test puts the previous one back itself.
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", provider)
    assert trace.get_tracer_provider() is provider
    async with public_app(env) as (_, c):
        r = await submit(c)
        assert r.status_code == 201, r.text
        receipt = r.json()["receipt"]
        r = await c.get(f"{API}/public/reports/{receipt}")
        assert r.status_code == 200, r.text
        assert (await c.get(f"{API}/public/reports/nonsense")).status_code == 404
        assert (await c.get("/report/status", params={"receipt": receipt})).status_code == 200
    assert provider.spans == []
