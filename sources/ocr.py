"""Screenshots to text: the image is checked by its content, normalised and read by Tesseract.

What people send is untrusted bytes with a name that proves nothing. `read_screenshot` accepts
only what Pillow recognises as PNG, JPEG, WebP or GIF (the first frame), and refuses anything
over `MAX_PIXELS` from the header alone, before any pixel is decoded: a 100 kB PNG can declare
50,000 × 50,000 pixels and would take gigabytes to decode (a decompression bomb).

Normalising for Tesseract: transparency is flattened onto white, the image becomes grayscale, a
dark-mode screenshot (mean luminance under `DARK_MEAN`) is inverted to dark text on light, and
small images are upscaled (Tesseract reads best with capital letters about 30 px high; a phone
screenshot at 1× has them at 10-12 px). Tesseract runs in its own process with a deadline
(pytesseract kills it), so one image cannot hold a worker.

The lines are then split into the post's own text and the app's chrome (sources/appchrome.py).
Errors are `ImageRefused` (the bytes are not an image we take; one line for the person) and
`OcrFailed` (Tesseract failed or ran out of time).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, ImageStat, UnidentifiedImageError

from sources.appchrome import Line, split_chrome

FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
CONTENT_TYPES = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
MAX_PIXELS = 40_000_000  # 40 MP: a long full-page phone screenshot is about 10 MP
MAX_SIDE = 30_000
DARK_MEAN = 110  # of 255: under it, the screenshot is dark mode
# Upscale until the image is about this wide (a 390-px phone screenshot becomes 3x); never past
# UPSCALE_MAX_PIXELS, so that the work stays bounded.
UPSCALE_TARGET_WIDTH = 1400
UPSCALE_MAX_FACTOR = 3
UPSCALE_MAX_PIXELS = 24_000_000
DEFAULT_DEADLINE_S = 30.0
# Under this confidence (0-100), a word with no digit and under three letters is an icon or an
# emoji read as letters ("e@", "»", "wu" for 👍❤️) and is dropped.
ICON_CONFIDENCE = 60


class ImageRefused(ValueError):
    """The bytes are not an image we read; `reason` is one line for the person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OcrFailed(RuntimeError):
    """Tesseract failed or ran out of time."""


@dataclass(frozen=True)
class ImageInfo:
    format: str  # PNG, JPEG, WEBP, GIF
    content_type: str
    width: int
    height: int


@dataclass(frozen=True)
class OcrResult:
    text: str  # every line read, in reading order
    post_text: str  # the post's own lines: what gets scored
    chrome_lines: tuple[str, ...]  # the app's lines (times, action bars, group name)
    width: int
    height: int


def _open(data: bytes) -> Image.Image:
    if not data:
        raise ImageRefused("the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageRefused(
            f"the image is too large (at most {MAX_PIXELS // 1_000_000} MP)"
        ) from None
    except UnidentifiedImageError:
        raise ImageRefused("not an image (only PNG, JPEG, WebP and GIF are taken)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRefused(f"not a readable image ({exc})") from None
    w, h = img.size
    if w <= 0 or h <= 0 or w > MAX_SIDE or h > MAX_SIDE or w * h > MAX_PIXELS:
        raise ImageRefused(
            f"the image is too large: {w} x {h} pixels (at most {MAX_PIXELS // 1_000_000} MP)"
        )
    return img


def check_image(data: bytes) -> ImageInfo:
    """What the bytes are, by content alone (the header; no pixel is decoded)."""
    img = _open(data)
    fmt = img.format or ""
    return ImageInfo(fmt, CONTENT_TYPES[fmt], img.size[0], img.size[1])


def normalise(img: Image.Image) -> Image.Image:
    """Grayscale, dark text on light, upscaled when small (see the module docstring)."""
    if getattr(img, "n_frames", 1) > 1:
        img.seek(0)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat.alpha_composite(rgba)
        img = flat
    gray = img.convert("L")
    if ImageStat.Stat(gray).mean[0] < DARK_MEAN:
        gray = ImageOps.invert(gray)
    w, h = gray.size
    factor = min(UPSCALE_MAX_FACTOR, UPSCALE_TARGET_WIDTH / w)
    while factor > 1 and (w * factor) * (h * factor) > UPSCALE_MAX_PIXELS:
        factor -= 0.25
    if factor > 1.1:
        gray = gray.resize((round(w * factor), round(h * factor)), Image.Resampling.LANCZOS)
    return gray


def _icon_like(word: str) -> bool:
    """A word Tesseract made of an icon or emoji: no digit and fewer than three letters."""
    return not any(ch.isdigit() for ch in word) and sum(ch.isalpha() for ch in word) < 3


def _lines(img: Image.Image, deadline_s: float) -> list[Line]:
    import pytesseract

    try:
        data = pytesseract.image_to_data(
            img,
            lang="eng",
            config="--psm 4",
            timeout=max(1.0, deadline_s),
            output_type=pytesseract.Output.DICT,
        )
    except RuntimeError as exc:  # pytesseract's "Tesseract process timeout"
        raise OcrFailed(f"OCR ran out of time ({deadline_s:g} s)") from exc
    except pytesseract.TesseractError as exc:
        raise OcrFailed(f"OCR failed: {exc.message or exc.status}") from exc
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrFailed("OCR is not installed (Debian package tesseract-ocr)") from exc
    lines: dict[tuple[int, int, int], list[tuple[int, int, str]]] = {}
    for i, word in enumerate(data["text"]):
        word = (word or "").strip()
        conf = float(data["conf"][i])
        if not word or conf < 0 or (conf < ICON_CONFIDENCE and _icon_like(word)):
            continue
        key = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        lines.setdefault(key, []).append((int(data["top"][i]), int(data["left"][i]), word))
    # Top to bottom: an emoji in a line can make Tesseract read its end as a block of its own,
    # out of order; a screenshot of a post is one column, so position decides.
    ordered = sorted(lines.items(), key=lambda kv: (min(t for t, _, _ in kv[1]), kv[1][0][1]))
    return [Line(" ".join(w for _, _, w in ws), block) for (block, _, _), ws in ordered]


def read_screenshot(data: bytes, *, deadline_s: float = DEFAULT_DEADLINE_S) -> OcrResult:
    """The text of a screenshot, split into the post's own text and the app's chrome.

    Raises ImageRefused (not an image we take, too large) or OcrFailed (Tesseract failed, or
    took longer than `deadline_s`)."""
    img = _open(data)
    width, height = img.size
    try:
        gray = normalise(img)
    except (OSError, SyntaxError, ValueError) as exc:  # a truncated or corrupt body
        raise ImageRefused(f"not a readable image ({exc})") from None
    lines = _lines(gray, deadline_s)
    split = split_chrome(lines)
    return OcrResult(
        text="\n".join(line.text for line in lines),
        post_text="\n".join(split.post),
        chrome_lines=split.chrome,
        width=width,
        height=height,
    )
