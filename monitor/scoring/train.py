"""Training and cross-validation of the heads (used by `mention-monitor train` and `eval`).

Reads labelled mentions in the shared JSON Lines format and TweetEval text/label files; fits the
hostility heads (hyper-parameters fixed, threshold chosen on out-of-fold predictions of the TRAIN
split only, never on val), then the calibrated policy heads. Deterministic for the same data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from monitor.models import CATEGORIES, ScoringInput
from monitor.scoring.embeddings import Embedder, EmbeddingCache, text_fingerprint
from monitor.scoring.heads import (
    Heads,
    HostilityHead,
    LinearHead,
    Neighbours,
    NgramCounts,
    TextHasher,
    fit_idf,
    hostility_matrix,
    policy_features,
    policy_input,
    prototype_texts,
    with_neighbours,
)
from monitor.scoring.pii import find_personal_data, leak_signals
from monitor.scoring.pipeline import encoder_text, model_text, prepare_text

DATA_DIR = Path(__file__).resolve().parent / "data"
BUNDLED_TRAIN = DATA_DIR / "train.jsonl"
BUNDLED_DEV = DATA_DIR / "mentions-dev.jsonl"  # the project's dev set, copied for reproducibility
BUNDLED_DEV2 = DATA_DIR / "mentions-dev2.jsonl"  # the second dev set (two other annotators)
WRITTEN_DIR = DATA_DIR / "written"  # individually written labelled mentions, one file per writer
BUNDLED_TWEETEVAL = DATA_DIR / "tweeteval"  # train splits only (val is for reporting)
HOSTILITY_C = 0.5  # out-of-fold macro-F1 on TweetEval offensive train: 0.5 > 1 > 2
HOSTILITY_EMB_WEIGHT = 1.0
POLICY_C = 1.0
SEED = 13

Progress = Callable[[str], None]
_ID_NUMBER = re.compile(r"[-_]?\d+$")


def writer_of(example_id: str) -> str:
    """The group an example's id names: its writer or set ("wi-0001" -> "wi", "a001" -> "a",
    "train-231" -> "train", "correction-7" -> "correction")."""
    return _ID_NUMBER.sub("", example_id) or example_id


@dataclass(frozen=True)
class Example:
    id: str
    title: str
    text: str
    has_media: bool
    relevant: bool
    categories: tuple[str, ...]
    urgent: bool
    source: str = ""

    @property
    def input(self) -> ScoringInput:
        return ScoringInput(self.title, self.text, self.has_media)


def written_files() -> list[Path]:
    """The individually written labelled files (one per writer), in a stable order."""
    return sorted(WRITTEN_DIR.glob("*.jsonl")) if WRITTEN_DIR.is_dir() else []


class DataError(ValueError):
    """A labelled file cannot be read; the message names the file and line."""


def load_examples(path: Path) -> list[Example]:
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            labels = r.get("labels") or {}
            cats = tuple(c for c in labels.get("categories", ()) if c in CATEGORIES)
            out.append(
                Example(
                    id=str(r.get("id", f"{path.name}:{n}")),
                    title=str(r.get("title") or ""),
                    text=str(r.get("text") or ""),
                    has_media=bool(r.get("has_media", False)),
                    relevant=bool(labels.get("relevant", True)),
                    categories=cats,
                    urgent=bool(labels.get("urgent", False)),
                    source=str(r.get("source") or ""),
                )
            )
        except (json.JSONDecodeError, AttributeError, TypeError) as exc:
            raise DataError(f"{path}:{n}: not a labelled mention ({exc})") from None
    return out


def load_tweeteval(folder: Path, split: str) -> tuple[list[str], np.ndarray]:
    try:
        texts = (folder / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
        labels = (folder / f"{split}_labels.txt").read_text(encoding="utf-8").split()
    except OSError as exc:
        raise DataError(f"{folder}: cannot read TweetEval {split} files ({exc})") from None
    if len(texts) != len(labels):
        raise DataError(f"{folder}: {split}_text.txt and {split}_labels.txt differ in length")
    return texts, np.asarray([int(x) for x in labels])


def embed_texts(
    embedder: Embedder,
    cache: EmbeddingCache | None,
    texts: Sequence[str],
    progress: Progress | None = None,
) -> np.ndarray:
    """The texts' vectors (as the scorer encodes them); with `progress`, a line per chunk of a
    long encoding (minutes of work on a cold cache)."""
    enc = [encoder_text(t) for t in texts]

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(f"    encoded {done:,} of the {total:,} not in the embedding cache")

    return embedder.embed([text_fingerprint(t) for t in enc], enc, cache, report)


def _best_threshold(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    grid = np.round(np.linspace(0.2, 0.8, 61), 3)
    scores = [f1_score(y, p >= t, average="macro") for t in grid]
    i = int(np.argmax(scores))
    return float(grid[i]), float(scores[i])


def _platt(dec: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    lr = LogisticRegression(C=100.0).fit(dec.reshape(-1, 1), y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def fit_linear(
    x: np.ndarray | sparse.spmatrix, y: np.ndarray, c: float, folds: int = 5
) -> tuple[LinearHead, np.ndarray]:
    """Class-weighted LR; Platt calibration on out-of-fold decisions. Returns head, OOF probs."""

    def lr() -> LogisticRegression:
        return LogisticRegression(C=c, class_weight="balanced", max_iter=3000)

    # Fit on the columns that are ever nonzero: a hashed n-gram slot no training row uses has a
    # zero gradient under the L2 penalty, so its weight stays exactly 0 either way, but L-BFGS
    # still pays for it on every step (37 % of the columns on the shipped data: one fit ~25 %
    # faster, fit_policy 37.6 -> 32.2 s; the same thresholds, weights equal to ~1e-5 for the
    # categories and ~1e-2 for urgent, from rounding along L-BFGS's path).
    dim = x.shape[1]
    active = np.arange(dim)
    if sparse.issparse(x):
        x = sparse.csr_matrix(x)
        active = np.flatnonzero(np.bincount(x.indices, minlength=dim))
        x = x[:, active]
    oof = np.zeros(len(y))
    k = max(2, min(folds, int(min(np.bincount(y, minlength=2)))))
    for tr, te in StratifiedKFold(k, shuffle=True, random_state=SEED).split(np.zeros(len(y)), y):
        oof[te] = lr().fit(x[tr], y[tr]).decision_function(x[te])
    a, b = _platt(oof, y)
    m = lr().fit(x, y)
    w = np.zeros(dim, dtype=np.float32)
    w[active] = m.coef_[0]
    head = LinearHead(w, float(m.intercept_[0]), a, b)
    return head, 1.0 / (1.0 + np.exp(-(a * oof + b)))


def train_hostility(
    embedder: Embedder, cache: EmbeddingCache | None, folder: Path, progress: Progress
) -> tuple[HostilityHead, dict[str, float]]:
    texts, y = load_tweeteval(folder, "train")
    progress(f"  {folder.name}: embedding {len(texts)} tweets (cached after the first run)")
    emb = embed_texts(embedder, cache, texts, progress)
    clean = [model_text(t) for t in texts]
    counts = NgramCounts(clean)
    hasher = TextHasher(fit_idf(counts.word), fit_idf(counts.char))
    x = hostility_matrix(hasher, counts, emb, HOSTILITY_EMB_WEIGHT)
    progress(f"  {folder.name}: fitting ({x.shape[1]} features, 3-fold out-of-fold threshold)")
    head, oof = fit_linear(x, y, HOSTILITY_C, folds=3)
    thr, cv_f1 = _best_threshold(oof, y)
    head = LinearHead(head.w, head.b, head.a, head.c, thr)
    return HostilityHead(hasher, head, HOSTILITY_EMB_WEIGHT), {
        "cv_macro_f1": cv_f1,
        "threshold": thr,
    }


@dataclass
class PolicyData:
    x: np.ndarray  # the dense features (policy_features)
    y: np.ndarray  # n x 5
    urgent: np.ndarray
    # Rows whose urgent label is known (a correction may say only the categories); None: all.
    urgent_known: np.ndarray | None = None
    # Hashed n-gram counts (NgramCounts.word/.char): the idf is fitted on whichever rows train.
    word: sparse.csr_matrix | None = None
    char: sparse.csr_matrix | None = None
    # The unit embeddings and each row's writer (writer_of): the neighbour bank and its groups.
    emb: np.ndarray | None = None
    groups: np.ndarray | None = None
    # Rows that train the heads but never enter the neighbour bank, which the heads file stores
    # row by row: the workspace's corrections are real mentions (privacy: keep the minimum, and
    # an erased mention must not live on in the artefact). None: every row may.
    private: np.ndarray | None = None

    def rows(self, mask: np.ndarray) -> PolicyData:
        known = None if self.urgent_known is None else self.urgent_known[mask]
        return PolicyData(
            self.x[mask],
            self.y[mask],
            self.urgent[mask],
            known,
            None if self.word is None else self.word[np.flatnonzero(mask)],
            None if self.char is None else self.char[np.flatnonzero(mask)],
            None if self.emb is None else self.emb[mask],
            None if self.groups is None else self.groups[mask],
            None if self.private is None else self.private[mask],
        )

    @staticmethod
    def concat(parts: Sequence[PolicyData]) -> PolicyData:
        known = None
        if any(p.urgent_known is not None for p in parts):
            known = np.concatenate(
                [
                    p.urgent_known if p.urgent_known is not None else np.ones(len(p.y), bool)
                    for p in parts
                ]
            )
        words = [p.word for p in parts]
        chars = [p.char for p in parts]
        embs = [p.emb for p in parts]
        groups = [p.groups for p in parts]
        private = None
        if any(p.private is not None for p in parts):
            private = np.concatenate(
                [p.private if p.private is not None else np.zeros(len(p.y), bool) for p in parts]
            )
        return PolicyData(
            np.vstack([p.x for p in parts]),
            np.vstack([p.y for p in parts]),
            np.concatenate([p.urgent for p in parts]),
            known,
            None if any(w is None for w in words) else sparse.vstack(words, format="csr"),
            None if any(c is None for c in chars) else sparse.vstack(chars, format="csr"),
            None if any(e is None for e in embs) else np.vstack(embs),  # type: ignore[arg-type]
            None if any(g is None for g in groups) else np.concatenate(groups),  # type: ignore[arg-type]
            private,
        )

    def matrix(self, ngrams: TextHasher | None) -> np.ndarray | sparse.csr_matrix:
        if ngrams is None or self.word is None or self.char is None:
            return self.x
        return policy_input(self.x, self.word, self.char, ngrams)


@dataclass(frozen=True)
class FittedPolicy:
    """What fit_policy returns: the heads, the n-gram idf they read, and out-of-fold F1s."""

    policy: dict[str, LinearHead]
    urgent: LinearHead
    ngrams: TextHasher | None
    report: dict[str, float]
    neighbours: Neighbours | None = None

    def proba(self, data: PolicyData) -> tuple[np.ndarray, np.ndarray]:
        """Category (n x 5) and urgent (n) probabilities for `data` (before any floor); `data`'s
        rows are never in the neighbour bank, so they look up every bank row."""
        if self.neighbours is not None and data.emb is not None:
            data = replace(data, x=with_neighbours(data.x, data.emb, self.neighbours))
        x = data.matrix(self.ngrams)
        probs = np.stack([self.policy[c].proba(x) for c in CATEGORIES], axis=1)
        return probs, self.urgent.proba(x)


def policy_matrix(
    embedder: Embedder,
    cache: EmbeddingCache | None,
    examples: Sequence[Example],
    hostility: dict[str, HostilityHead],
    prototypes: np.ndarray,
    owner: np.ndarray,
    max_chars: int = 5000,
    progress: Progress | None = None,
) -> PolicyData:
    texts = [prepare_text(e.input, max_chars)[0] for e in examples]
    clean = [model_text(t) for t in texts]
    emb = embed_texts(embedder, cache, texts, progress)
    found = [find_personal_data(t) for t in texts]
    signals = [leak_signals(f, t) for f, t in zip(found, texts, strict=True)]
    counts = NgramCounts(clean)
    host = np.stack([hostility[k].proba(counts, emb) for k in ("offensive", "hate")], axis=1)
    x = policy_features(
        emb, clean, [e.has_media for e in examples], host, signals, prototypes, owner
    )
    y = np.asarray([[c in e.categories for c in CATEGORIES] for e in examples], dtype=int)
    urgent = np.asarray([e.urgent for e in examples], dtype=int)
    groups = np.asarray([writer_of(e.id) for e in examples])
    return PolicyData(x, y, urgent, None, counts.word, counts.char, emb, groups)


def _threshold_for(p: np.ndarray, y: np.ndarray, beta: float) -> float:
    """The calibrated-probability cut that maximises F-beta on out-of-fold predictions."""
    grid = np.round(np.linspace(0.1, 0.7, 25), 3)
    best, best_t = -1.0, 0.5
    for t in grid:
        pred = p >= t
        tp = float(np.sum(pred & (y == 1)))
        prec = tp / max(1.0, float(pred.sum()))
        rec = tp / max(1.0, float(y.sum()))
        f = (1 + beta**2) * prec * rec / max(1e-9, beta**2 * prec + rec)
        if f > best + 1e-9:
            best, best_t = f, float(t)
    return best_t


# The urgent cut keeps at least this out-of-fold recall on the training data. Out-of-fold recall
# on the training data overstates recall on new writers: at 0.95 the grouped urgent recall was
# 0.930 (dev) and 0.915 (dev2); at 0.97, 0.930 and 0.936, for precision 0.555 -> 0.524 on dev2.
URGENT_RECALL = 0.97


def recall_first_threshold(p: np.ndarray, y: np.ndarray, recall: float = URGENT_RECALL) -> float:
    """The calibrated-probability cut with the best out-of-fold precision among those that keep
    recall >= `recall` (the highest such cut on ties); the lowest grid cut if none does."""
    grid = np.round(np.linspace(0.02, 0.9, 45), 3)
    best_t, best_p = float(grid[0]), -1.0
    pos = max(1.0, float(y.sum()))
    for t in grid:
        pred = p >= t
        tp = float(np.sum(pred & (y == 1)))
        if tp / pos < recall:
            continue
        prec = tp / max(1.0, float(pred.sum()))
        if prec >= best_p - 1e-9:
            best_t, best_p = float(t), prec
    return best_t


def fit_policy(data: PolicyData) -> FittedPolicy:
    """Per category: F1-optimal threshold (F2 for data_leak: a miss costs most); urgent: recall
    first (>= URGENT_RECALL out of fold) at the best precision that allows. The n-gram idf is
    fitted on `data`'s rows (the training rows only: never on a set being scored). With
    embeddings, `data`'s rows become the neighbour bank; each training row's kNN block leaves its
    own writer out, as a new author's post will find none of its siblings."""
    neighbours = None
    if data.emb is not None:
        n = len(data.y)
        bank = ~data.private if data.private is not None else np.ones(n, bool)
        if data.urgent_known is not None:
            # A bank row votes on urgent too, so one that leaves urgent unsaid stays out.
            bank &= data.urgent_known
        neighbours = Neighbours(
            data.emb[bank].astype(np.float32),
            np.hstack([data.y, data.urgent[:, None]])[bank].astype(np.float32),
        )
        groups = data.groups if data.groups is not None else np.arange(n).astype(str)
        block = neighbours.features(data.emb, groups, groups[bank])
        data = replace(data, x=np.hstack([data.x, block]).astype(np.float32))
    ngrams = None
    if data.word is not None and data.char is not None:
        ngrams = TextHasher(fit_idf(data.word), fit_idf(data.char))
    x = data.matrix(ngrams)
    heads, report = {}, {}
    for i, c in enumerate(CATEGORIES):
        h, oof = fit_linear(x, data.y[:, i], POLICY_C)
        t = _threshold_for(oof, data.y[:, i], 2.0 if c == "data_leak" else 1.0)
        heads[c] = LinearHead(h.w, h.b, h.a, h.c, t)
        report[c] = float(f1_score(data.y[:, i], oof >= t))
    known = (
        np.flatnonzero(data.urgent_known)
        if data.urgent_known is not None
        else np.arange(len(data.urgent))
    )
    ux, uy = x[known], data.urgent[known]
    h, oof = fit_linear(ux, uy, POLICY_C)
    t = recall_first_threshold(oof, uy)
    urgent = LinearHead(h.w, h.b, h.a, h.c, t)
    report["urgent"] = float(f1_score(uy, oof >= t))
    return FittedPolicy(heads, urgent, ngrams, report, neighbours)


