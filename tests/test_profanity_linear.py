"""heads.profanity's numpy evaluation of profanity-check gives the library's own probabilities,
bit for bit (texts from the bundled TweetEval data, batches of several sizes)."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.scoring.heads import normalise_for_ngrams, profanity
from monitor.scoring.train import BUNDLED_TWEETEVAL


def library(texts: list[str]) -> np.ndarray:
    from profanity_check import predict_prob

    return np.asarray(predict_prob([normalise_for_ngrams(t) for t in texts]), dtype=np.float32)


@pytest.mark.parametrize("size", [1, 7, 64, 400])
def test_profanity_equals_the_library(size: int) -> None:
    lines = (BUNDLED_TWEETEVAL / "offensive" / "train_text.txt").read_text(encoding="utf-8")
    texts = lines.splitlines()[: size * 3] + ["", "  ", "@someone https://x.example/a"]
    for start in range(0, len(texts), size):
        batch = texts[start : start + size]
        assert np.array_equal(profanity(batch), library(batch))


def test_profanity_separates_abuse_from_praise() -> None:
    p = profanity(["you are a fucking idiot", "lovely sports day at the school"])
    assert p.dtype == np.float32 and p[0] > 0.5 > p[1]
    assert profanity([]).shape == (0,)
