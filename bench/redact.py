"""Benchmark of monitor.scoring.pii.redact: seconds per call for 5k, 10k, 20k, 50k and 1 MB texts.

Run: PYTHONPATH=$PWD .venv/bin/python bench/redact.py [--limit SECONDS]
Prints figures only; it asserts nothing (the goal, 50,000 characters in under 100 ms, is read off
the table). Times are CPU seconds of the one call (time.process_time): on a shared build machine
wall time mostly measures the neighbours; on an idle machine the two are the same. Inputs are realistic (leaked registers, contact details, prose) and adversarial (many
digits, many '@', long runs without spaces, many "password:" labels, many capitalised names).
Once one size of an input takes longer than --limit seconds the larger sizes of that input are
skipped, so the old, super-linear code can be measured in minutes. To measure another checkout,
put it first on PYTHONPATH: this script only falls back to its own checkout.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT))  # after PYTHONPATH: another checkout can be measured

from monitor.scoring import pii  # noqa: E402

SIZES = [("5k", 5_000), ("10k", 10_000), ("20k", 20_000), ("50k", 50_000), ("1MB", 1_000_000)]

REALISTIC = [
    "Ankermoor Primary Academy year 6 list leaked: Oliver Smith and Amelia Jones, ",
    "mum's mobile 07700 900123, email amelia.jones.mum@gmail.com, home 14 Mill Lane, AB1 2DE. ",
    "DOB 12/03/2015. Staff password: Hunter22! Confidential spreadsheet shared publicly. ",
    "Spelling test 4K: Ruby S 18/20, Kacper W 12/20, Zayn A 20/20, Elsie T 9/20. ",
    "Medical register: Isla M (3P) - anaphylaxis, epipen in office; Harvey D (3P) - asthma. ",
    "Sports day at Ankermoor Primary this morning, Year 4 smashed the relay! Lovely teacher. ",
    "Open evening Friday 14 November, 6-8pm in the hall, call the office on 01632 960 123. ",
    "Mr Daniel Hughes (Year 6 teacher), DOB 14/02/1979, lives at 22 Larch Grove, B78 2PQ. ",
]


def _cycle(pieces: list[str]) -> Callable[[int], str]:
    def make(n: int) -> str:
        out: list[str] = []
        size = 0
        for p in itertools.cycle(pieces):
            out.append(p)
            size += len(p)
            if size >= n:
                return "".join(out)[:n]
        raise AssertionError("unreachable")

    return make


INPUTS: dict[str, Callable[[int], str]] = {
    "realistic": _cycle(REALISTIC),
    "digits": _cycle(["0", "7", "7", "0", "0", " ", "9", "0", "0", "1", "2", "3", "-", "4", "/"]),
    "at-signs": _cycle(["a.b@", "c@d.", "x@", "@@", "jo.bloggs", "@", "example", "."]),
    "no-spaces": lambda n: "Ab1" * (n // 3) + "x" * (n % 3),
    "password-words": _cycle(["password: ", "login ", "username/password ", "pin is ", "for "]),
    "names": _cycle(["Oliver ", "Smith, ", "Amelia ", "J, ", "Year ", "6 ", "Noah ", "B "]),
    "dates": _cycle(["born 12/03/2015 ", "DOB 3 May 2016, ", "Tom B 04/07/2015 ", "1 Jan "]),
}


def measure(text: str) -> float:
    start = time.process_time()
    pii.redact(text)
    return time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=5.0, help="skip larger sizes after this")
    ap.add_argument("inputs", nargs="*", help=f"only these of: {', '.join(INPUTS)}")
    args = ap.parse_args()
    print(f"redact() from {Path(pii.__file__).resolve()}")
    print(f"{'input':<16}" + "".join(f"{label:>10}" for label, _ in SIZES) + "   (seconds)")
    for name, make in INPUTS.items():
        if args.inputs and name not in args.inputs:
            continue
        cells: list[str] = []
        over = False
        for _, n in SIZES:
            if over:
                cells.append(f"{'skipped':>10}")
                continue
            text = make(n)
            assert len(text) == n
            secs = measure(text)
            cells.append(f"{secs:>10.3f}")
            over = secs > args.limit
        print(f"{name:<16}" + "".join(cells), flush=True)


if __name__ == "__main__":
    main()
