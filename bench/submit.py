"""Write throughput of SafeGrid on PostgreSQL, measured against raw asyncpg in the same run.

1. PUT /inspections (25 answers, 2 failures → 2 findings) with concurrent clients, against a bare single-row
   INSERT through raw asyncpg with the same concurrency. Goal: ratio >= 0.25.
2. Full phone submissions (one ~300 KB photo stored, stripped and thumbnailed, then the inspection), the
   workload of DESIGN.md's yardstick, against the same raw-insert baseline: once as an outside tool sends
   them (the photo alone: the server decodes it to make the thumbnail), once as the phone app sends them
   (the photo and the phone's own 320 px thumbnail of it, which the server checks and keeps instead of
   decoding the photo). Each photo and each thumbnail differs from every other in its pixels.
3. p99 latency of GET /me while 8 phones upload 12-megapixel photos at once, beside GET /me with no uploads
   (goal: p99 <= 100 ms under load: the event loop is never blocked).

CPU per operation: utime + stime (from /proc) of the server's processes and of the PostgreSQL backends
connected to the benchmark's database, over the run, divided by the operations accepted. The load generator's
own CPU is printed beside it and not counted; it sends requests put together as bytes over keep-alive
connections (`RawConnection`), so it takes little of the two cores it shares with the server. Every full
submission's photo differs in its pixels (see `pixel_variant`).

Usage: python bench/submit.py [--seconds 10] [--clients 16] [--workers 1,2] [--no-me]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    CpuMeter,
    RawConnection,
    Server,
    drop_database,
    fresh_database,
    multipart_file,
    multipart_files,
    percentile,
    phone_jpeg,
    pixel_variant,
    reference_cpu_ms,
    server,
    token,
)

DB = "safegrid_bench"
PHOTO_KB = len(phone_jpeg(1600, 1200, quality=62)) // 1024


async def raw_insert_rate(url: str, clients: int, seconds: float) -> float:
    pool = await asyncpg.create_pool(url, min_size=clients, max_size=clients)
    assert pool is not None
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_rows (id uuid PRIMARY KEY, payload jsonb NOT NULL)"
        )
    count = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal count
        while time.perf_counter() < stop:
            async with pool.acquire() as conn:
                await conn.execute(
                    "INSERT INTO bench_rows (id, payload) VALUES ($1, $2)", uuid.uuid4(), '{"result": "pass"}'
                )
            count += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - start
    await pool.close()
    return count / elapsed


def inspection_body(template: dict, venue_id: str, photo_ids: list[str]) -> dict:
    items = template["items"][:25]
    answers = [{"item_code": it["code"], "result": "pass", "note": None, "photo_ids": []} for it in items]
    for k, idx in enumerate((3, 17)):
        answers[idx].update(result="fail", note="bench failure", photo_ids=[photo_ids[k % len(photo_ids)]])
    return {
        "venue_id": venue_id,
        "checklist_code": template["code"],
        "checklist_version": template["version"],
        "started_at": "2026-11-29T09:00:00+08:00",
        "submitted_at": "2026-11-29T09:20:00+08:00",
        "lat": 31.4,
        "lng": 109.63,
        "accuracy_m": 12.0,
        "note": None,
        "answers": answers,
    }


def compact_json(value: dict) -> bytes:
    """The body as the phone sends it: UTF-8, no spaces."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class Rate:
    def __init__(self, count: int, elapsed: float, server: float, db: float, client: float) -> None:
        self.count, self.elapsed = count, elapsed
        self.server_cpu, self.db_cpu, self.client_cpu = server, db, client

    @property
    def per_second(self) -> float:
        return self.count / self.elapsed

    def cpu_ms(self) -> str:
        total = (self.server_cpu + self.db_cpu) / self.count * 1000
        return (
            f"CPU {total:5.1f} ms each (server {self.server_cpu / self.count * 1000:.1f} + "
            f"PostgreSQL {self.db_cpu / self.count * 1000:.1f}; load generator, not counted, "
            f"{self.client_cpu / self.count * 1000:.1f})"
        )