def train_all(
    embedder: Embedder,
    cache: EmbeddingCache | None,
    data_files: Sequence[Path],
    tweeteval: Path,
    progress: Progress,
    keep_hostility: Heads | None = None,
    private_files: Sequence[Path] = (),
) -> tuple[Heads, dict[str, object]]:
    """Fit everything; with `keep_hostility`, reuse that artefact's hostility heads (trained on
    TweetEval alone, so they do not depend on the labelled mentions) and refit the rest. The
    mentions of `private_files` (a user's --data: possibly real mentions) train the heads but
    are not stored in the neighbour bank."""
    hostility: dict[str, HostilityHead] = {}
    report: dict[str, object] = {}
    for task in ("offensive", "hate"):
        if keep_hostility is not None:
            hostility[task] = keep_hostility.hostility[task]
            report[f"hostility.{task}"] = keep_hostility.meta.get("report", {}).get(
                f"hostility.{task}", {}
            )
            continue
        hostility[task], report[f"hostility.{task}"] = train_hostility(
            embedder, cache, tweeteval / task, progress
        )
    private = {Path(f).resolve() for f in private_files}
    rows = [
        (e, Path(f).resolve() in private)
        for f in data_files
        for e in load_examples(f)
        if e.relevant
    ]
    examples = [e for e, _ in rows]
    progress(f"  policy heads: {len(examples)} relevant labelled mentions")
    ptexts, owner = prototype_texts()
    protos = embedder.encode(ptexts)
    data = policy_matrix(embedder, cache, examples, hostility, protos, owner, progress=progress)
    data.private = np.asarray([p for _, p in rows], dtype=bool)
    fitted = fit_policy(data)
    report["policy_oof_f1"] = fitted.report
    meta = {
        "trained": datetime.now(UTC).strftime("%Y%m%d"),
        "data": [f.name for f in data_files],
        "examples": len(examples),
        "report": report,
    }
    heads = Heads(
        embedder.name,
        embedder.dim,
        fitted.policy,
        fitted.urgent,
        hostility,
        protos,
        owner,
        meta,
        fitted.ngrams,
        fitted.neighbours,
    )
    return heads, report


