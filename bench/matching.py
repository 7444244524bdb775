"""Benchmark of monitor.matching: items per second over the dev set, repeated.

Run: .venv/bin/python bench/matching.py [--repeat N] [--academies K]
Prints figures only; it asserts nothing. The watch comes from examples/ankermoor.toml when that
file loads, else from a built-in copy of its academy block. `--academies K` adds K-1 invented sister
academies to show how the cost grows with the size of a trust.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.matching import Matcher, Watch  # noqa: E402

DEV = ROOT.parent / "shared" / "data" / "mentions-dev.jsonl"

FALLBACK = Watch(
    id="ankermoor",
    display_name="Ankermoor Primary Academy",
    names=(
        "Ankermoor Primary Academy",
        "Ankermoor Primary School",
        "Ankermoor Primary",
        "Anker Moor Primary",
        "Ankermoor Academy",
        "#AnkermoorPrimary",
        "#AnkermoorAcademy",
    ),
    ambiguous_names=("Ankermoor", "Anker Moor"),
    context_words=("school", "pupils", "head", "teacher", "parents", "kids", "year 5", "PTA"),
    exclusions=("Ankermoor Road", "Ankermoor Rovers", "Ankermoor Park"),
)

SISTERS = ("Otterbrook", "Kingfisher", "Riverside", "Millbrook", "Ashgrove", "Hollins", "Larkfield")


def load_watches() -> list[Watch]:
    try:
        from monitor.config import load_settings

        settings = load_settings(ROOT / "examples" / "ankermoor.toml", environ={})
        return [Watch.from_config(a) for a in settings.academies]
    except Exception as exc:  # the example may not exist yet: the bench still runs
        print(f"(examples/ankermoor.toml not usable: {type(exc).__name__}; using built-in watch)")
        return [FALLBACK]


def sisters(k: int) -> list[Watch]:
    out = []
    for i in range(k):
        base = f"{SISTERS[i % len(SISTERS)]}{i // len(SISTERS) or ''}"
        out.append(
            Watch(
                id=f"sister-{i}",
                names=(f"{base} Primary Academy", f"{base} Primary", f"#{base}Primary"),
                ambiguous_names=(base,),
                context_words=FALLBACK.context_words,
                exclusions=(f"{base} Road",),
            )
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--academies", type=int, default=1)
    args = ap.parse_args()
    items = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]
    pairs = [(d["title"], d["text"]) for d in items] * args.repeat
    chars = sum(len(t) + len(x) for t, x in pairs)
    for k in sorted({1, args.academies}):
        watches = load_watches() + sisters(k - 1)
        t0 = time.perf_counter()
        matcher = Matcher(watches)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        found = sum(1 for t, x in pairs if matcher.match(t, x))
        secs = time.perf_counter() - t0
        print(
            f"academies={len(watches):3d} items={len(pairs)} matched={found} "
            f"build={build * 1000:.1f} ms  {len(pairs) / secs:,.0f} items/s  "
            f"{chars / secs / 1e6:.2f} M chars/s  {secs / len(pairs) * 1e6:.0f} us/item"
        )


if __name__ == "__main__":
    main()
