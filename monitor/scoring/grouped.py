"""Grouped evaluation: how the scorer does on a whole set written by authors it never saw.

A labelled set (a "group": one file, one group of annotators) is scored by heads trained on
everything else: `train.jsonl`, the written data and the OTHER dev set, with any copy or
near-copy of a scored item (same fingerprint, or rapidfuzz ratio >= NEAR_COPY on normalised text)
removed from training first. Thresholds are those `fit_policy` chooses on out-of-fold predictions
of the training data; nothing is tuned on the scored set. Hostility heads and prototypes come
from the shipped heads (trained on TweetEval and the taxonomy only, so no group leaks into them).

Also here: the end-to-end decision for probabilities (leak floor, thresholds, severity), shared
by `eval --cross-validate` and `eval --grouped`, and expected calibration error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from monitor.config import ScoringSettings
from monitor.models import CATEGORIES
from monitor.scoring import severity
from monitor.scoring.embeddings import Embedder, EmbeddingCache, text_fingerprint
from monitor.scoring.heads import Heads
from monitor.scoring.pii import find_personal_data, leak_signals
from monitor.scoring.pipeline import DEFAULT_THRESHOLD, apply_floors, prepare_text
from monitor.scoring.train import Example, PolicyData, fit_policy, policy_matrix

NEAR_COPY = 90.0  # rapidfuzz ratio (0-100) at or above which two texts are the same item
ECE_BINS = 10
_SPACE = re.compile(r"\s+")


def _norm(e: Example) -> str:
    return _SPACE.sub(" ", f"{e.title} {e.text}").strip().casefold()


def near_copies(train: Sequence[Example], scored: Sequence[Example]) -> set[int]:
    """Indexes of `train` items that are a copy or near-copy of some `scored` item."""
    from rapidfuzz import fuzz, process

    a = [_norm(e) for e in train]
    b = [_norm(e) for e in scored]
    fps = {text_fingerprint(t) for t in b}
    out = {i for i, t in enumerate(a) if text_fingerprint(t) in fps}
    if a and b:
        m = process.cdist(a, b, scorer=fuzz.ratio, score_cutoff=NEAR_COPY, dtype=np.uint8)
        out |= {int(i) for i in np.nonzero(m.max(axis=1))[0]}
    return out


@dataclass(frozen=True)
class Scored:
    """Scores of one evaluated set: per item probabilities and the cuts to apply to them."""

    probs: np.ndarray  # n x 5, calibrated (before the leak floor)
    urgent: np.ndarray  # n
    thresholds: np.ndarray  # n x 5
    urgent_thresholds: np.ndarray  # n
    removed: int = 0  # near-copies dropped from training
    trained_on: int = 0


def fit_and_score(
    embedder: Embedder,
    cache: EmbeddingCache | None,
    base: Heads,
    train: Sequence[Example],
    scored: Sequence[Example],
) -> Scored:
    """Train policy heads on `train` (minus near-copies of `scored`), score `scored`."""
    drop = near_copies(train, scored)
    kept = [e for i, e in enumerate(train) if i not in drop and e.relevant]
    d_train = policy_matrix(
        embedder, cache, kept, base.hostility, base.prototypes, base.proto_owner
    )
    d_eval = policy_matrix(
        embedder, cache, scored, base.hostility, base.prototypes, base.proto_owner
    )
    fitted = fit_policy(d_train)
    n = len(scored)
    probs, urgent = fitted.proba(d_eval)
    thr = np.tile([fitted.policy[c].threshold for c in CATEGORIES], (n, 1))
    return Scored(probs, urgent, thr, np.full(n, fitted.urgent.threshold), len(drop), len(kept))


@dataclass(frozen=True)
class Decision:
    categories: set[str]
    urgent: bool
    probs: dict[str, float]  # after the floors
    reason: str = ""  # severity.decide's one-line reason


def rule_of(reason: str) -> str:
    """The severity rule a reason names, for counting: "data leak", "urgent head", …"""
    if reason.startswith("likely urgent"):
        return "urgent head"
    return reason.split(":")[0].split(" (")[0]


def decide(examples: Sequence[Example], s: Scored, settings: ScoringSettings) -> list[Decision]:
    """What the pipeline would output for each scored item (floors, thresholds, severity)."""
    out = []
    for n, e in enumerate(examples):
        text = prepare_text(e.input, settings.max_chars)[0]
        p = dict(zip(CATEGORIES, (float(v) for v in s.probs[n]), strict=True))
        ev = find_personal_data(text)
        p = apply_floors(p, text, ev, leak_signals(ev, text))
        st, su = settings.threshold, settings.urgent_threshold
        cats = tuple(
            c
            for i, c in enumerate(CATEGORIES)
            if p[c] >= (st if st != DEFAULT_THRESHOLD else s.thresholds[n, i])
        )
        ut = su if su != DEFAULT_THRESHOLD else float(s.urgent_thresholds[n])
        sev, why = severity.decide(p, cats, text, ev, float(s.urgent[n]), ut)
        out.append(Decision(set(cats), sev.value == "urgent", p, why))
    return out


def ece(p: Sequence[float], y: Sequence[bool], bins: int = ECE_BINS) -> float:
    """Expected calibration error: the mean |confidence - frequency| over equal-width bins,
    weighted by how many items fall in each."""
    pa = np.asarray(p, dtype=float)
    ya = np.asarray(y, dtype=float)
    if pa.size == 0:
        return 0.0
    idx = np.minimum((pa * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(pa[m].mean() - ya[m].mean())
    return round(float(total / pa.size), 3)


def pooled_cv(
    embedder: Embedder,
    cache: EmbeddingCache | None,
    base: Heads,
    train: Sequence[Example],
    scored: Sequence[Example],
    k: int,
    seed: int = 13,
) -> Scored:
    """K-fold over `scored`: each fold by heads trained on `train` (minus near-copies of any
    scored item) plus the other folds. The usual, optimistic figure: folds share authors."""
    drop = near_copies(train, scored)
    kept = [e for i, e in enumerate(train) if i not in drop and e.relevant]
    d_train = policy_matrix(
        embedder, cache, kept, base.hostility, base.prototypes, base.proto_owner
    )
    d_eval = policy_matrix(
        embedder, cache, scored, base.hostility, base.prototypes, base.proto_owner
    )
    rel = np.asarray([e.relevant for e in scored])
    n = len(scored)
    probs = np.zeros((n, len(CATEGORIES)))
    urgent = np.zeros(n)
    thr = np.zeros_like(probs)
    uthr = np.zeros(n)
    fold_of = np.random.default_rng(seed).permutation(n) % k
    for f in range(k):
        te = fold_of == f
        tr = ~te & rel
        fitted = fit_policy(PolicyData.concat([d_train, d_eval.rows(tr)]))
        probs[te], urgent[te] = fitted.proba(d_eval.rows(te))
        thr[te] = [fitted.policy[c].threshold for c in CATEGORIES]
        uthr[te] = fitted.urgent.threshold
    return Scored(probs, urgent, thr, uthr, len(drop), len(kept))