def phone_thumbnail(photo: bytes) -> bytes:
    """What the phone app draws from the canvas it encoded the photo from: 320 px on the long side."""
    img = Image.open(io.BytesIO(photo))
    img.draft("RGB", (400, 300))
    img = img.convert("RGB").resize((320, 240), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


async def api_rates(base: Server, clients: int, seconds: float) -> tuple[Rate, Rate, Rate, bool]:
    limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        headers = {"Authorization": f"Bearer {await token(client, 'inspector_baiyun')}"}
        template = (await client.get("/api/v1/checklists/small_venue_fire", headers=headers)).json()
        venues = (await client.get("/api/v1/venues", headers=headers, params={"kind": "small_retail"})).json()
        venue_id = venues["items"][0]["id"]
        # About 300 KB, the yardstick's photo (DESIGN.md "How fast"): what a phone sends after compressing.
        photo = phone_jpeg(1600, 1200, quality=62)
        shared_photo = str(uuid.uuid4())
        r = await client.put(
            f"/api/v1/photos/{shared_photo}", headers=headers, files={"file": ("p.jpg", photo)}
        )
        r.raise_for_status()

        # Every phone photo differs in its pixels, so nothing is deduplicated away.
        variants = iter(range(1, 10**7))
        a, b = pixel_variant(photo, 1), pixel_variant(photo, 2)
        assert a != b and len(a) == len(photo)
        thumbnail = phone_thumbnail(photo)
        assert pixel_variant(thumbnail, 1) != pixel_variant(thumbnail, 2)

        meter = CpuMeter(base.pid, DB)
        connections = [RawConnection(base, headers["Authorization"]) for _ in range(clients)]
        form_type, before_file, after_file = multipart_file("file", "p.jpg")
        phone_form_type, phone_form = multipart_files(("file", "p.jpg"), ("thumbnail", "t.jpg"))

        # Does this server keep the phone's thumbnail? (A version before it could ignores the part.)
        probe = str(uuid.uuid4())
        probe_thumbnail = pixel_variant(thumbnail, 10**8)
        r = await client.put(
            f"/api/v1/photos/{probe}",
            headers=headers,
            files={"file": ("p.jpg", pixel_variant(photo, 10**8)), "thumbnail": ("t.jpg", probe_thumbnail)},
        )
        r.raise_for_status()
        kept = (await client.get(f"/api/v1/photos/{probe}/thumbnail", headers=headers)).content
        thumbnail_kept = (
            kept[kept.index(b"\xff\xda") :] == probe_thumbnail[probe_thumbnail.index(b"\xff\xda") :]
        )

        async def timed(fn) -> Rate:  # type: ignore[no-untyped-def]
            count = 0
            stop = time.perf_counter() + seconds

            async def worker(connection: RawConnection) -> None:
                nonlocal count
                while time.perf_counter() < stop:
                    await fn(connection)
                    count += 1

            # Warm up, and open every connection before the meter starts (all at once: one after another, the
            # first would sit idle past the server's keep-alive timeout in a slow hour).
            await asyncio.gather(*(fn(c) for c in connections))
            await meter.start()
            client_start = time.process_time()
            start = time.perf_counter()
            await asyncio.gather(*(worker(c) for c in connections))
            elapsed = time.perf_counter() - start
            client_cpu = time.process_time() - client_start
            server_cpu, db_cpu = await meter.stop()
            return Rate(count, elapsed, server_cpu, db_cpu, client_cpu)

        async def put_inspection(connection: RawConnection) -> None:
            body = compact_json(inspection_body(template, venue_id, [shared_photo]))
            status, text = await connection.request(
                "PUT", f"/api/v1/inspections/{uuid.uuid4()}", "application/json", body
            )
            assert status == 201, text

        async def full_submission(connection: RawConnection) -> None:
            pid = str(uuid.uuid4())
            data = pixel_variant(photo, next(variants))
            status, text = await connection.request(
                "PUT", f"/api/v1/photos/{pid}", form_type, before_file, data, after_file
            )
            assert status == 201, text
            body = compact_json(inspection_body(template, venue_id, [pid]))
            status, text = await connection.request(
                "PUT", f"/api/v1/inspections/{uuid.uuid4()}", "application/json", body
            )
            assert status == 201, text

        async def phone_submission(connection: RawConnection) -> None:
            pid = str(uuid.uuid4())
            k = next(variants)
            status, text = await connection.request(
                "PUT",
                f"/api/v1/photos/{pid}",
                phone_form_type,
                phone_form[0],
                pixel_variant(photo, k),
                phone_form[1],
                pixel_variant(thumbnail, k),
                phone_form[2],
            )
            assert status == 201, text
            body = compact_json(inspection_body(template, venue_id, [pid]))
            status, text = await connection.request(
                "PUT", f"/api/v1/inspections/{uuid.uuid4()}", "application/json", body
            )
            assert status == 201, text

        try:
            inspections = await timed(put_inspection)
            submissions = await timed(full_submission)
            phone_submissions = await timed(phone_submission)
        finally:
            for connection in connections:
                await connection.close()
        return inspections, submissions, phone_submissions, thumbnail_kept


async def me_latency(base: Server, seconds: float, uploaders: int) -> tuple[float, float, float]:
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        headers = {"Authorization": f"Bearer {await token(client, 'inspector_baiyun')}"}
        big = phone_jpeg(4000, 3000, quality=92)

        async def probe(duration: float) -> list[float]:
            samples = []
            stop = time.perf_counter() + duration
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                r = await client.get("/api/v1/me", headers=headers)
                samples.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200
                await asyncio.sleep(0.02)
            return samples

        idle = await probe(min(seconds, 5))
        uploads = 0
        done = asyncio.Event()

        async def uploader(k: int) -> None:
            nonlocal uploads
            async with httpx.AsyncClient(base_url=base, timeout=120) as own:
                while not done.is_set():
                    pid = uuid.uuid4()
                    r = await own.put(
                        f"/api/v1/photos/{pid}", headers=headers, files={"file": ("big.jpg", big + pid.bytes)}
                    )
                    assert r.status_code == 201, r.text
                    uploads += 1

        tasks = [asyncio.create_task(uploader(k)) for k in range(uploaders)]
        await asyncio.sleep(1.0)  # let every phone be mid-upload
        loaded = await probe(seconds)
        done.set()
        await asyncio.gather(*tasks)
        return percentile(idle, 99), percentile(loaded, 99), uploads / (seconds + 1.0)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", default="1,2", help="server process counts to run, comma-separated")
    parser.add_argument("--no-me", action="store_true", help="skip the GET /me latency part")
    args = parser.parse_args()

    print(f"clients={args.clients} seconds={args.seconds:g} cores={os.cpu_count()}")
    print(f"machine reference (see bench/_common.py): {reference_cpu_ms():.2f} ms CPU")
    url = await fresh_database(DB)
    try:
        raw = await raw_insert_rate(url, args.clients, args.seconds)
        print(f"raw asyncpg single-row INSERT: {raw:8.0f} rows/s (baseline)")
        for workers in (int(w) for w in args.workers.split(",")):
            with server(url, workers=workers) as base:
                inspections, submissions, phone, kept = await api_rates(base, args.clients, args.seconds)
                print(f"-- server workers={workers}")
                print(
                    f"PUT /inspections (25 answers, 2 findings): {inspections.per_second:8.1f}/s  "
                    f"ratio {inspections.per_second / raw:.3f} (goal >= 0.25)  {inspections.cpu_ms()}"
                )
                print(
                    f"full submission ({PHOTO_KB} KB photo + inspection): {submissions.per_second:8.1f}/s  "
                    f"ratio {submissions.per_second / raw:.3f}  {submissions.cpu_ms()}"
                )
                print(
                    f"full submission, phone's thumbnail {'kept' if kept else 'IGNORED by this server'}: "
                    f"{phone.per_second:8.1f}/s  ratio {phone.per_second / raw:.3f}  {phone.cpu_ms()}"
                )
                if not args.no_me:
                    idle_p99, loaded_p99, photo_rate = await me_latency(base, args.seconds, 8)
                    print(
                        f"GET /me p99 idle {idle_p99:.1f} ms; while 8 phones upload 12 MP photos "
                        f"{loaded_p99:.1f} ms (ratio {loaded_p99 / idle_p99:.1f}x, goal <= 100 ms); "
                        f"12 MP photos processed {photo_rate:.1f}/s"
                    )
        print(f"machine reference at the end: {reference_cpu_ms():.2f} ms CPU")
    finally:
        await drop_database(DB)


if __name__ == "__main__":
    asyncio.run(main())
