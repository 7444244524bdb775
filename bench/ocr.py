"""Benchmark of screenshot OCR (sources/ocr.py): character error rate on rendered posts.

Run: PYTHONPATH=$PWD .venv/bin/python bench/ocr.py [--only fb-01,x-02] [--write-fixtures DIR]

Each post of tests/fixtures/ocr/posts.json (written by us: Facebook-group, X, WhatsApp and
Instagram styles, UK school context, with emoji) is laid out as HTML that looks like its app, in
light and dark mode, at phone width (390 CSS px, screenshot at 1x and at 3x as phones save them)
and desktop width (1280 px), rendered by Debian's Chromium through Playwright (headless, offline:
every request is aborted), screenshotted, and read by `read_screenshot`.

CER = Levenshtein distance(reference, post_text) / len(reference), after normalising both:
whitespace collapsed to one space, ends trimmed. The reference is the post's text without its
emoji (Tesseract does not read emoji; what it makes of them counts as errors in post_text). So
the figure covers both the OCR and the chrome stripping: an app line left in post_text, or a
post line taken for chrome, costs its characters. It prints a table per style, width and theme,
and overall; it asserts nothing (the goal, <= 3 % on clean renders, is read off the table).

--write-fixtures DIR writes a few of the renders as PNG (the ones tests/test_ocr.py reads).
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT))

from rapidfuzz.distance import Levenshtein  # noqa: E402

from sources.ocr import read_screenshot  # noqa: E402

POSTS = ROOT / "tests" / "fixtures" / "ocr" / "posts.json"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# (label, viewport width, device scale factor)
WIDTHS = [("phone-390@1x", 390, 1), ("phone-390@3x", 390, 3), ("desktop-1280", 1280, 1)]
THEMES = ("light", "dark")
FIXTURES = [  # id, width label, theme: the renders tests/test_ocr.py reads
    ("fb-02", "phone-390@1x", "dark"),
    ("x-01", "desktop-1280", "light"),
    ("wa-01", "phone-390@1x", "light"),
    ("ig-01", "phone-390@1x", "dark"),
]

_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d\U0001f1e6-\U0001f1ff]"
)


def reference(text: str) -> str:
    """What OCR should give back: the text without emoji, whitespace collapsed."""
    return normalise(_EMOJI.sub(" ", text))


def normalise(text: str) -> str:
    return " ".join(text.split())


def cer(ref: str, got: str) -> float:
    ref, got = normalise(ref), normalise(got)
    return Levenshtein.distance(ref, got) / max(1, len(ref))


# --- the apps, as HTML ----------------------------------------------------------------------

_PALETTE = {
    "light": {"bg": "#ffffff", "fg": "#050505", "muted": "#65676b", "card": "#ffffff",
              "page": "#f0f2f5", "bubble": "#ffffff", "chat": "#efeae2", "line": "#ced0d4"},
    "dark": {"bg": "#18191a", "fg": "#e4e6eb", "muted": "#b0b3b8", "card": "#242526",
             "page": "#18191a", "bubble": "#202c33", "chat": "#0b141a", "line": "#3e4042"},
}  # fmt: skip


def _status_bar(width: int) -> str:
    if width > 600:
        return ""
    return (
        '<div class="status"><span>9:41</span><span class="right">'
        "&#9679;&#9679;&#9679; 4G 87%</span></div>"
    )


def _facebook(p: dict[str, Any], e: Any) -> str:
    comments = f"<span>{e(p['comments'])}</span>" if p.get("comments") else ""
    return f"""
    <div class="card">
      <div class="group">{e(p["group"])} &rsaquo; Public group</div>
      <div class="head"><div class="avatar"></div><div>
        <div class="name">{e(p["author"])}</div>
        <div class="muted">{e(p["time"])} &middot; &#127757;</div></div></div>
      <div class="text">{e(p["text"])}</div>
      <div class="counts muted"><span>&#128077;&#10084;&#65039; {e(p["reactions"])}</span>
        {comments}</div>
      <div class="bar muted"><span>Like</span><span>Comment</span><span>Share</span></div>
      <div class="write muted">Write a comment&hellip;</div>
    </div>"""


def _x(p: dict[str, Any], e: Any) -> str:
    return f"""
    <div class="card tweet">
      <div class="head"><div class="avatar"></div><div>
        <span class="name">{e(p["author"])}</span>
        <span class="muted">{e(p["handle"])} &middot; {e(p["time"])}</span></div></div>
      <div class="text">{e(p["text"])}</div>
      <div class="bar muted"><span>&#128172; {e(p["comments"])}</span>
        <span>&#128257; {e(p["reactions"])}</span><span>&#9825; {e(p["reactions"])}</span></div>
    </div>"""


def _whatsapp(p: dict[str, Any], e: Any) -> str:
    return f"""
    <div class="wa-top"><div class="name">{e(p["group"])}</div>
      <div class="muted small">tap here for group info</div></div>
    <div class="chat">
      <div class="bubble"><div class="sender">~ {e(p["author"])}</div>
        <span class="text">{e(p["text"])}</span>
        <span class="muted small time">{e(p["time"])}</span></div>
    </div>
    <div class="write muted">Message</div>"""


def _instagram(p: dict[str, Any], e: Any) -> str:
    return f"""
    <div class="card ig">
      <div class="head"><div class="avatar small-av"></div><div>
        <div><span class="name">{e(p["author"])}</span>
          <span class="muted">{e(p["time"])}</span></div>
        <div class="text">{e(p["text"])}</div>
        <div class="muted bar small"><span>{e(p["reactions"])}</span><span>Reply</span>
          <span>See translation</span></div></div></div>
    </div>
    <div class="write muted">Add a comment&hellip;</div>"""


_STYLES = {"facebook": _facebook, "x": _x, "whatsapp": _whatsapp, "instagram": _instagram}


def page_html(p: dict[str, Any], width: int, theme: str) -> str:
    c = _PALETTE[theme]
    body = _STYLES[p["style"]](p, html.escape)
    page = c["chat"] if p["style"] == "whatsapp" else c["page"]
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
    body {{ margin:0; background:{page}; color:{c["fg"]};
      font-family: "DejaVu Sans", system-ui, sans-serif, "Noto Color Emoji"; font-size:15px; }}
    .wrap {{ max-width: {min(width, 680)}px; margin: 0 auto; padding: 8px; }}
    .status {{ display:flex; justify-content:space-between; padding:4px 12px; font-size:13px;
      font-weight:bold; background:{c["bg"]}; }}
    .card {{ background:{c["card"]}; border-radius:8px; padding:12px 14px; margin:8px 0; }}
    .group {{ font-weight:bold; font-size:14px; margin-bottom:10px; }}
    .head {{ display:flex; gap:10px; align-items:flex-start; }}
    .avatar {{ width:40px; height:40px; border-radius:50%; background:#8a9bb0; flex:none; }}
    .small-av {{ width:32px; height:32px; }}
    .name {{ font-weight:bold; }}
    .muted {{ color:{c["muted"]}; font-size:13px; }}
    .small {{ font-size:12px; }}
    .text {{ margin:10px 0; line-height:1.35; }}
    .ig .text {{ margin:4px 0; }}
    .counts, .bar {{ display:flex; justify-content:space-between; padding:6px 0; }}
    .ig .bar {{ justify-content:flex-start; gap:16px; }}
    .bar {{ border-top:1px solid {c["line"]}; }}
    .ig .bar, .tweet .bar {{ border:0; }}
    .write {{ margin:8px 0; padding:8px 12px; border-radius:18px; background:{c["bg"]}; }}
    .wa-top {{ background:{c["bg"]}; padding:8px 12px; }}
    .chat {{ padding:12px 8px; }}
    .bubble {{ background:{c["bubble"]}; border-radius:8px; padding:6px 8px 4px; max-width:85%;
      line-height:1.35; }}
    .sender {{ color:#d0668a; font-weight:bold; font-size:13px; margin-bottom:2px; }}
    .time {{ float:right; margin:6px 0 0 8px; }}
    </style></head><body>{_status_bar(width)}<div class="wrap">{body}</div></body></html>"""


