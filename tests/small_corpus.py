"""A small slice of the bundled labelled data for tests that retrain with the real model.

`train --with-corrections` embeds every bundled mention (about 12,500) before it fits anything:
minutes on a cold embedding cache, which is what a fresh CI machine has. The tests that retrain
check who trains on what and which heads are accepted or refused, not how well the shipped data
scores, so they retrain on these slices of the real files instead, with the embedding cache in
their own temp folder (never the home folder's)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from monitor.commands import scoring as scoring_cmd
from monitor.scoring import retrain, train

DATA = Path(train.__file__).parent / "data"
# file -> how many of its first lines: the two dev sets whole (the trusted held-out part is drawn
# from them and the written files), the templated set and three writers in part.
SLICES = {
    "train.jsonl": 300,
    "mentions-dev.jsonl": 160,
    "mentions-dev2.jsonl": 250,
    "written/images.jsonl": 200,
    "written/leaks.jsonl": 200,
    "written/threats.jsonl": 200,
}


@contextmanager
def small_training_data(tmp: Path) -> Iterator[Path]:
    """Point training at slices written under `tmp` (and its embedding cache there)."""
    (tmp / "written").mkdir(parents=True, exist_ok=True)
    for name, n in SLICES.items():
        lines = (DATA / name).read_text(encoding="utf-8").splitlines()[:n]
        (tmp / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        for module in (train, retrain):
            mp.setattr(module, "BUNDLED_TRAIN", tmp / "train.jsonl")
            mp.setattr(module, "BUNDLED_DEV", tmp / "mentions-dev.jsonl")
            mp.setattr(module, "BUNDLED_DEV2", tmp / "mentions-dev2.jsonl")
        mp.setattr(train, "WRITTEN_DIR", tmp / "written")
        mp.setattr(scoring_cmd, "CACHE_FILE", tmp / "embeddings-{model}.npz")
        yield tmp