def cross_validate(
    embedder: Embedder,
    cache: EmbeddingCache | None,
    base: Heads,
    train_files: Sequence[Path],
    eval_examples: Sequence[Example],
    k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold category and urgent probabilities for eval_examples: each fold is scored by
    heads trained on the training files plus the OTHER folds. Hostility heads come from `base`
    (trained on TweetEval only, so no fold leaks into them)."""
    train = [e for f in train_files for e in load_examples(f) if e.relevant]
    eval_ids = {(e.title, e.text) for e in eval_examples}
    train = [e for e in train if (e.title, e.text) not in eval_ids]  # never score what we fit on
    d_train = policy_matrix(
        embedder, cache, train, base.hostility, base.prototypes, base.proto_owner
    )
    d_eval = policy_matrix(
        embedder, cache, eval_examples, base.hostility, base.prototypes, base.proto_owner
    )
    probs = np.zeros((len(eval_examples), len(CATEGORIES)))
    urgent = np.zeros(len(eval_examples))
    thresholds = np.zeros_like(probs)
    uthr = np.zeros(len(eval_examples))
    rng = np.random.default_rng(SEED)
    fold_of = rng.permutation(len(eval_examples)) % k
    for f in range(k):
        te = fold_of == f
        fitted = fit_policy(PolicyData.concat([d_train, d_eval.rows(~te)]))
        probs[te], urgent[te] = fitted.proba(d_eval.rows(te))
        thresholds[te] = [fitted.policy[c].threshold for c in CATEGORIES]
        uthr[te] = fitted.urgent.threshold
    return probs, urgent, thresholds, uthr
