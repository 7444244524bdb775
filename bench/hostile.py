"""Benchmark of hostile payloads: CPU time and peak memory of parsing each one, as a collector does.

Each case runs in its own Python process (so one case's memory cannot hide another's), through
the public parse functions: `parse_webpage` (the `webpage` kind), `parse_feed` (the `feed` kind
and `check-source URL`) and each JSON kind's `parse_*`. Payloads stay under the 10 MB body cap.
Prints a table; asserts nothing. The target is at most 2 s CPU and 100 MB extra per payload.

    .venv/bin/python bench/hostile.py [--scale 1.0] [--timeout 120] [--code DIR]

--code runs the cases against another checkout (e.g. the code before a change); --scale shrinks
every payload (0.1 = a tenth of the elements) for a quick look.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _nested_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _rss_item(description: bytes) -> bytes:
    return (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
        b"<title>Ankermoor Primary</title><link>https://example.org/1</link>"
        b"<description>" + description + b"</description></item></channel></rss>"
    )


def _rss_item_cdata(html: bytes) -> bytes:
    return _rss_item(b"<![CDATA[" + html + b"]]>")


# name -> (what runs it, payload builder taking the scale)
CASES: dict[str, tuple[str, Callable[[float], bytes]]] = {
    "nested <b> page": ("webpage", lambda s: b"<html><body>" + b"<b>" * int(1e6 * s) + b"x"),
    "unclosed <div> page": ("webpage", lambda s: b"<div>" * int(1e6 * s) + b"x"),
    "huge flat page": ("webpage", lambda s: b"<html><body>" + b"<p>x</p>" * int(7e5 * s)),
    "nested <b> via check-source": ("feed", lambda s: b"<html><body>" + b"<b>" * int(1e6 * s)),
    "unclosed <div> via check-source": ("feed", lambda s: b"<div>" * int(1e6 * s) + b"x"),
    "feed item of nested <b>": ("feed", lambda s: _rss_item_cdata(b"<b>" * int(1e6 * s))),
    # The worst a page or feed may cost and still be read: just under every budget.
    "page under budget: 24k <p>, 250 deep": (
        "webpage",
        lambda s: b"<html><body>" + b"<p>x</p>" * int(24_000 * s) + b"<div>" * int(250 * s),
    ),
    "feed under budget: 29k escaped tags": (
        "feed",
        lambda s: _rss_item(b"&lt;b&gt;x&lt;/b&gt;" * int(29_000 * s)),
    ),
    "nested JSON feed": ("feed", lambda s: _nested_json(int(4.5e6 * s))),
    "nested JSON mastodon": ("mastodon", lambda s: _nested_json(int(4.5e6 * s))),
    "nested JSON bluesky": ("bluesky", lambda s: _nested_json(int(4.5e6 * s))),
    "nested JSON lemmy (200 KB)": ("lemmy", lambda s: _nested_json(int(1e5 * s))),
    "nested JSON hackernews": ("hackernews", lambda s: _nested_json(int(4.5e6 * s))),
    "nested JSON gdelt": ("gdelt", lambda s: _nested_json(int(4.5e6 * s))),
}


def _parser(kind: str) -> Callable[[bytes], list[object]]:
    if kind == "webpage":
        from sources.webpage import WebpageOptions, parse_webpage

        opts = WebpageOptions.model_validate({"url": "https://example.org/thread"})
        return lambda b: list(parse_webpage(b, "a/page", "https://example.org/thread", opts))
    if kind == "feed":
        from sources.feeds import parse_feed

        return lambda b: list(parse_feed(b, "a/feed", "https://example.org/feed"))
    module = __import__(f"sources.{kind}", fromlist=[f"parse_{kind}"])
    fn = getattr(module, f"parse_{kind}")
    return lambda b: list(fn(b, f"a/{kind}"))


def _child(case: str, scale: float) -> None:
    kind, build = CASES[case]
    parse = _parser(kind)
    payload = build(scale)
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu0, wall0 = time.process_time(), time.monotonic()
    try:
        outcome = f"{len(parse(payload))} items"
    except Exception as exc:  # the figure we want is what a collector would see
        line = str(exc).splitlines()[0] if str(exc) else ""
        outcome = f"{type(exc).__name__}: {line}"[:90]
    after = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "bytes": len(payload),
                "outcome": outcome,
                "cpu_s": time.process_time() - cpu0,
                "wall_s": time.monotonic() - wall0,
                "extra_mb": (after.ru_maxrss - before.ru_maxrss) / 1024,
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per case")
    ap.add_argument("--code", type=Path, default=ROOT, help="checkout whose sources/ to run")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        sys.path.insert(0, str(args.code))
        _child(args.case, args.scale)
        return
    print(f"code: {args.code.resolve()}  scale: {args.scale}  python: {sys.version.split()[0]}")
    rows = [("case", "bytes", "CPU s", "wall s", "extra MB", "outcome")]
    for case in CASES:
        cmd = [sys.executable, __file__, "--case", case, "--scale", str(args.scale)]
        cmd += ["--code", str(args.code)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
            lines = done.stdout.strip().splitlines()
            if done.returncode or not lines:
                err = (done.stderr.strip().splitlines() or ["?"])[-1][:90]
                rows.append((case, "", "", "", "", f"process failed: {err}"))
                continue
            r = json.loads(lines[-1])
            rows.append(
                (
                    case,
                    f"{r['bytes']:,}",
                    f"{r['cpu_s']:.2f}",
                    f"{r['wall_s']:.2f}",
                    f"{r['extra_mb']:.0f}",
                    r["outcome"],
                )
            )
        except subprocess.TimeoutExpired:
            rows.append((case, "", f">{args.timeout:.0f}", "", "", "still running: stopped"))
        print(f"  done: {case}", file=sys.stderr, flush=True)
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
