"""Screenshot OCR with the real Tesseract (sources/ocr.py) on posts rendered in Chromium by
bench/ocr.py (tests/fixtures/ocr/*.png, with the posts' texts in posts.json), and the checks on
untrusted image bytes (type by content, decompression bombs)."""

from __future__ import annotations

import io
import json
import struct
import zlib

import pytest
from PIL import Image, ImageStat
from rapidfuzz.distance import Levenshtein

from sources.ocr import ImageRefused, check_image, normalise, read_screenshot
from tests.servers import FIXTURES

OCR = FIXTURES / "ocr"
POSTS = {p["id"]: p for p in json.loads((OCR / "posts.json").read_text("utf-8"))["posts"]}
# Emoji are not read by Tesseract: the reference leaves them out (as bench/ocr.py does).
_EMOJI = "\U0001f621\U0001f624\u2b50\U0001f440"


def _reference(text: str) -> str:
    return " ".join("".join(ch for ch in text if ch not in _EMOJI).split())


def _cer(ref: str, got: str) -> float:
    return Levenshtein.distance(ref, " ".join(got.split())) / len(ref)


@pytest.mark.parametrize(
    ("png", "post_id", "chrome"),
    [
        ("fb-02-phone-390-1x-dark.png", "fb-02", ["Noticeboard", "Like Comment Share", "14:02"]),
        ("x-01-desktop-1280-light.png", "x-01", ["@ankermoorwatch"]),
        ("wa-01-phone-390-1x-light.png", "wa-01", ["14:02", "tap here for group info"]),
        ("ig-01-phone-390-1x-dark.png", "ig-01", ["Reply", "See translation", "jess.parker_"]),
    ],
)
def test_rendered_posts_are_read_without_their_app_chrome(
    png: str, post_id: str, chrome: list[str]
) -> None:
    data = (OCR / png).read_bytes()
    result = read_screenshot(data, deadline_s=60)
    ref = _reference(POSTS[post_id]["text"])
    assert _cer(ref, result.post_text) <= 0.08, result.post_text
    for c in chrome:
        assert c not in result.post_text, c
        assert any(c in line for line in result.chrome_lines), (c, result.chrome_lines)
    assert "9:41" not in result.post_text  # the phone's status bar
    assert POSTS[post_id]["author"] not in result.post_text
    with Image.open(io.BytesIO(data)) as img:
        assert (result.width, result.height) == img.size


def test_dark_mode_is_inverted_and_small_images_upscaled() -> None:
    with Image.open(OCR / "fb-02-phone-390-1x-dark.png") as img:
        img.load()
        out = normalise(img)
    assert out.mode == "L" and out.width > img.width  # upscaled
    # dark text on light after inversion: the mean is light
    assert ImageStat.Stat(out).mean[0] > 128


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(b"\0" * 4096))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + idat + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (b"Hello, this file is called screenshot.png but it is text.\n", "not an image"),
        (b"PK\x03\x04" + b"\0" * 100, "not an image"),  # a zip named .png
        (b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>", "not an image"),
        (_png_header(100_000, 100_000), "too large"),  # 10 GP declared in 100 bytes
        (_png_header(7_000, 7_000), "too large"),  # 49 MP: over our cap, under Pillow's
        (_png_header(400, 300), "not a readable image"),  # a header and too little data
    ],
)
def test_untrusted_bytes_are_refused_by_content(data: bytes, expected: str) -> None:
    with pytest.raises(ImageRefused) as err:
        read_screenshot(data, deadline_s=10)
    assert expected in err.value.reason and "\n" not in err.value.reason


def test_formats_are_recognised_by_content() -> None:
    img = Image.new("RGB", (40, 20), "white")
    for fmt, ctype in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif")):
        buf = io.BytesIO()
        img.save(buf, fmt)
        info = check_image(buf.getvalue())
        assert (info.content_type, info.width, info.height) == (ctype, 40, 20)
    buf = io.BytesIO()
    img.save(buf, "BMP")  # a real image, but not one we take
    with pytest.raises(ImageRefused):
        check_image(buf.getvalue())
