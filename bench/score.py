"""Scoring speed: mentions/s through Scorer.assess at batch 1, 32 and 128 against raw
model.encode on the same texts in the same run; model load time; peak RSS; and the cost of an
all-duplicate batch. Prints figures; asserts nothing.

    .venv/bin/python bench/score.py [--n 256]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from monitor.config import ScoringSettings
from monitor.models import ScoringInput, scoring_text
from monitor.scoring import MemoryEmbeddingCache, load_scorer

DEV = Path(__file__).resolve().parents[1] / "monitor" / "scoring" / "data" / "mentions-dev.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=256)
    args = ap.parse_args()
    rows = [json.loads(x) for x in DEV.read_text(encoding="utf-8").splitlines() if x.strip()]
    base = [ScoringInput(r["title"], r["text"], r["has_media"]) for r in rows]
    # distinct texts (suffix) so the cache never helps the timed runs
    inputs = [
        ScoringInput(b.title, f"{b.text} #{i}", b.has_media)
        for i, b in enumerate((base * (args.n // len(base) + 1))[: args.n])
    ]
    texts = [scoring_text(i.title, i.text) for i in inputs]

    t0 = time.perf_counter()
    scorer = load_scorer(ScoringSettings())
    load_s = time.perf_counter() - t0
    print(f"model+heads load: {load_s:.1f} s  ({scorer.model_version})")
    model = scorer.embedder.model
    scorer.assess(inputs[:4])  # warm-up
    model.encode(texts[:4])

    print(f"{'batch':>5}  {'raw encode/s':>12}  {'pipeline/s':>10}  {'ratio':>5}")
    for batch in (1, 32, 128):
        t = time.perf_counter()
        for i in range(0, len(texts), batch):
            model.encode(
                texts[i : i + batch],
                batch_size=batch,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        raw = time.perf_counter() - t
        scorer.cache = MemoryEmbeddingCache()
        scorer.embedder.batch_size = batch
        t = time.perf_counter()
        for i in range(0, len(inputs), batch):
            scorer.assess(inputs[i : i + batch])
        pipe = time.perf_counter() - t
        print(
            f"{batch:>5}  {len(texts) / raw:>12.1f}  {len(texts) / pipe:>10.1f}  {pipe / raw:>5.2f}"
        )

    # One mention at a time, as the service sees a quiet feed: per-mention latency, fresh texts.
    scorer.cache = MemoryEmbeddingCache()
    scorer.embedder.batch_size = 1
    lat = []
    for inp in inputs:
        t = time.perf_counter()
        scorer.assess([ScoringInput(inp.title, inp.text + " (single)", inp.has_media)])
        lat.append(time.perf_counter() - t)
    lat.sort()
    p50, p95 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.95))]
    print(f"one mention at a time: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")

    dup = [ScoringInput("", "Ankermoor Primary fun run today", fingerprint="same")] * 128
    scorer.assess(dup[:1])
    before = scorer.embedder.encoded_count
    t = time.perf_counter()
    scorer.assess(dup)
    print(
        f"all-duplicate batch of 128 (cached): {(time.perf_counter() - t) * 1000:.1f} ms, "
        f"{scorer.embedder.encoded_count - before} texts encoded"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MB")


if __name__ == "__main__":
    main()