@dataclass(frozen=True)
class Row:
    post: str
    style: str
    width: str
    theme: str
    cer: float
    seconds: float
    chrome_left: int  # chrome words found in post_text (Like, Reply, the time…)


def render_all(posts: list[dict[str, Any]], out: Path | None) -> dict[tuple[str, str, str], bytes]:
    from playwright.sync_api import sync_playwright

    shots: dict[tuple[str, str, str], bytes] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for label, width, scale in WIDTHS:
                for theme in THEMES:
                    ctx = browser.new_context(
                        viewport={"width": width, "height": 400},
                        device_scale_factor=scale,
                        color_scheme=theme,  # type: ignore[arg-type]
                        java_script_enabled=False,
                    )
                    ctx.route("**/*", lambda route: route.abort())  # offline
                    page = ctx.new_page()
                    for p in posts:
                        page.set_content(page_html(p, width, theme), wait_until="load")
                        shots[(p["id"], label, theme)] = page.screenshot(full_page=True)
                    ctx.close()
        finally:
            browser.close()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for pid, label, theme in FIXTURES:
            if (pid, label, theme) in shots:
                (out / f"{pid}-{label.replace('@', '-')}-{theme}.png").write_bytes(
                    shots[(pid, label, theme)]
                )
    return shots


_CHROME_WORDS = re.compile(
    r"\b(Like|Comment|Share|Reply|See translation|Public group|Write a comment|Add a comment)\b"
)


