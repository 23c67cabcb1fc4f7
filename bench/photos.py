"""Photo pipeline benchmark: ``python bench/photos.py [--runs N]``.

Compares ``api.services.imaging.process_image`` with a plain Pillow pipeline (open ->
exif_transpose -> full-size decode -> LANCZOS resize to 2048 -> save JPEG -> thumbnail 320
from the full image -> save) on two synthetic phone photos:

* a 12-megapixel camera JPEG (4000x3000, quality 90, EXIF with GPS, ~3-4 MB);
* the 1600x1200 JPEG the PWA uploads (~300 KB), which takes the lossless fast path.

Times are the median of N runs. Peak memory is the growth of the peak resident set size
during one run in a freshly spawned interpreter (Pillow's pixel buffers are invisible to
tracemalloc). Nothing is asserted; this is not a test.
"""

from __future__ import annotations

import argparse
import functools
import io
import multiprocessing
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageDraw, ImageOps

from api.services.imaging import process_image

LONG_SIDE = 2048
THUMB_SIDE = 320
RATIO_GOAL = 0.5


# --------------------------------------------------------------------------- inputs


def synthetic_photo(width: int, height: int, grain: int, seed: int = 7) -> Image.Image:
    """Gradients, low-frequency texture, sensor-like grain and some hard-edged objects."""
    gradient = Image.linear_gradient("L").resize((width, height), Image.Resampling.BILINEAR)
    radial = Image.radial_gradient("L").resize((width, height), Image.Resampling.BILINEAR)
    texture = Image.effect_noise((width // 8, height // 8), 64).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    noise = Image.effect_noise((width, height), grain)
    red = Image.blend(Image.blend(gradient, texture, 0.45), noise, 0.2)
    green = Image.blend(Image.blend(radial, texture.transpose(Image.Transpose.ROTATE_180), 0.35), noise, 0.2)
    blue = Image.blend(
        Image.blend(gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT), radial, 0.5), noise, 0.15
    )
    img = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(img)
    rnd = random.Random(seed)
    for _ in range(60):
        x, y, size = rnd.randrange(width), rnd.randrange(height), rnd.randrange(width // 40, width // 8)
        colour = (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
        draw.rectangle((x, y, x + size, y + size // 2), fill=colour)
    return img


def phone_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Phone"
    exif[0x0110] = "Model X"
    exif[0x0112] = 1
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 10:30:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (30.0, 34.0, 22.08)
    gps[3], gps[4] = "E", (104.0, 3.0, 59.4)
    return exif.tobytes()


def jpeg(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, exif=phone_exif())
    return out.getvalue()


# --------------------------------------------------------------------------- pipelines


def plain_pipeline(data: bytes) -> tuple[bytes, bytes]:
    """What one writes without thinking about cost: everything at full size."""
    img: Image.Image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    img.load()
    big = img
    if max(img.size) > LONG_SIDE:
        scale = LONG_SIDE / max(img.size)
        big = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    big.convert("RGB").save(out, "JPEG", quality=85)
    thumb = img.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    thumb_out = io.BytesIO()
    thumb.convert("RGB").save(thumb_out, "JPEG", quality=80)
    return out.getvalue(), thumb_out.getvalue()


def median_ms(first: Callable[[], object], second: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall time of each function; runs are interleaved so background load hits both alike."""
    first(), second()  # warm-up
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for fn, bucket in ((first, samples[0]), (second, samples[1])):
            started = time.perf_counter()
            fn()
            bucket.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples[0]), statistics.median(samples[1])


# --------------------------------------------------------------------------- memory


def _proc_status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _reset_peak_rss() -> bool:
    """Linux: reset VmHWM to the current RSS (writing 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def _max_rss_kb() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, kB elsewhere


def _memory_child(conn: Connection, which: str, options: dict[str, Any]) -> None:
    data = conn.recv_bytes()
    run: Callable[[], object] = (
        functools.partial(process_image, data, **options)
        if which == "pipeline"
        else functools.partial(plain_pipeline, data)
    )
    if _reset_peak_rss() and (before := _proc_status_kb("VmRSS")) is not None:
        run()
        peak = _proc_status_kb("VmHWM") or 0
    else:  # no /proc: growth of the lifetime peak, may under-report
        before = _max_rss_kb()
        run()
        peak = _max_rss_kb()
    conn.send(max(0, peak - before) / 1024)
    conn.close()


def peak_mb(which: str, data: bytes, options: dict[str, Any]) -> float:
    """Peak RSS growth (MB) of one call in a fresh interpreter (no heap reused from earlier runs)."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_memory_child, args=(child, which, options))
    proc.start()
    parent.send_bytes(data)
    result = float(parent.recv())
    proc.join()
    return result


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="timed runs per measurement (median)")
    args = parser.parse_args()

    print("generating inputs ...", flush=True)
    big = jpeg(synthetic_photo(4000, 3000, grain=40), quality=90)
    phone = jpeg(synthetic_photo(1600, 1200, grain=30, seed=3), quality=82)

    cases: list[tuple[str, bytes, dict[str, Any], str]] = [
        # As the server runs it (Settings.photo_draft_tolerance): the 12 MP photo decodes at 1/2 scale.
        ("12MP JPEG", big, {"draft_tolerance": 0.05}, f"goal <= {RATIO_GOAL}; stores 2000x1500"),
        ("1600px phone JPEG", phone, {"draft_tolerance": 0.05}, "fast path"),
        ("12MP JPEG, exact 2048 px", big, {}, "draft_tolerance=0: full decode and resize"),
    ]
    rows = []
    for name, data, options, note in cases:
        pipeline = functools.partial(process_image, data, **options)
        plain = functools.partial(plain_pipeline, data)
        result = pipeline()
        pipe_ms, plain_ms = median_ms(pipeline, plain, args.runs)
        pipe_mem, plain_mem = peak_mb("pipeline", data, options), peak_mb("plain", data, options)
        rows.append((name, data, note, result, pipe_ms, plain_ms, pipe_mem, plain_mem))

    print()
    for name, _data, note, _result, pipe_ms, plain_ms, _pm, _qm in rows:
        print(
            f"{name}: pipeline {pipe_ms:.1f} ms, plain {plain_ms:.1f} ms, "
            f"ratio {pipe_ms / plain_ms:.2f} ({note})"
        )
    print()

    for name, _data, _note, _result, _pt, _qt, pipe_mem, plain_mem in rows:
        print(f"{name}: peak memory (RSS growth) pipeline {pipe_mem:.1f} MB, plain {plain_mem:.1f} MB")
    print()
    for name, data, _note, result, *_ in rows:
        print(
            f"{name}: input {len(data) / 1e6:.2f} MB -> stored {result.width}x{result.height} "
            f"{len(result.image) / 1e3:.0f} kB, thumbnail {len(result.thumbnail) / 1e3:.1f} kB, "
            f"fast_path={result.fast_path}"
        )
    print(
        f"runs per measurement: {args.runs} (median); "
        f"Python {sys.version.split()[0]}, Pillow {Image.__version__}"
    )


if __name__ == "__main__":
    main()
