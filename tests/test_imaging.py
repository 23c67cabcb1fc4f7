"""Photo pipeline tests. Every image is generated here with Pillow."""

from __future__ import annotations

import io
import random
import struct
import time
import tracemalloc
import zipfile
import zlib
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image, ImageCms, ImageDraw, ImageFile

from api.services.imaging import ImageRejected, ProcessedImage, process_image, sniff_format

# --------------------------------------------------------------------------- helpers


def photo(width: int, height: int) -> Image.Image:
    """Photographic-ish content: smooth gradients, fine noise and a few hard edges."""
    gradient = Image.linear_gradient("L").resize((width, height))
    radial = Image.radial_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 24)
    red = Image.blend(gradient, noise, 0.25)
    green = Image.blend(radial, noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 0.2)
    blue = Image.blend(gradient.transpose(Image.Transpose.ROTATE_180), radial, 0.5)
    img = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(img)
    draw.rectangle((width // 8, height // 8, width // 3, height // 3), fill=(200, 40, 30))
    draw.ellipse((width // 2, height // 2, width * 7 // 8, height * 7 // 8), fill=(30, 60, 200))
    return img


def encode(img: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def make_exif(
    *,
    orientation: int | None = None,
    taken: str | None = None,
    offset: str | None = None,
    lat: tuple[str, tuple[float, float, float]] | None = None,
    lng: tuple[str, tuple[float, float, float]] | None = None,
) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SafeGridPhone"  # Make
    if orientation is not None:
        exif[0x0112] = orientation
    if taken is not None or offset is not None:
        exif_ifd = exif.get_ifd(0x8769)
        if taken is not None:
            exif_ifd[0x9003] = taken  # DateTimeOriginal
        if offset is not None:
            exif_ifd[0x9011] = offset  # OffsetTimeOriginal
    if lat is not None and lng is not None:
        gps = exif.get_ifd(0x8825)
        gps[1], gps[2] = lat
        gps[3], gps[4] = lng
    return exif.tobytes()


SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
IPTC_APP13 = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0c\x1c\x02\x05\x00\x07Hazard!"


def insert_segment(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    """Insert a marker segment right after SOI."""
    return jpeg[:2] + bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def header_markers(jpeg: bytes) -> list[int]:
    """Markers of every segment in the stream, entropy-coded data skipped (test-only parser)."""
    assert jpeg[:2] == b"\xff\xd8"
    markers, pos = [], 2
    while pos < len(jpeg):
        assert jpeg[pos] == 0xFF, f"no marker at {pos}"
        marker = jpeg[pos + 1]
        if marker == 0xD9:
            markers.append(marker)
            assert pos + 2 == len(jpeg), "bytes after EOI"
            break
        length = struct.unpack(">H", jpeg[pos + 2 : pos + 4])[0]
        markers.append(marker)
        pos += 2 + length
        if marker == 0xDA:  # skip entropy-coded data
            while not (jpeg[pos] == 0xFF and jpeg[pos + 1] not in (0x00, *range(0xD0, 0xD8))):
                pos += 1
    return markers


def assert_clean_jpeg(data: bytes) -> Image.Image:
    markers = header_markers(data)
    forbidden = {m for m in markers if 0xE1 <= m <= 0xEF or m == 0xFE}
    assert not forbidden, f"metadata markers left: {[hex(m) for m in forbidden]}"
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG"
    for key in ("exif", "icc_profile", "xmp", "comment", "photoshop", "adobe"):
        assert key not in img.info, key
    img.load()
    return img


def pixels_equal(a: bytes, b: bytes) -> bool:
    left, right = Image.open(io.BytesIO(a)), Image.open(io.BytesIO(b))
    return left.size == right.size and left.mode == right.mode and left.tobytes() == right.tobytes()


def rejected(data: bytes, **kwargs: int) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        process_image(data, **kwargs)
    return info.value


def png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height, followed by a tiny (incomplete) IDAT."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def load_spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Records every pixel decode (ImageFile.load) with the image size."""
    calls: list[tuple[int, int]] = []
    original = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile) -> Any:
        if self.tile:
            calls.append(self.size)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return calls


GPS_LAT = ("N", (30.0, 34.0, 22.08))  # 30.5728
GPS_LNG = ("E", (104.0, 3.0, 59.4))  # 104.0665


@pytest.fixture(scope="module")
def phone_jpeg() -> bytes:
    """1600x1200 baseline JPEG as a phone sends it, loaded with every kind of metadata."""
    exif = make_exif(orientation=1, taken="2024:05:01 10:30:00", lat=GPS_LAT, lng=GPS_LNG)
    data = encode(
        photo(1600, 1200), quality=80, exif=exif, icc_profile=SRGB_ICC, xmp=XMP, comment=b"inspector note"
    )
    return insert_segment(data, 0xED, IPTC_APP13)


# --------------------------------------------------------------------------- sniffing


def test_sniff_format_by_magic_bytes() -> None:
    img = Image.new("RGB", (8, 8), "red")
    assert sniff_format(encode(img)) == "jpeg"
    assert sniff_format(encode(img, "PNG")) == "png"
    assert sniff_format(encode(img, "WEBP")) == "webp"
    assert sniff_format(encode(img, "HEIF")) == "heic"
    for brand in (b"heic", b"heix", b"hevc", b"mif1", b"msf1"):
        assert sniff_format(b"\x00\x00\x00\x18ftyp" + brand + b"\x00\x00\x00\x00mif1heic") == "heic"
    assert sniff_format(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf") is None
    assert sniff_format(b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avifmiaf") is None
    assert sniff_format(b"GIF89a" + b"\x00" * 20) is None
    assert sniff_format(b"") is None


# --------------------------------------------------------------------------- rejections


def _zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("photo.jpg", b"not really")
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"hello, this is a text file\n",
        b"",
        _zip_bytes(),
        encode(Image.new("RGB", (8, 8)), "GIF"),
        b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 64,
    ],
    ids=["text", "empty", "zip", "gif", "avif"],
)
def test_not_an_image_is_415(data: bytes) -> None:
    error = rejected(data)
    assert (error.status, error.code) == (415, "unsupported_media_type")


@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("keep", [0.1, 0.6, 0.95, -2])
def test_truncated_jpeg_is_422(progressive: bool, keep: float) -> None:
    data = encode(photo(640, 480), quality=85, progressive=progressive)
    cut = data[:keep] if isinstance(keep, int) else data[: int(len(data) * keep)]
    error = rejected(cut)
    assert (error.status, error.code) == (422, "invalid_image")


@pytest.mark.parametrize("cut_at", ["middle", "before-eoi", "between-scans"])
def test_truncated_jpeg_is_422_even_if_pillow_would_pad_it(
    monkeypatch: pytest.MonkeyPatch, cut_at: str
) -> None:
    """The JPEG structure check does not depend on Pillow's LOAD_TRUNCATED_IMAGES."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = encode(photo(640, 480), quality=85, progressive=True)
    if cut_at == "middle":
        cut = data[: len(data) // 2]
    elif cut_at == "before-eoi":
        cut = data[:-2]
    else:  # right after a complete DHT segment that precedes the last scan
        last_sos = data.rindex(b"\xff\xda")
        assert data.rindex(b"\xff\xc4", 0, last_sos) > last_sos - 100
        cut = data[:last_sos]
    Image.open(io.BytesIO(cut)).load()  # Pillow alone would accept it
    error = rejected(cut)
    assert (error.status, error.code) == (422, "invalid_image")


def test_corrupt_images_are_422() -> None:
    png = encode(photo(64, 64), "PNG")
    idat = png.index(b"IDAT")
    broken_png = png[: idat + 10] + bytes(b ^ 0x5A for b in png[idat + 10 : idat + 40]) + png[idat + 40 :]
    for data in (
        b"\xff\xd8\xff" + b"\x13" * 500,
        png[: len(png) // 2],
        broken_png,
        b"RIFF\x00\x00\x00\x00WEBPjunk",
    ):
        error = rejected(data)
        assert (error.status, error.code) == (422, "invalid_image")


def test_load_truncated_images_stays_off() -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize(
    "size",
    [(20000, 20000), (12000, 10000), (9000, 6000)],
    ids=["pillow-error", "pillow-warning", "own-limit"],
)
def test_decompression_bomb_is_413_without_decoding(load_spy: list, size: tuple[int, int]) -> None:
    data = png_header(*size)
    assert len(data) < 200
    tracemalloc.start()
    started = time.perf_counter()
    try:
        error = rejected(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (error.status, error.code) == (413, "image_too_large")
    assert load_spy == []
    assert time.perf_counter() - started < 0.5
    assert peak < 2_000_000


def test_tiny_bilevel_png_with_huge_dimensions_is_413(load_spy: list) -> None:
    bomb = encode(Image.new("1", (9000, 6000)), "PNG")  # 54 megapixels in a few kB
    assert len(bomb) < 100_000
    load_spy.clear()
    started = time.perf_counter()
    error = rejected(bomb)
    assert (error.status, error.code) == (413, "image_too_large")
    assert load_spy == []
    assert time.perf_counter() - started < 0.5


def test_jpeg_header_claiming_huge_size_is_413(load_spy: list) -> None:
    data = bytearray(encode(photo(64, 48)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 30000, 30000)  # height, width
    error = rejected(bytes(data))
    assert (error.status, error.code) == (413, "image_too_large")
    assert load_spy == []


def test_configured_pixel_limit_is_413(load_spy: list) -> None:
    data = encode(photo(1000, 800))
    error = rejected(data, max_pixels=799_999)
    assert (error.status, error.code) == (413, "image_too_large")
    assert load_spy == []
    assert process_image(data, max_pixels=800_000).width == 1000


# --------------------------------------------------------------------------- fast path


def test_fast_path_strips_all_metadata_and_keeps_pixels(phone_jpeg: bytes) -> None:
    assert {0xE1, 0xE2, 0xED, 0xFE} <= set(header_markers(phone_jpeg))  # the input is loaded
    result = process_image(phone_jpeg)
    assert isinstance(result, ProcessedImage)
    assert result.fast_path is True
    assert result.source_format == "jpeg"
    assert (result.width, result.height) == (1600, 1200)
    stored = assert_clean_jpeg(result.image)
    assert stored.size == (1600, 1200)
    assert pixels_equal(result.image, phone_jpeg)
    assert len(result.image) < len(phone_jpeg)


def test_fast_path_extracts_evidence(phone_jpeg: bytes) -> None:
    result = process_image(phone_jpeg)
    # No OffsetTimeOriginal: the photo was taken in Asia/Shanghai (UTC+8).
    assert result.captured_at == datetime(2024, 5, 1, 2, 30, tzinfo=UTC)
    assert result.captured_at is not None and result.captured_at.utcoffset() is not None
    assert result.gps_lat == pytest.approx(30 + 34 / 60 + 22.08 / 3600, abs=1e-6)
    assert result.gps_lng == pytest.approx(104 + 3 / 60 + 59.4 / 3600, abs=1e-6)


def test_fast_path_thumbnail(phone_jpeg: bytes) -> None:
    result = process_image(phone_jpeg)
    thumb = assert_clean_jpeg(result.thumbnail)
    assert thumb.size == (320, 240)
    assert thumb.mode == "RGB"


def test_fast_path_progressive_jpeg() -> None:
    exif = make_exif(
        taken="2023:12:31 23:59:59", offset="-05:00", lat=("S", (33, 52, 4)), lng=("W", (70, 40, 0))
    )
    data = encode(photo(1200, 1600), quality=75, progressive=True, exif=exif, icc_profile=SRGB_ICC)
    assert data.count(b"\xff\xda") > 1  # several scans
    result = process_image(data)
    assert result.fast_path is True
    assert_clean_jpeg(result.image)
    assert pixels_equal(result.image, data)
    assert (result.width, result.height) == (1200, 1600)
    assert Image.open(io.BytesIO(result.thumbnail)).size == (240, 320)
    assert result.captured_at == datetime(2024, 1, 1, 4, 59, 59, tzinfo=UTC)
    assert result.gps_lat == pytest.approx(-(33 + 52 / 60 + 4 / 3600))
    assert result.gps_lng == pytest.approx(-(70 + 40 / 60))


def test_fast_path_with_restart_markers_and_greyscale() -> None:
    data = encode(photo(800, 600), quality=90, restart_marker_blocks=3, exif=make_exif())
    assert any(bytes([0xFF, m]) in data for m in range(0xD0, 0xD8))
    result = process_image(data)
    assert result.fast_path and pixels_equal(result.image, data)
    grey = encode(photo(640, 480).convert("L"), comment=b"grey")
    result = process_image(grey)
    assert result.fast_path and pixels_equal(result.image, grey)
    assert_clean_jpeg(result.image)


def test_trailing_garbage_after_eoi_is_dropped() -> None:
    base = encode(photo(640, 480), exif=make_exif())
    second_image = encode(Image.new("RGB", (32, 32), "green"))  # like an MPO's second frame
    data = base + b"TRAILING-GARBAGE" * 64 + second_image
    result = process_image(data)
    assert result.fast_path
    assert result.image.endswith(b"\xff\xd9")
    assert b"TRAILING-GARBAGE" not in result.image
    assert len(result.image) < len(base)
    assert_clean_jpeg(result.image)  # also checks that nothing follows EOI
    assert pixels_equal(result.image, base)


def test_mpo_keeps_only_the_first_image() -> None:
    first, second = photo(1600, 1200), Image.new("RGB", (1600, 1200), "green")
    data = encode(first, "MPO", save_all=True, append_images=[second], exif=make_exif(orientation=1))
    assert Image.open(io.BytesIO(data)).format == "MPO"
    result = process_image(data)
    assert result.fast_path
    assert_clean_jpeg(result.image)  # MPF APP2 gone, nothing after the first EOI
    stored = Image.open(io.BytesIO(result.image))
    assert stored.tobytes() == Image.open(io.BytesIO(data)).tobytes()  # frame 0, bit for bit
    assert stored.getpixel((800, 10)) != (0, 128, 0)


def test_broken_exif_does_not_reject_the_photo() -> None:
    data = insert_segment(encode(photo(320, 200)), 0xE1, b"Exif\x00\x00MM\x00\x2a\xff\xff\xff\xf0garbage")
    result = process_image(data)
    assert result.fast_path
    assert (result.captured_at, result.gps_lat, result.gps_lng) == (None, None, None)
    assert_clean_jpeg(result.image)


def test_no_exif_gives_no_evidence() -> None:
    result = process_image(encode(photo(320, 200)))
    assert result.fast_path
    assert (result.captured_at, result.gps_lat, result.gps_lng) == (None, None, None)


def test_placeholder_exif_values_are_ignored() -> None:
    exif = make_exif(taken="0000:00:00 00:00:00", lat=("N", (0, 0, 0)), lng=("E", (0, 0, 0)))
    result = process_image(encode(photo(320, 200), exif=exif))
    assert (result.captured_at, result.gps_lat, result.gps_lng) == (None, None, None)


# --------------------------------------------------------------------------- the phone's thumbnail


def phone_thumbnail(data: bytes, size: tuple[int, int] = (320, 240), **params: object) -> bytes:
    """What the phone draws from the canvas it encoded the photo from."""
    img = Image.open(io.BytesIO(data)).convert("RGB").resize(size, Image.Resampling.BILINEAR)
    return encode(img, quality=80, **params)


def scan_data(jpeg: bytes) -> bytes:
    """Everything from the first scan on: the coded pixels, whatever headers sit before them."""
    return jpeg[jpeg.index(b"\xff\xda") :]


def test_a_phone_thumbnail_that_fits_spares_the_photos_decode(phone_jpeg: bytes, load_spy: list) -> None:
    sent = phone_thumbnail(phone_jpeg)
    load_spy.clear()
    result = process_image(phone_jpeg, thumbnail=sent)
    # The photo was decoded for one row of blocks at 1/8 scale (libjpeg's check), never whole; every
    # block of the thumbnail was decoded, at half scale.
    assert load_spy == [(200, 2), (160, 120)]
    assert result.fast_path and result.phone_thumbnail
    assert pixels_equal(result.image, phone_jpeg)
    assert_clean_jpeg(result.image)
    assert scan_data(result.thumbnail) == scan_data(sent)
    assert assert_clean_jpeg(result.thumbnail).size == (320, 240)


def test_a_phone_thumbnail_loses_its_metadata() -> None:
    data = encode(photo(1200, 1600), quality=80, progressive=True)
    exif = make_exif(orientation=1, taken="2024:05:01 10:30:00", lat=GPS_LAT, lng=GPS_LNG)
    sent = insert_segment(
        phone_thumbnail(data, (240, 320), exif=exif, icc_profile=SRGB_ICC, comment=b"who"), 0xED, IPTC_APP13
    )
    result = process_image(data, thumbnail=sent + b"TRAILING")
    assert result.phone_thumbnail
    assert assert_clean_jpeg(result.thumbnail).size == (240, 320)
    assert scan_data(result.thumbnail) == scan_data(sent)


def _drawn(img: Image.Image, size: tuple[int, int] = (320, 240)) -> bytes:
    return encode(img.convert("RGB").resize(size, Image.Resampling.BILINEAR), quality=80)


def _unfit_thumbnails(data: bytes) -> dict[str, bytes]:
    fits = phone_thumbnail(data)
    sos = fits.index(b"\xff\xda")
    original = Image.open(io.BytesIO(data))
    return {
        "too small": phone_thumbnail(data, (160, 120)),
        "a pixel too tall": phone_thumbnail(data, (320, 241)),
        "other proportions": phone_thumbnail(data, (320, 320)),
        "blank": _drawn(Image.new("RGB", (8, 8), "white")),
        "grey": encode(original.convert("L").resize((320, 240)), quality=80),
        "turned": phone_thumbnail(data, (240, 320)),
        "turned by its EXIF": phone_thumbnail(data, exif=make_exif(orientation=6)),
        "not a jpeg": encode(Image.open(io.BytesIO(fits)), "PNG"),
        "cut short": fits[: len(fits) * 2 // 3],
        "scan too short for its frame": fits[: sos + 200] + b"\xff\xd9",
        "broken tables": fits[: sos + 6] + b"\x33" + fits[sos + 7 :],
        "too many bytes": fits + b"\x00" * (256 * 1024),
        "empty": b"",
    }


@pytest.mark.parametrize("case", list(_unfit_thumbnails(encode(photo(640, 480)))))
def test_a_phone_thumbnail_that_does_not_fit_is_ignored(phone_jpeg: bytes, case: str) -> None:
    sent = _unfit_thumbnails(phone_jpeg)[case]
    result = process_image(phone_jpeg, thumbnail=sent)
    assert result.fast_path and not result.phone_thumbnail
    assert result.thumbnail == process_image(phone_jpeg).thumbnail  # the server made its own


def test_a_phone_thumbnail_is_ignored_when_the_photo_is_re_encoded() -> None:
    turned = encode(photo(800, 600), quality=80, exif=make_exif(orientation=6))
    large = encode(photo(4000, 3000), quality=80)
    for data, size in ((turned, (240, 320)), (large, (320, 240))):
        result = process_image(data, thumbnail=phone_thumbnail(data, size))
        assert not result.fast_path and not result.phone_thumbnail


def test_the_thumbnail_sizes_that_fit() -> None:
    from api.services.imaging import _thumbnail_sizes

    assert _thumbnail_sizes(1600, 1200, 320) == {(320, 240)}
    assert _thumbnail_sizes(1000, 333, 320) == {(320, 106), (320, 107)}
    assert _thumbnail_sizes(333, 1000, 320) == {(106, 320), (107, 320)}
    assert _thumbnail_sizes(1600, 1, 320) == {(320, 1)}
    assert _thumbnail_sizes(300, 200, 320) == {(300, 200)}  # never larger than the photo
    assert _thumbnail_sizes(1, 1, 320) == {(1, 1)}


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _dc_overflowing_jpeg(width: int = 2048, height: int = 2048) -> bytes:
    """A progressive JPEG whose luminance (sampled 3x1) codes a DC difference of +32767 in every block:
    over 65,538 blocks libjpeg's running DC value leaves the int range, which it refuses with an error,
    and only far into the scan."""
    bits: list[int] = []

    def put(value: int, count: int) -> None:
        bits.extend((value >> i) & 1 for i in range(count - 1, -1, -1))

    mcus = -(-width // 24) * -(-height // 8)
    for _ in range(mcus):
        for _ in range(3):
            put(0b10, 2)  # the symbol 15
            put(32767, 15)
        put(0, 2)  # the two chroma blocks: difference 0
    bits.extend([1] * (-len(bits) % 8))
    coded = bytearray()
    for i in range(0, len(bits), 8):
        byte = int("".join(map(str, bits[i : i + 8])), 2)
        coded += bytes([byte, 0]) if byte == 0xFF else bytes([byte])
    frame = bytes([8]) + struct.pack(">HH", height, width) + bytes([3, 1, 0x31, 0, 2, 0x11, 0, 3, 0x11, 0])
    return (
        b"\xff\xd8"
        + _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + _segment(0xDB, b"\x00" + bytes([1] * 64))
        + _segment(0xC2, frame)
        + _segment(0xC4, bytes([0x00, 1, 1, *[0] * 14, 0, 15]))
        + _segment(0xDA, bytes([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 0, 0x00]))
        + bytes(coded)
        + b"\xff\xd9"
    )


def test_a_dc_value_that_would_overflow_late_in_the_scan_is_refused_with_a_thumbnail_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The one error libjpeg raises deep inside a scan: the shortcut is not taken where it could happen."""
    data = _dc_overflowing_jpeg()
    assert _outcome(data, None) == "invalid_image"
    # Even a thumbnail that every check of its own would take does not let the photo through.
    monkeypatch.setattr("api.services.imaging._phone_thumbnail", lambda thumbnail, *args: thumbnail)
    assert _outcome(data, encode(Image.new("RGB", (320, 320)))) == "invalid_image"


def test_a_dnl_segment_and_its_payload_are_not_stored() -> None:
    data = encode(photo(640, 480), quality=80)
    sos = data.index(b"\xff\xda")
    carrying = data[:sos] + _segment(0xDC, b"\x01\xe0" + b"HIDDEN" * 100) + data[sos:]
    for result in (process_image(carrying), process_image(carrying, thumbnail=phone_thumbnail(data))):
        assert b"HIDDEN" not in result.image and 0xDC not in header_markers(result.image)
        assert pixels_equal(result.image, data)


def _corrupted(data: bytes, seed: int, count: int = 20) -> bytes:
    rnd = random.Random(seed)
    sos = data.index(b"\xff\xda")
    out = bytearray(data)
    for _ in range(count):
        out[rnd.randrange(sos + 20, len(out) - 10)] = rnd.randrange(256)
    return bytes(out)


def _outcome(data: bytes, thumbnail: bytes | None) -> str:
    try:
        process_image(data, thumbnail=thumbnail)
    except ImageRejected as exc:
        return exc.code
    return "stored"


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_with_a_phone_thumbnail_a_broken_photo_is_refused_as_without(progressive: bool) -> None:
    """Skipping the photo's decode must not let through what the decode refuses: broken tables, a
    truncation, a scan too short for its frame, and random damage to the coded data."""
    data = encode(photo(800, 600), quality=80, progressive=progressive)
    sent = phone_thumbnail(data)
    assert _outcome(data, sent) == "stored"
    sos = data.index(b"\xff\xda")
    broken = {
        "undefined Huffman table": data[: sos + 6] + b"\x33" + data[sos + 7 :],
        "cut short": data[: len(data) // 2],
        "scan too short": data[: sos + 300] + b"\xff\xd9",
        **{f"damaged {seed}": _corrupted(data, seed) for seed in range(60)},
    }
    refused = 0
    for name, photo_bytes in broken.items():
        without = _outcome(photo_bytes, None)
        assert _outcome(photo_bytes, sent) == without, name
        refused += without != "stored"
    assert refused >= 5  # the damage is of the kind a decode notices, not only what it shrugs off


# --------------------------------------------------------------------------- slow path


def red_corner_image(width: int, height: int) -> Image.Image:
    img = Image.new("RGB", (width, height), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, width // 5, height // 5))
    return img


def is_red(pixel: Any) -> bool:
    return bool(pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60)


def is_blue(pixel: Any) -> bool:
    return bool(pixel[0] < 60 and pixel[1] < 60 and pixel[2] > 200)


def is_white(pixel: Any) -> bool:
    return min(pixel) >= 250


def test_rotated_exif_is_applied() -> None:
    data = encode(red_corner_image(400, 200), exif=make_exif(orientation=6, taken="2024:05:01 10:30:00"))
    result = process_image(data)
    assert result.fast_path is False
    assert (result.width, result.height) == (200, 400)
    stored = assert_clean_jpeg(result.image).convert("RGB")
    assert stored.size == (200, 400)
    # Orientation 6: displayed rotated 90° clockwise, so the stored top-left is now top-right.
    assert is_red(stored.getpixel((195, 5)))
    assert is_blue(stored.getpixel((5, 5)))
    assert is_blue(stored.getpixel((195, 395)))
    assert Image.open(io.BytesIO(result.thumbnail)).size == (160, 320)
    assert result.captured_at == datetime(2024, 5, 1, 2, 30, tzinfo=UTC)


def test_12_megapixel_jpeg_is_resized() -> None:
    exif = make_exif(orientation=1, lat=GPS_LAT, lng=GPS_LNG)
    data = encode(photo(4000, 3000), quality=90, exif=exif, icc_profile=SRGB_ICC)
    result = process_image(data)
    assert result.fast_path is False
    assert (result.width, result.height) == (2048, 1536)
    stored = assert_clean_jpeg(result.image)
    assert stored.size == (2048, 1536)
    thumb = assert_clean_jpeg(result.thumbnail)
    assert thumb.size == (320, 240)
    assert result.gps_lat == pytest.approx(30.5728, abs=1e-4)


def test_large_jpeg_is_decoded_at_reduced_scale(load_spy: list) -> None:
    data = encode(photo(4096, 3072), quality=80)
    result = process_image(data)
    assert (result.width, result.height) == (2048, 1536)
    assert load_spy[0] == (2048, 1536)  # libjpeg decoded at 1/2 scale, not 4096x3072


def test_draft_tolerance_trades_size_for_speed(load_spy: list) -> None:
    data = encode(photo(4000, 3000), quality=80)
    result = process_image(data, draft_tolerance=0.05)
    assert (result.width, result.height) == (2000, 1500)
    assert load_spy[0] == (2000, 1500)
    assert_clean_jpeg(result.image)


def test_extreme_aspect_ratio_jpeg() -> None:
    data = encode(Image.linear_gradient("L").resize((9000, 2)).convert("RGB"))
    result = process_image(data)
    assert (result.width, result.height) == (2048, 1)
    assert_clean_jpeg(result.image)


def test_long_side_is_configurable() -> None:
    result = process_image(encode(photo(1600, 1200)), long_side=1024, thumb_side=100)
    assert result.fast_path is False
    assert (result.width, result.height) == (1024, 768)
    assert Image.open(io.BytesIO(result.thumbnail)).size == (100, 75)


def test_cmyk_jpeg_becomes_rgb() -> None:
    cmyk = Image.new("CMYK", (300, 200), (0, 255, 255, 0))  # red ink
    data = encode(cmyk, quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    result = process_image(data)
    assert result.fast_path is False
    stored = assert_clean_jpeg(result.image)
    assert stored.mode == "RGB"
    assert is_red(stored.getpixel((150, 100)))
    assert assert_clean_jpeg(result.thumbnail).mode == "RGB"


def test_rgb_coded_jpeg_keeps_its_colours() -> None:
    """A JPEG stored as RGB (Adobe transform 0) must not be reinterpreted as YCbCr."""
    data = encode(red_corner_image(200, 100), quality=95, keep_rgb=True)
    result = process_image(data)
    assert result.fast_path is False
    stored = assert_clean_jpeg(result.image)
    assert is_red(stored.getpixel((5, 5))) and is_blue(stored.getpixel((150, 80)))


def test_rgb_component_ids_without_markers_keep_their_colours() -> None:
    """No JFIF/Adobe marker and component ids 'R','G','B': libjpeg decodes it as RGB."""
    data = encode(red_corner_image(200, 100), quality=95, keep_rgb=True)
    app14 = data.index(b"\xff\xee")
    length = struct.unpack(">H", data[app14 + 2 : app14 + 4])[0]
    data = data[:app14] + data[app14 + 2 + length :]
    assert b"Adobe" not in data and b"JFIF" not in data
    original = Image.open(io.BytesIO(data)).convert("RGB")
    assert is_red(original.getpixel((5, 5)))  # Pillow reads the crafted file as RGB
    result = process_image(data)
    stored = assert_clean_jpeg(result.image)
    assert is_red(stored.getpixel((5, 5))) and is_blue(stored.getpixel((150, 80)))


def test_png_with_alpha_is_flattened_on_white() -> None:
    img = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    img.paste((0, 0, 255, 255), (0, 0, 100, 100))
    result = process_image(encode(img, "PNG"))
    assert result.source_format == "png"
    assert result.fast_path is False
    stored = assert_clean_jpeg(result.image)
    assert stored.mode == "RGB"
    assert is_blue(stored.getpixel((20, 50)))
    assert is_white(stored.getpixel((180, 50)))  # transparent -> white, not black


def test_palette_png_with_transparency() -> None:
    img = Image.new("P", (64, 64), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.paste(1, (0, 0, 32, 64))
    result = process_image(encode(img, "PNG", transparency=0))
    stored = assert_clean_jpeg(result.image)
    assert is_red(stored.getpixel((10, 30)))
    assert is_white(stored.getpixel((50, 30)))


def test_png_and_webp_metadata_dropped_and_evidence_read() -> None:
    exif = make_exif(taken="2024:02:03 08:00:00", offset="+08:00", lat=GPS_LAT, lng=GPS_LNG)
    for fmt in ("PNG", "WEBP"):
        data = encode(photo(300, 200), fmt, exif=exif, icc_profile=SRGB_ICC)
        result = process_image(data)
        assert result.source_format == fmt.lower()
        assert_clean_jpeg(result.image)
        assert_clean_jpeg(result.thumbnail)
        assert result.captured_at == datetime(2024, 2, 3, 0, 0, tzinfo=UTC)
        assert result.gps_lat == pytest.approx(30.5728, abs=1e-4)


def test_heic_is_accepted() -> None:
    exif = make_exif(taken="2024:05:01 10:30:00", lat=GPS_LAT, lng=GPS_LNG)
    data = encode(red_corner_image(640, 480), "HEIF", quality=90, exif=exif)
    assert sniff_format(data) == "heic"
    result = process_image(data)
    assert result.source_format == "heic"
    assert result.fast_path is False
    stored = assert_clean_jpeg(result.image)
    assert stored.size == (640, 480) == (result.width, result.height)
    assert is_red(stored.getpixel((10, 10))) and is_blue(stored.getpixel((600, 400)))
    assert result.captured_at == datetime(2024, 5, 1, 2, 30, tzinfo=UTC)
    assert result.gps_lng == pytest.approx(104.0665, abs=1e-4)


def test_heic_orientation_is_applied_once() -> None:
    data = encode(red_corner_image(400, 200), "HEIF", quality=90, exif=make_exif(orientation=6))
    result = process_image(data)
    assert (result.width, result.height) == (200, 400)
    stored = assert_clean_jpeg(result.image)
    assert is_red(stored.getpixel((195, 5))) and is_blue(stored.getpixel((5, 5)))


def test_heic_truncated_is_422() -> None:
    data = encode(photo(320, 240), "HEIF")
    error = rejected(data[: len(data) // 2])
    assert (error.status, error.code) == (422, "invalid_image")


def test_fast_path_draft_is_used_for_thumbnail(load_spy: list, phone_jpeg: bytes) -> None:
    process_image(phone_jpeg)
    assert load_spy == [(400, 300)]  # verification decode at 1/4 scale only


# --------------------------------------------------------------------------- hardening


@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize(("held", "declared"), [((320, 240), (7000, 7000)), ((160, 120), (2000, 1500))])
def test_jpeg_declaring_more_pixels_than_its_data_holds_is_422(
    load_spy: list, progressive: bool, held: tuple[int, int], declared: tuple[int, int]
) -> None:
    """320x240 of data under a header saying 7000x7000 (or 160x120 under 2000x1500, which would take the
    lossless strip path) decodes without error, padded with grey blocks; it is refused as truncated
    before any decode."""
    data = bytearray(encode(photo(*held), quality=85, progressive=progressive))
    sof = data.index(b"\xff\xc2" if progressive else b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", declared[1], declared[0])
    padded = Image.open(io.BytesIO(bytes(data)))
    padded.load()  # what Pillow alone would do: no error, grey padding
    assert padded.size == declared
    load_spy.clear()
    error = rejected(bytes(data))
    assert (error.status, error.code) == (422, "invalid_image")
    assert "truncated" in error.detail
    assert load_spy == []


@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("size", [(16, 16), (1600, 1200), (4000, 3000)])
def test_flat_complete_jpegs_are_not_taken_for_truncated(progressive: bool, size: tuple[int, int]) -> None:
    """A flat image codes each block in the fewest bits there are: the bound must still let it through."""
    for mode, colour in (("RGB", (128, 128, 128)), ("L", 0)):
        data = encode(Image.new(mode, size, colour), quality=10, progressive=progressive, subsampling=2)
        assert process_image(data, long_side=4096).width == size[0]


def test_png_that_decodes_large_is_413_before_decoding(load_spy: list) -> None:
    """A few kB of PNG declaring 7000x7000 RGBA (under the pixel limit) would take 196 MB decoded."""
    bomb = encode(Image.new("RGBA", (7000, 7000), (10, 20, 30, 255)), "PNG")
    assert len(bomb) < 300_000
    load_spy.clear()
    started = time.perf_counter()
    error = rejected(bomb, max_decoded_bytes=64 * 2**20)
    assert (error.status, error.code) == (413, "image_too_large")
    assert "decodes to" in error.detail
    assert load_spy == []
    assert time.perf_counter() - started < 0.5


def test_decoded_bytes_count_at_the_jpeg_draft_scale(load_spy: list) -> None:
    """A 12-megapixel JPEG decodes at half scale: 2000x1500, 12 MB, within a 16 MB budget."""
    data = encode(photo(4000, 3000), quality=80)
    out = process_image(data, long_side=2048, draft_tolerance=0.05, max_decoded_bytes=16 * 2**20)
    assert (out.width, out.height) == (2000, 1500)
    error = rejected(encode(photo(4000, 3000), "PNG"), max_decoded_bytes=16 * 2**20)
    assert error.status == 413


def test_memory_is_handed_back_after_a_large_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    from api.services import imaging

    released: list[bool] = []
    monkeypatch.setattr(imaging, "_release_memory", lambda: released.append(True))
    process_image(encode(photo(640, 480), "PNG"))
    assert released == []  # small: nothing to hand back
    big = encode(Image.new("RGB", (2400, 1800), (200, 10, 10)), "PNG")  # 17 MB decoded
    process_image(big, max_decoded_bytes=64 * 2**20)
    assert released == [True]
