"""Photo pipeline: validate an uploaded photo, keep its evidence metadata, store it clean.

Everything here is synchronous and CPU/memory bound; callers run :func:`process_image` in a
worker thread (``anyio.to_thread.run_sync``).

Steps:

1. The format is recognised from magic bytes only (:func:`sniff_format`); names and
   content types are never trusted.
2. The image is opened lazily and its pixel count, read from the header, is compared with
   ``max_pixels`` before anything is decoded (decompression bombs -> 413).
3. Capture time and GPS position are read from EXIF; they are returned as fields and are
   not kept in the stored file.
4. Fast path: a small, upright, 8-bit YCbCr/greyscale JPEG (what the PWA sends) keeps its
   compressed data untouched; only APPn/COM segments and bytes after EOI are dropped, so
   the pixels are exactly the uploaded ones. Its thumbnail comes from a 1/4-scale decode,
   or, when the phone sent one of its own that fits the photo, is the phone's (see
   :func:`_phone_thumbnail`): that spares the decode, three quarters of a photo's CPU.
5. Slow path (everything else): decode (large JPEGs at a reduced DCT scale), apply the
   EXIF orientation, flatten to RGB (alpha over white, CMYK and ICC profiles converted to
   sRGB), resize and encode a fresh JPEG without any metadata.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import logging
import math
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pillow_heif
from PIL import Image, ImageCms, ImageFile, ImageOps

from api.timeutil import LOCAL_TZ

__all__ = ["ImageRejected", "ProcessedImage", "process_image", "sniff_format"]

logger = logging.getLogger(__name__)

pillow_heif.register_heif_opener()
# Truncated files must be rejected, never padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False

MAIN_QUALITY = 85
THUMB_QUALITY = 80

# Pillow format ids that may answer for each sniffed format (phone JPEGs with an MPF
# second image open as "MPO").
_PIL_FORMATS: dict[str, tuple[str, ...]] = {
    "jpeg": ("JPEG", "MPO"),
    "png": ("PNG",),
    "webp": ("WEBP",),
    "heic": ("HEIF",),
}

_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_GENERIC_BRANDS = frozenset({b"mif1", b"msf1", b"heif"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})


@dataclass(frozen=True)
class ProcessedImage:
    image: bytes
    """Stored JPEG without any metadata (no EXIF, XMP, IPTC, ICC or comments)."""
    thumbnail: bytes
    """JPEG whose long side is at most ``thumb_side``, without metadata."""
    width: int
    """Width of the stored image (after orientation)."""
    height: int
    source_format: str
    """``"jpeg"``, ``"png"``, ``"webp"`` or ``"heic"``."""
    fast_path: bool
    """True when the upload's JPEG data was kept losslessly instead of re-encoded."""
    captured_at: datetime | None
    """EXIF DateTimeOriginal as an aware UTC datetime."""
    gps_lat: float | None
    gps_lng: float | None
    phone_thumbnail: bool = False
    """True when the thumbnail is the one the phone sent (stripped), not one made here."""


class ImageRejected(Exception):
    """The upload is not an acceptable photo; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


def _unsupported(detail: str) -> ImageRejected:
    return ImageRejected(415, "unsupported_media_type", detail)


def _too_large(detail: str) -> ImageRejected:
    return ImageRejected(413, "image_too_large", detail)


def _invalid(detail: str) -> ImageRejected:
    return ImageRejected(422, "invalid_image", detail)


# --------------------------------------------------------------------------- sniffing


def sniff_format(head: bytes) -> str | None:
    """Recognise a supported image format from its first bytes (32 are enough).

    Returns ``"jpeg"``, ``"png"``, ``"webp"``, ``"heic"`` (any HEIF still image: heic,
    heix, hevc, mif1, msf1, ...) or None. AVIF, although HEIF-based, returns None.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        major = head[8:12]
        if major in _HEIC_BRANDS:
            return "heic"
        if major in _HEIF_GENERIC_BRANDS:
            box_size = int.from_bytes(head[:4], "big")
            end = min(box_size, len(head)) if box_size >= 16 else len(head)
            compatible = {head[i : i + 4] for i in range(16, end - 3, 4)}
            if compatible & _HEIC_BRANDS:
                return "heic"
            if compatible & _AVIF_BRANDS:
                return None
            return "heic"
    return None


# --------------------------------------------------------------------------- JPEG segments