def measure(posts: list[dict[str, Any]], shots: dict[tuple[str, str, str], bytes]) -> list[Row]:
    by_id = {p["id"]: p for p in posts}
    rows = []
    for (pid, label, theme), png in shots.items():
        p = by_id[pid]
        started = time.monotonic()
        result = read_screenshot(png, deadline_s=60)
        seconds = time.monotonic() - started
        left = len(_CHROME_WORDS.findall(result.post_text)) - len(_CHROME_WORDS.findall(p["text"]))
        rows.append(
            Row(pid, p["style"], label, theme, cer(reference(p["text"]), result.post_text),
                seconds, max(0, left))
        )  # fmt: skip
    return rows


def _table(rows: list[Row], key: str) -> None:
    groups: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        groups[str(getattr(r, key))].append(r)
    print(f"\n{'by ' + key:<16} {'n':>3} {'mean CER':>9} {'median':>7} {'worst':>7}  worst post")
    for name, rs in sorted(groups.items()):
        cers = sorted(r.cer for r in rs)
        worst = max(rs, key=lambda r: r.cer)
        print(
            f"{name:<16} {len(rs):>3} {sum(cers) / len(cers):>9.2%} {cers[len(cers) // 2]:>7.2%}"
            f" {worst.cer:>7.2%}  {worst.post} {worst.width} {worst.theme}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="comma-separated post ids")
    ap.add_argument("--write-fixtures", type=Path, help="write the test renders (PNG) here")
    ap.add_argument("--verbose", action="store_true", help="print each OCR'd post_text")
    args = ap.parse_args()
    posts = json.loads(POSTS.read_text(encoding="utf-8"))["posts"]
    if args.only:
        wanted = set(args.only.split(","))
        posts = [p for p in posts if p["id"] in wanted]
    t0 = time.monotonic()
    shots = render_all(posts, args.write_fixtures)
    print(f"rendered {len(shots)} screenshots in {time.monotonic() - t0:.1f} s (Chromium)")
    rows = measure(posts, shots)
    if args.verbose:
        for r in sorted(rows, key=lambda r: -r.cer)[:10]:
            print(f"{r.post} {r.width} {r.theme} CER {r.cer:.2%}")
    for key in ("style", "width", "theme"):
        _table(rows, key)
    cers = [r.cer for r in rows]
    total_chars = sum(len(reference(p["text"])) for p in posts) * len(WIDTHS) * len(THEMES)
    print(
        f"\noverall: {len(rows)} screenshots, {total_chars} reference characters,"
        f" mean CER {sum(cers) / len(cers):.2%}, median {sorted(cers)[len(cers) // 2]:.2%},"
        f" worst {max(cers):.2%}; chrome words left in post_text: {sum(r.chrome_left for r in rows)}"
    )
    secs = sorted(r.seconds for r in rows)
    print(
        f"OCR wall seconds per screenshot (Tesseract runs in a subprocess): median {secs[len(secs) // 2]:.2f}, max {secs[-1]:.2f}"
    )


if __name__ == "__main__":
    main()
