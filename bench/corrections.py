"""How many corrections it takes to fix a systematic miss (issue 12).

Feeds 5, 10 and 20 "wrong categories" corrections of one kind of post (tests/fixtures/corrections/,
written by us; --kind picks it) through the `train --with-corrections` logic
(monitor/scoring/retrain.py: same split, same fit, same refusal rule) and measures the kind's
category recall and urgent recall on a SEPARATE batch of the same kind (`<kind>-test.jsonl`),
before and after. Prints a table. Kinds:
- pupil-photos: posts saying photos of identifiable pupils are up somewhere public (no media of
  their own): pupil_image + urgent; the heads of December 2026 miss most of them;
- health-gossip: staff health gossip: data_leak + urgent; those heads catch all of them.

    PYTHONPATH=$PWD .venv/bin/python bench/corrections.py [--kind pupil-photos|health-gossip]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path

from monitor.commands.scoring import CACHE_FILE
from monitor.config import ScoringSettings
from monitor.models import ScoringInput, Severity
from monitor.scoring.embeddings import NpzEmbeddingCache, load_model
from monitor.scoring.heads import Heads, load_heads
from monitor.scoring.pipeline import Scorer
from monitor.scoring.retrain import evaluate, fit, held_out, make_split, worse
from monitor.store.corrections import Correction

HERE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "corrections"
T0 = datetime(2026, 12, 1, tzinfo=UTC)
KINDS = {
    "pupil-photos": ("pupil_image", "posts pointing to photos of identifiable pupils"),
    "health-gossip": ("data_leak", "staff health gossip"),
}


def posts(name: str) -> list[str]:
    return [json.loads(x)["text"] for x in (HERE / name).read_text().splitlines() if x.strip()]


def recall(scorer: Scorer, texts: list[str], category: str) -> tuple[float, float]:
    out = scorer.assess([ScoringInput("", t, False) for t in texts])
    leak = sum(category in a.categories for a in out) / len(out)
    urgent = sum(a.severity == Severity.URGENT for a in out) / len(out)
    return leak, urgent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", choices=sorted(KINDS), default="pupil-photos")
    kind = ap.parse_args().kind
    category, what = KINDS[kind]
    settings = ScoringSettings()
    embedder = load_model(settings.model, settings.batch_size)
    cache = NpzEmbeddingCache(Path(str(CACHE_FILE).format(model=embedder.name)))
    shipped = load_heads()
    train_posts, test_posts = posts(f"{kind}.jsonl"), posts(f"{kind}-test.jsonl")
    rows = []
    leak, urg = recall(Scorer(embedder, shipped, settings, cache), test_posts, category)
    rows.append(["shipped heads", "-", "-", f"{leak:.2f}", f"{urg:.2f}", "-"])
    reference: Heads | None = None
    for n in (0, 5, 10, 20):
        start = time.perf_counter()
        corr = [
            Correction(
                i + 1,
                i + 1,
                "ankermoor",
                "wrong_categories",
                t,
                False,
                (category,),
                True,
                "bench",
                T0,
            )
            for i, t in enumerate(train_posts[:n])
        ]
        split = make_split(corr)
        if reference is None:
            plain = [(e, k) for e, k in split.train if e.source != "correction"]
            reference = fit(embedder, cache, shipped, plain, {})
        heads = (
            fit(embedder, cache, shipped, split.train, {"trained": f"bench{n}"}) if n else reference
        )
        verdict = worse(
            evaluate(embedder, cache, heads, settings, split),
            evaluate(embedder, cache, reference, settings, split),
        )
        leak, urg = recall(Scorer(embedder, heads, settings, cache), test_posts, category)
        rows.append(
            [
                f"{n} corrections",
                str(split.corrections_used),
                str(sum(held_out(c.id) for c in corr)),
                f"{leak:.2f}",
                f"{urg:.2f}",
                ("refused: " + verdict)
                if verdict
                else f"accepted ({time.perf_counter() - start:.0f} s)",
            ]
        )
    cache.save()
    heads_ = ["model", "trained on", "held out", f"{category} recall", "urgent recall", "check"]
    widths = [max(len(r[i]) for r in [heads_, *rows]) for i in range(len(heads_))]
    print(f"separate batch: {len(test_posts)} posts of the same kind ({what})")
    for r in [heads_, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