class _JpegTruncated(Exception):
    """The JPEG stream ends before its EOI marker."""


class _JpegUnusual(Exception):
    """The JPEG has a structure the lossless path does not handle; use the slow path."""


_SOI = b"\xff\xd8"
_EOI = b"\xff\xd9"
# Minimal JFIF APP0 (version 1.01, aspect ratio 1:1, no thumbnail). JFIF pins the colour
# space to YCbCr (or greyscale), which is how the original was decoded.
_JFIF_APP0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
_LOSSLESS_SOF = frozenset({0xC0, 0xC1, 0xC2})  # baseline, extended sequential, progressive
_OTHER_SOF = frozenset({0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_KEPT_TABLES = frozenset({0xC4, 0xCC, 0xDB, 0xDD})  # DHT, DAC, DQT, DRI
# End of entropy-coded data: 0xFF followed by anything but stuffing (00), RSTn or fill (FF).
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


@dataclass
class _JpegLayout:
    pieces: list[memoryview]
    """Views of the kept segments and scans up to EOI (SOI not included); nothing is copied."""
    sof_marker: int
    precision: int
    width: int
    height: int
    component_ids: tuple[int, ...]
    jfif: bool
    adobe_transform: int | None
    scan_bytes: int = 0
    """Bytes of entropy-coded data in all scans."""

    short_scan: bool = False
    """Some scan is too short to code every 8x8 block the frame header declares (see _scan_min_bits)."""

    sampling: tuple[tuple[int, int], ...] = ()
    """(horizontal, vertical) sampling factors of each component, in frame order."""

    def is_ycbcr_or_grey(self) -> bool:
        """Mirror libjpeg's colour-space guess for the original stream."""
        n = len(self.component_ids)
        if n == 1:
            return True
        if n != 3:
            return False
        if self.jfif:
            return True
        if self.adobe_transform is not None:
            return self.adobe_transform != 0
        return self.component_ids != (0x52, 0x47, 0x42)  # 'R', 'G', 'B' means RGB

    def stripped(self) -> bytes:
        return b"".join([_SOI, _JFIF_APP0, *self.pieces])


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _read_huffman_lengths(data: bytes, start: int, end: int, into: dict[tuple[int, int], int]) -> None:
    pos = start
    while pos + 17 <= end:
        table = data[pos]
        counts = data[pos + 1 : pos + 17]
        into[(table >> 4, table & 0x0F)] = next((i + 1 for i, c in enumerate(counts) if c), 16)
        pos += 17 + sum(counts)


def _scan_min_bits(
    header: bytes,
    sof: tuple[int, int, int, int, tuple[int, ...]],
    sampling: tuple[tuple[int, int], ...],
    huffman_min: dict[tuple[int, int], int],
) -> int:
    """The fewest bits a scan can hold when it codes every 8x8 block the frame header declares.

    In a Huffman-coded sequential scan each block needs a DC code and at least one AC code (an end of
    block), each at least as long as its table's shortest code; in a progressive scan each block of a
    first DC scan needs a DC code and of a DC refinement one bit (AC scans can skip whole runs of blocks
    with one code, so they count nothing). libjpeg pads a scan that ends early in a marker with flat
    grey blocks and only warns, so a header declaring 7000x7000 over 320x240 of data would decode
    "fine": this bound refuses it without decoding, and never refuses a complete image. A scan cut
    short by only a few blocks can still pass: no check short of a full entropy decode sees that.
    """
    marker, _, width, height, ids = sof
    if marker not in _LOSSLESS_SOF or not header or not sampling:
        return 0
    count = header[0]
    if len(header) < 1 + 2 * count + 3:
        return 0
    spectral_start, approx = header[1 + 2 * count], header[3 + 2 * count]
    h_max = max(h for h, _ in sampling) or 1
    v_max = max(v for _, v in sampling) or 1
    bits = 0
    for k in range(count):
        component, tables = header[1 + 2 * k], header[2 + 2 * k]
        if component not in ids:
            return 0
        h, v = sampling[ids.index(component)]
        blocks = _ceil_div(_ceil_div(width * h, h_max), 8) * _ceil_div(_ceil_div(height * v, v_max), 8)
        dc = huffman_min.get((0, tables >> 4), 1)
        ac = huffman_min.get((1, tables & 0x0F), 1)
        if marker != 0xC2:
            per_block = dc + ac
        elif spectral_start != 0:
            per_block = 0
        else:
            per_block = dc if approx >> 4 == 0 else 1
        bits += blocks * per_block
    return bits


def _parse_jpeg(data: bytes) -> _JpegLayout:
    """Walk the marker segments of a JPEG up to EOI.

    Raises _JpegTruncated when the data ends before EOI, _JpegUnusual for structures the
    lossless path does not support (they may still decode on the slow path).
    """
    n = len(data)
    if not data.startswith(_SOI):
        raise _JpegUnusual("no SOI")
    view = memoryview(data)
    pos = 2
    pieces: list[memoryview] = []
    sof: tuple[int, int, int, int, tuple[int, ...]] | None = None
    sampling: tuple[tuple[int, int], ...] = ()
    scan_bytes = 0
    short_scan = False
    huffman_min: dict[tuple[int, int], int] = {}  # (class, id) -> length of the table's shortest code
    seen_sos = False
    jfif = False
    adobe_transform: int | None = None
    while True:
        if pos >= n:
            raise _JpegTruncated("no EOI marker")
        if data[pos] != 0xFF:
            raise _JpegUnusual(f"garbage before marker at offset {pos}")
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            raise _JpegTruncated("no EOI marker")
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            pieces.append(view[pos - 2 : pos])
            break
        if marker == 0x00 or marker == 0x01 or marker == 0xD8 or 0xD0 <= marker <= 0xD7:
            raise _JpegUnusual(f"unexpected marker 0x{marker:02X}")
        if pos + 2 > n:
            raise _JpegTruncated("segment header cut off")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2:
            raise _JpegUnusual("bad segment length")
        end = pos + length
        if end > n:
            raise _JpegTruncated("segment cut off")
        body = pos + 2  # first payload byte
        if 0xE0 <= marker <= 0xEF:
            if marker == 0xE0 and length >= 16 and data.startswith(b"JFIF\x00", body):
                jfif = True
            elif marker == 0xEE and length >= 14 and data.startswith(b"Adobe", body):
                adobe_transform = data[body + 11]
        elif marker == 0xFE:
            pass
        elif marker in _LOSSLESS_SOF or marker in _OTHER_SOF:
            payload = data[body:end]
            if sof is not None or len(payload) < 6:
                raise _JpegUnusual("several or short frame headers")
            count = payload[5]
            if len(payload) < 6 + 3 * count:
                raise _JpegUnusual("short frame header")
            ids = tuple(payload[6 + 3 * i] for i in range(count))
            sampling = tuple((payload[7 + 3 * i] >> 4, payload[7 + 3 * i] & 0x0F) for i in range(count))
            sof = (
                marker,
                payload[0],
                int.from_bytes(payload[3:5], "big"),
                int.from_bytes(payload[1:3], "big"),
                ids,
            )
            pieces.append(view[pos - 2 : end])
        elif marker == 0xDC:
            # DNL: a frame whose height is 0 is refused before any of this is used, and libjpeg skips the
            # segment's body in any other; kept, it could carry anything into the stored file.
            pass
        elif marker in _KEPT_TABLES:
            if marker == 0xC4:
                _read_huffman_lengths(data, body, end, huffman_min)
            pieces.append(view[pos - 2 : end])
        elif marker == 0xDA:
            if sof is None:
                raise _JpegUnusual("scan before frame header")
            seen_sos = True
            match = _SCAN_END.search(data, end)
            if match is None:
                raise _JpegTruncated("entropy-coded data cut off")
            pieces.append(view[pos - 2 : match.start()])
            scan_bytes += match.start() - end
            needed = _scan_min_bits(data[body:end], sof, sampling, huffman_min)
            short_scan = short_scan or (match.start() - end) * 8 < needed
            pos = match.start()
            continue
        else:
            raise _JpegUnusual(f"unsupported marker 0x{marker:02X}")
        pos = end
    if sof is None or not seen_sos:
        raise _JpegUnusual("no frame or no scan")
    marker, precision, width, height, ids = sof
    return _JpegLayout(
        pieces, marker, precision, width, height, ids, jfif, adobe_transform, scan_bytes, short_scan, sampling
    )


# --------------------------------------------------------------------------- EXIF evidence

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_ORIENTATION = 0x0112
_DATETIME_ORIGINAL = 0x9003
_OFFSET_TIME_ORIGINAL = 0x9011
_SUBSEC_TIME_ORIGINAL = 0x9291
_EXIF_DATETIME = re.compile(r"(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    return value.strip("\x00 \t\r\n") or None


def _capture_time(exif_ifd: Any) -> datetime | None:
    raw = _text(exif_ifd.get(_DATETIME_ORIGINAL))
    if raw is None:
        return None
    match = _EXIF_DATETIME.match(raw)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        local = datetime(year, month, day, hour, minute, second)
    except ValueError:  # "0000:00:00 00:00:00" and other placeholders
        return None
    subsec = _text(exif_ifd.get(_SUBSEC_TIME_ORIGINAL))
    if subsec and subsec.isdigit():
        local = local.replace(microsecond=int(subsec[:6].ljust(6, "0")))
    tz: Any = LOCAL_TZ
    offset = _text(exif_ifd.get(_OFFSET_TIME_ORIGINAL))
    offset_match = _EXIF_OFFSET.fullmatch(offset) if offset else None
    if offset_match is not None:
        sign, hours, minutes = offset_match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        if delta < timedelta(hours=24):
            tz = timezone(-delta if sign == "-" else delta)
    return local.replace(tzinfo=tz).astimezone(UTC)


def _degrees(value: Any) -> float | None:
    try:
        parts = [float(part) for part in (value if isinstance(value, tuple | list) else (value,))]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not 1 <= len(parts) <= 3 or not all(math.isfinite(part) and part >= 0 for part in parts):
        return None
    return sum(part / 60**i for i, part in enumerate(parts))


def _gps(gps_ifd: Any) -> tuple[float | None, float | None]:
    if not gps_ifd or _text(gps_ifd.get(9)) == "V":  # GPSStatus "V": measurement void
        return None, None
    lat = _degrees(gps_ifd.get(2))
    lng = _degrees(gps_ifd.get(4))
    if lat is None or lng is None:
        return None, None
    if (_text(gps_ifd.get(1)) or "N").upper().startswith("S"):
        lat = -lat
    if (_text(gps_ifd.get(3)) or "E").upper().startswith("W"):
        lng = -lng
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or (lat == 0 and lng == 0):
        return None, None
    return round(lat, 7), round(lng, 7)


@dataclass(frozen=True)
class _Evidence:
    orientation: int
    captured_at: datetime | None
    gps_lat: float | None
    gps_lng: float | None


def _read_evidence(img: Image.Image) -> _Evidence:
    """Read orientation, capture time and position; broken EXIF never rejects a photo."""
    try:
        exif = img.getexif()
    except Exception:
        logger.debug("unreadable EXIF", exc_info=True)
        return _Evidence(1, None, None, None)
    orientation = exif.get(_ORIENTATION)
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = 1
    captured_at = None
    lat = lng = None
    try:
        captured_at = _capture_time(exif.get_ifd(_EXIF_IFD))
    except Exception:
        logger.debug("unreadable EXIF capture time", exc_info=True)
    try:
        lat, lng = _gps(exif.get_ifd(_GPS_IFD))
    except Exception:
        logger.debug("unreadable EXIF GPS", exc_info=True)
    return _Evidence(orientation, captured_at, lat, lng)


# --------------------------------------------------------------------------- helpers


def _fit(width: int, height: int, side: int) -> tuple[int, int]:
    """Aspect-correct size whose long side is at most ``side``."""
    long = max(width, height)
    if long <= side:
        return width, height
    scale = side / long
    return max(1, round(width * scale)), max(1, round(height * scale))


def _encode_jpeg(img: Image.Image, quality: int, *, optimize: bool = False) -> bytes:
    img.info.clear()  # Pillow copies a "comment" from img.info into the output otherwise
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, optimize=optimize)
    return out.getvalue()


def _thumbnail(img: Image.Image, thumb_side: int, quality: int = THUMB_QUALITY) -> bytes:
    """Shrink ``img`` in place to the thumbnail size and encode it."""
    # Bilinear after a box reduction (reducing_gap) is indistinguishable at 320 px and about half the
    # work of bicubic; Huffman optimisation would save ~5% of a 20 kB file for a second pass. Every
    # photo pays for its thumbnail, so both are left out.
    img.thumbnail((thumb_side, thumb_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    return _encode_jpeg(img, quality)


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB/CMYK -> sRGB through the embedded ICC profile when there is a usable one."""
    if not icc or img.mode not in ("RGB", "CMYK"):
        return img
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if img.mode == "RGB" and "srgb" in (ImageCms.getProfileDescription(profile) or "").lower():
            return img
        converted = ImageCms.profileToProfile(img, profile, _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        logger.debug("ignoring unusable ICC profile", exc_info=True)
        return img
    return converted if converted is not None else img


def _flatten_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB; transparency is composited over white."""
    if img.mode == "RGB" and "transparency" not in img.info:
        return img
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):  # 16-bit greyscale PNG
        img = img.point(lambda value: value / 257, "F")
    if img.mode == "F":
        img = img.convert("L")
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        "transparency" in img.info and img.mode in ("P", "L", "RGB", "1")
    )
    if not has_alpha:
        return img.convert("RGB")
    rgba = img.convert("RGBA")
    flat = Image.new("RGB", rgba.size, (255, 255, 255))
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


# --------------------------------------------------------------------------- pipeline


def process_image(
    data: bytes,
    *,
    max_pixels: int = 50_000_000,
    long_side: int = 2048,
    thumb_side: int = 320,
    draft_tolerance: float = 0.0,
    max_decoded_bytes: int | None = None,
    thumbnail: bytes | None = None,
) -> ProcessedImage:
    """Validate an uploaded photo and produce the stored JPEG and its thumbnail.

    ``thumbnail`` is the phone's own thumbnail of the photo, if it sent one: used instead of a decode
    when the photo takes the lossless path and the thumbnail fits it, ignored otherwise (never a reason
    to refuse the photo).

    ``max_decoded_bytes`` bounds the memory of the decoded pixels (at the scale they are decoded at,
    so a large JPEG decoded at a reduced DCT scale counts at that scale): a small PNG that declares
    7000x7000 RGBA is refused with 413 before it is decoded, not after taking 200 MB.

    Raises ImageRejected: 415 unsupported_media_type (not a supported image),
    413 image_too_large (over ``max_pixels``, decided from the header before decoding) or
    422 invalid_image (truncated or corrupt).

    ``draft_tolerance`` (0 <= t < 0.5) lets a large JPEG be decoded at a 1/2, 1/4 or 1/8
    DCT scale whose long side is up to that fraction *below* ``long_side``, skipping the
    resize entirely (a 4000x3000 photo is then stored at 2000x1500 with t >= 0.024, about
    three times faster). The default 0 keeps the stored long side exactly
    ``min(original, long_side)``.
    """
    if max_pixels < 1 or long_side < 1 or thumb_side < 1 or not 0 <= draft_tolerance < 0.5:
        raise ValueError("max_pixels, long_side and thumb_side must be positive; 0 <= draft_tolerance < 0.5")
    fmt = sniff_format(bytes(data[:32]))
    if fmt is None:
        raise _unsupported("not a JPEG, PNG, WebP or HEIC image")
    with warnings.catch_warnings():
        # Pillow's own bomb check: make its warning an error too. (Our pixel limit below is
        # checked first whenever max_pixels <= Image.MAX_IMAGE_PIXELS.)
        # NB: warnings filters are process-global, so this block is not strictly thread-safe
        # before Python 3.14; the explicit pixel check below does not rely on it.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")  # "Corrupt EXIF data"
        try:
            return _process(
                bytes(data),
                fmt,
                max_pixels,
                long_side,
                thumb_side,
                draft_tolerance,
                max_decoded_bytes,
                thumbnail,
            )
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _too_large(f"image has too many pixels (limit {max_pixels})") from exc
        except MemoryError:
            raise
        except Exception as exc:  # decoders raise a zoo of types on hostile input
            logger.debug("image decode failed", exc_info=True)
            raise _invalid(f"the {fmt} image is truncated or corrupt") from exc


def _process(
    data: bytes,
    fmt: str,
    max_pixels: int,
    long_side: int,
    thumb_side: int,
    draft_tolerance: float,
    max_decoded_bytes: int | None,
    phone_thumbnail: bytes | None = None,
) -> ProcessedImage:
    img = Image.open(io.BytesIO(data), formats=_PIL_FORMATS[fmt])  # header only, no pixels
    width, height = img.size
    if width < 1 or height < 1:
        raise _invalid("image has no pixels")
    if width * height > max_pixels:
        raise _too_large(f"{width}x{height} is {width * height} pixels, over the limit of {max_pixels}")

    layout: _JpegLayout | None = None
    if fmt == "jpeg":
        try:
            layout = _parse_jpeg(data)
        except _JpegTruncated as exc:
            raise _invalid(f"the jpeg image is truncated ({exc})") from exc
        except _JpegUnusual:
            logger.debug("unusual JPEG structure, re-encoding", exc_info=True)
        if layout is not None and layout.short_scan:
            raise _invalid(
                f"the jpeg image is truncated: {layout.scan_bytes} bytes of image data cannot hold "
                f"{layout.width}x{layout.height} pixels"
            )

    evidence = _read_evidence(img) if fmt != "png" else None  # PNG EXIF may need a decode
    if (
        layout is not None
        and evidence is not None
        and evidence.orientation == 1
        and layout.sof_marker in _LOSSLESS_SOF
        and layout.precision == 8
        and (layout.width, layout.height) == (width, height)
        and img.mode in ("RGB", "L")
        and layout.is_ycbcr_or_grey()
        and max(width, height) <= long_side
    ):
        stripped = layout.stripped()
        kept = _kept_phone_thumbnail(phone_thumbnail, layout, img.mode, thumb_side)
        if kept is not None:
            return ProcessedImage(
                stripped, kept, width, height, fmt, True, *_evidence_fields(evidence), phone_thumbnail=True
            )
        fast = _fast_path(stripped, width, height, thumb_side)
        if fast is not None:
            image, thumbnail = fast
            return ProcessedImage(image, thumbnail, width, height, fmt, True, *_evidence_fields(evidence))

    if fmt == "jpeg":
        _draft(img, long_side, draft_tolerance)
    decoded = img.width * img.height * _bytes_per_pixel(img.mode)
    if max_decoded_bytes is not None and decoded > max_decoded_bytes:
        raise _too_large(
            f"{width}x{height} {img.mode} decodes to {decoded // 2**20} MB, over the limit of "
            f"{max_decoded_bytes // 2**20} MB"
        )
    try:
        return _decode_and_encode(img, fmt, evidence, long_side, thumb_side)
    finally:
        if decoded >= _TRIM_AFTER_BYTES:
            img.close()  # frees the decoded pixels now, so the trim can hand them back
            _release_memory()


def _decode_and_encode(
    img: Image.Image, fmt: str, evidence: _Evidence | None, long_side: int, thumb_side: int
) -> ProcessedImage:
    img.load()
    if evidence is None:
        evidence = _read_evidence(img)
    icc = img.info.get("icc_profile")
    ImageOps.exif_transpose(img, in_place=True)

    out: Image.Image = img
    if out.mode != "CMYK":
        out = _flatten_rgb(out)
    target = _fit(out.width, out.height, long_side)
    if target != out.size:
        out = out.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)
    out = _to_srgb(out, icc if isinstance(icc, bytes) else None)
    if out.mode != "RGB":
        out = out.convert("RGB")
    image = _encode_jpeg(out, MAIN_QUALITY)
    out_width, out_height = out.size
    thumbnail = _thumbnail(out, thumb_side)
    return ProcessedImage(image, thumbnail, out_width, out_height, fmt, False, *_evidence_fields(evidence))


def _bytes_per_pixel(mode: str) -> int:
    """What Pillow holds in memory per pixel (RGB is stored in four bytes, like RGBA)."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


# After a decode this large, hand the freed pages back to the system: glibc keeps freed memory of
# worker threads in their arenas, so one big photo would otherwise leave the process that much larger.
_TRIM_AFTER_BYTES = 16 * 2**20


def _load_malloc_trim() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


_malloc_trim = _load_malloc_trim()


def _release_memory() -> None:
    if _malloc_trim is not None:
        _malloc_trim(0)


def _evidence_fields(evidence: _Evidence) -> tuple[datetime | None, float | None, float | None]:
    return evidence.captured_at, evidence.gps_lat, evidence.gps_lng


def _draft(img: Image.Image, long_side: int, tolerance: float) -> None:
    """Have libjpeg decode a large JPEG at the strongest 1/8, 1/4 or 1/2 DCT scaling whose
    output long side is still at least ``long_side * (1 - tolerance)``."""
    width, height = img.size
    needed = long_side * (1 - tolerance)
    for scale in (8, 4, 2):
        if max(-(-width // scale), -(-height // scale)) >= needed:  # libjpeg rounds up
            img.draft(img.mode, (max(1, width // scale), max(1, height // scale)))
            return


def _fast_path(stripped: bytes, width: int, height: int, thumb_side: int) -> tuple[bytes, bytes] | None:
    """Check that the stripped JPEG decodes and build its thumbnail from a DCT-scaled decode.

    Returns None when the stripped stream does not decode like the original (the caller
    then re-encodes from the upload).
    """
    try:
        check = Image.open(io.BytesIO(stripped), formats=["JPEG"])
        if check.size != (width, height) or check.mode not in ("RGB", "L"):
            return None
        check.draft(check.mode, _fit(width, height, thumb_side))
        check.load()  # full entropy decode at 1/8..1/1 scale: this is the verification
    except (OSError, SyntaxError, ValueError, EOFError):
        logger.debug("stripped JPEG failed to decode, re-encoding", exc_info=True)
        return None
    return stripped, _thumbnail(check, thumb_side)


# The long side of a photo on a printed notice: four to a row of an A4 page's width is about 45 mm each,
# which 640 px prints at about 360 dpi.
PRINT_SIDE = 640


def print_image(stored: bytes, side: int = PRINT_SIDE) -> bytes:
    """A stored photo as a notice prints it: decoded at the DCT scale nearest above ``side`` and shrunk to
    it. Blocking: run in a worker thread."""
    img = Image.open(io.BytesIO(stored), formats=["JPEG"])
    img.draft("RGB", (side, side))
    return _thumbnail(img if img.mode == "RGB" else img.convert("RGB"), side, MAIN_QUALITY)


# A phone's thumbnail is a few tens of kilobytes; anything far larger is not one.
PHONE_THUMBNAIL_MAX_BYTES = 256 * 1024
# Entropy-coded bytes of each scan given to libjpeg by _starts_decoding.
_HEAD_SCAN_BYTES = 4096


def _kept_phone_thumbnail(
    thumbnail: bytes | None, photo: _JpegLayout, mode: str, thumb_side: int
) -> bytes | None:
    """The phone's thumbnail when it may stand for one made here, else None (the caller decodes)."""
    if thumbnail is None or not _dc_stays_in_range(photo):
        return None
    try:
        return _phone_thumbnail(thumbnail, photo, mode, thumb_side) if _starts_decoding(photo, mode) else None
    except Exception:  # a shortcut must never be the reason a photo is refused: the decode decides
        logger.warning("checking a phone thumbnail failed; decoding the photo instead", exc_info=True)
        return None


def _phone_thumbnail(thumbnail: bytes, photo: _JpegLayout, mode: str, thumb_side: int) -> bytes | None:
    """The phone's thumbnail, stripped of its metadata, when it can stand for the photo's; else None.

    The phone draws it from the same canvas as the photo, so it costs the phone a few milliseconds and
    spares the server the photo's entropy decode. It is taken only when it is what the server would
    have made: a complete JPEG of the photo's size scaled to the thumbnail size (the long side exact, the
    short one rounded either way), upright, of the photo's colour mode, that decodes and is not one flat
    colour (a blank canvas, which a phone short of memory can hand over). What it shows is the phone's
    word, as the photo itself is: it stands for the photo in lists, where the photo is a tap away, and
    never on paper (notices print the photo). Comparing it with the photo would take the decode it spares;
    a check of the top edges alone refused real thumbnails of busy scenes, and was dropped. A thumbnail
    that fails any check is ignored and the server makes its own: an odd phone costs CPU, never a refused
    photo.
    """
    if len(thumbnail) > PHONE_THUMBNAIL_MAX_BYTES or sniff_format(thumbnail[:32]) != "jpeg":
        return None
    try:
        layout = _parse_jpeg(thumbnail)
    except (_JpegTruncated, _JpegUnusual):
        return None
    if (
        layout.short_scan
        or layout.sof_marker not in _LOSSLESS_SOF
        or layout.precision != 8
        or not layout.is_ycbcr_or_grey()
        or (layout.width, layout.height) not in _thumbnail_sizes(photo.width, photo.height, thumb_side)
    ):
        return None
    kept = layout.stripped()
    try:
        # The orientation is read from the thumbnail as sent: stripped, a turned one would show unturned.
        if _read_evidence(Image.open(io.BytesIO(thumbnail), formats=["JPEG"])).orientation != 1:
            return None
        img = Image.open(io.BytesIO(kept), formats=["JPEG"])
        if img.size != (layout.width, layout.height) or img.mode != mode:
            return None
        # Every block is entropy-decoded (the proof that it decodes); at half scale the rest costs less.
        img.draft(img.mode, (max(1, layout.width // 2), max(1, layout.height // 2)))
        img.load()
    except (OSError, SyntaxError, ValueError, EOFError):
        logger.debug("phone thumbnail does not decode; making one", exc_info=True)
        return None
    if all(high - low <= _FLAT for low, high in _band_extrema(img)):
        return None
    return kept


def _thumbnail_sizes(width: int, height: int, side: int) -> set[tuple[int, int]]:
    """The sizes a thumbnail of a width x height photo may have: the photo's own when it is no larger,
    else the long side exactly ``side`` and the short side rounded down or up."""
    if max(width, height) <= side:
        return {(width, height)}
    if width >= height:
        short = height * side / width
        return {(side, max(1, math.floor(short))), (side, max(1, math.ceil(short)))}
    short = width * side / height
    return {(max(1, math.floor(short)), side), (max(1, math.ceil(short)), side)}


def _band_extrema(img: Image.Image) -> list[tuple[Any, Any]]:
    extrema: Any = img.getextrema()
    return [extrema] if img.mode == "L" else list(extrema)


# A blank canvas (a phone out of memory can hand one over) spans at most a level or two of each band.
_FLAT = 2
_INT_MAX = 2**31 - 1
# libjpeg refuses a DC Huffman table with a symbol over 15, so a coded DC difference is at most this.
_MAX_DC_DIFFERENCE = 2**15 - 1


def _dc_stays_in_range(photo: _JpegLayout) -> bool:
    """Whether no scan can run its DC value out of libjpeg's int range.

    libjpeg's progressive decoder stops with an error when it does (its sequential one wraps around and
    decodes on), and only a decode of the whole scan would see it: a frame with few enough blocks per
    component cannot get there, whatever its data. Up to 2048 px with sampling factors of 1, 2 or 4,
    every phone photo is such a frame.
    """
    if not photo.sampling:
        return False
    h_max = max(h for h, _ in photo.sampling) or 1
    v_max = max(v for _, v in photo.sampling) or 1
    mcus = _ceil_div(photo.width, 8 * h_max) * _ceil_div(photo.height, 8 * v_max)
    return all(mcus * h * v * _MAX_DC_DIFFERENCE <= _INT_MAX for h, v in photo.sampling)


def _starts_decoding(photo: _JpegLayout, mode: str) -> bool:
    """libjpeg accepts the photo's frame, every table and every scan header, and decodes the start
    of each scan.

    This is the photo's check when the phone's thumbnail spares its decode. Together with the walk of
    its segments (every marker in place, EOI present, each scan long enough to code every block) and the
    bound on its DC values (_dc_stays_in_range) it refuses what a full decode refuses: libjpeg treats
    bad data inside a scan as a warning and decodes on, so a full decode proves no more about the scans'
    contents than their headers and starts. The frame is cut to one row of blocks and each scan to its
    first few kilobytes, at 1/8 scale, so this costs a fraction of a millisecond whatever the photo's size.
    """
    head: list[bytes | memoryview] = [_SOI]
    for piece in photo.pieces:
        marker = piece[1]
        if marker in _LOSSLESS_SOF:
            frame = bytearray(piece)
            count = frame[9]
            v_max = max((frame[11 + 3 * i] & 0x0F for i in range(count)), default=1) or 1
            frame[5:7] = min(photo.height, 8 * v_max).to_bytes(2, "big")
            head.append(bytes(frame))
        elif marker == 0xDA:
            length = int.from_bytes(piece[2:4], "big")
            head.append(piece[: 2 + length + _HEAD_SCAN_BYTES])
        else:
            head.append(piece)
    head.append(_EOI)
    try:
        img = Image.open(io.BytesIO(b"".join(head)), formats=["JPEG"])
        if img.mode != mode:
            return False
        img.draft(mode, (max(1, photo.width // 8), 1))
        img.load()
    except (OSError, SyntaxError, ValueError, EOFError):
        logger.debug("photo's start does not decode", exc_info=True)
        return False
    return True
