"""Classifier heads on top of the embeddings, and their artefact (numpy .npz + JSON, no pickle).

- Policy heads: one calibrated logistic regression per category, plus one for `urgent`, over
  [embedding, similarity to each category's prototypes, hostility, personal-data signals, cue
  counts, has_media] and the hashed word+character n-gram TF-IDF of the text (idf fitted on the
  labelled mentions: the words people use, which frozen sentence embeddings blur). Probabilities
  are Platt-calibrated on out-of-fold decision values. With a neighbour bank, the dense features
  also carry the similarity-weighted labels of the K nearest labelled mentions (`Neighbours`).
- Hostility heads ("offensive", "hate"): logistic regression over hashed word+character n-gram
  TF-IDF plus the embedding, trained on TweetEval; a general abuse signal fed to the policy heads.

Inference here is plain numpy (plus sklearn's stateless HashingVectorizer); training lives in
train.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from threadpoolctl import ThreadpoolController

from monitor.models import CATEGORIES
from monitor.scoring.lexicon import lexicon_features
from monitor.scoring.pii import LeakSignals
from monitor.scoring.taxonomy import TAXONOMY, cue_counts

ARTEFACT_FORMAT = 2
DEFAULT_HEADS = Path(__file__).resolve().parent / "data" / "heads.npz"
HEADS_SETTING = "scoring.heads"

WORD_BITS = 16
# Scale of the profanity-check column against the l2-normed n-gram blocks (one C for all).
PROFANITY_WEIGHT = 4.0
CHAR_BITS = 17

_USER = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+")


class HeadsError(RuntimeError):
    """The heads artefact is missing, damaged or made for another model."""


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40.0, 40.0)))


def normalise_for_ngrams(text: str) -> str:
    # @handles and links carry no hostility; fold them so they don't fill the hash space.
    return _URL.sub(" URL ", _USER.sub(" @user ", text)).lower()


class NgramCounts:
    """Hashed word (1-2) and char_wb (2-5) n-gram counts of a batch, computed once and shared by
    every head that reads n-grams (hashing is most of their cost), plus the lexicon counts and
    the profanity-check probability."""

    _word = HashingVectorizer(
        n_features=2**WORD_BITS,
        ngram_range=(1, 2),
        alternate_sign=False,
        norm=None,
        preprocessor=normalise_for_ngrams,
        token_pattern=r"(?u)\b\w+\b|[!?]+|[^\w\s]",  # noqa: S106
    )
    _char = HashingVectorizer(
        n_features=2**CHAR_BITS,
        analyzer="char_wb",
        ngram_range=(2, 5),
        alternate_sign=False,
        norm=None,
        preprocessor=normalise_for_ngrams,
    )

    def __init__(self, texts: Sequence[str]) -> None:
        self.word: sparse.csr_matrix = self._word.transform(texts)
        self.char: sparse.csr_matrix = self._char.transform(texts)
        lex = np.asarray([lexicon_features(t) for t in texts], dtype=np.float32)
        prof = profanity(texts)[:, None] * PROFANITY_WEIGHT
        self.lexicon = np.hstack([lex.reshape(len(texts), -1), prof])


def profanity(texts: Sequence[str]) -> np.ndarray:
    """alt-profanity-check's probability (a linear SVM over word n-grams trained on ~200k
    labelled comments, shipped inside its wheel; no download): a second, independently trained
    abuse signal for the hostility heads."""
    if not texts:
        return np.zeros(0, dtype=np.float32)
    clean = [normalise_for_ngrams(t) for t in texts]
    linear = _profanity_linear()
    if linear is None:  # a model of another shape: the library's own (slower) path
        from profanity_check import predict_prob

        return np.asarray(predict_prob(clean), dtype=np.float32)
    return linear.predict(clean)


class _ProfanityLinear:
    """profanity-check's model (sigmoid-calibrated linear SVMs averaged over its CV folds)
    evaluated in a few numpy operations, in sklearn's own order so every probability is
    bit-identical: sklearn's per-call checks cost ~15 ms, more than the arithmetic, on every
    scored batch (one per source run)."""

    def __init__(self, vectorizer: Any, model: Any) -> None:
        self.vectorizer = vectorizer
        folds = model.calibrated_classifiers_
        self.coef = np.stack([np.ravel(f.estimator.coef_) for f in folds])  # (folds, features)
        self.intercept = np.array([float(np.ravel(f.estimator.intercept_)[0]) for f in folds])
        self.a = np.array([float(f.calibrators[0].a_) for f in folds])
        self.b = np.array([float(f.calibrators[0].b_) for f in folds])

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        from scipy.special import expit

        x = self.vectorizer.transform(texts)
        decision = np.asarray(x @ self.coef.T) + self.intercept  # LinearSVC.decision_function
        proba = expit(-(self.a * decision + self.b))  # _SigmoidCalibration.predict
        proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
        mean = np.zeros(len(texts))
        for k in range(proba.shape[1]):  # CalibratedClassifierCV: sum over folds, then divide
            mean += proba[:, k]
        mean /= proba.shape[1]
        return mean.astype(np.float32)


_PROFANITY: list[_ProfanityLinear | None] = []


def _profanity_linear() -> _ProfanityLinear | None:
    """The bundled model as a _ProfanityLinear (loaded once, on first use), or None when its
    shape is not the binary sigmoid-calibrated linear one this reproduces."""
    if not _PROFANITY:
        from profanity_check import profanity_check as bundled

        model = bundled.model
        ok = (
            getattr(model, "method", None) == "sigmoid"
            and list(getattr(model, "classes_", [])) == [0, 1]
            and all(
                hasattr(f.estimator, "coef_")
                and np.asarray(f.estimator.coef_).shape[0] == 1
                and len(f.calibrators) == 1
                for f in model.calibrated_classifiers_
            )
        )
        _PROFANITY.append(_ProfanityLinear(bundled.vectorizer, model) if ok else None)
    return _PROFANITY[0]


class TextHasher:
    """idf weights over the shared hashed n-gram counts; each block sublinear-tf, l2-normed."""

    def __init__(self, idf_word: np.ndarray, idf_char: np.ndarray) -> None:
        self.idf_word = idf_word.astype(np.float32)
        self.idf_char = idf_char.astype(np.float32)

    @property
    def dim(self) -> int:
        return 2**WORD_BITS + 2**CHAR_BITS

    @staticmethod
    def raw(texts: Sequence[str]) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        counts = NgramCounts(texts)
        return counts.word, counts.char

    def weigh(self, counts: NgramCounts) -> sparse.csr_matrix:
        return sparse.hstack(
            [_tfidf(counts.word, self.idf_word), _tfidf(counts.char, self.idf_char)], format="csr"
        )

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return self.weigh(NgramCounts(texts))


def _tfidf(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    # On the CSR arrays directly: scipy's broadcasting multiply and diagonal product cost more
    # in per-call checks than in arithmetic on a source's small batch (bench/cycle.py).
    m = counts.tocsr()
    m.sum_duplicates()
    data = np.log1p(m.data.astype(np.float32)) * idf[m.indices]  # sublinear tf, then idf
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=m.shape[0]))
    norms[norms == 0] = 1.0
    data = (data / norms[rows]).astype(np.float32)
    return sparse.csr_matrix((data, m.indices.copy(), m.indptr.copy()), shape=m.shape)


def fit_idf(counts: sparse.csr_matrix) -> np.ndarray:
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    return (np.log((1 + n) / (1 + df)) + 1.0).astype(np.float32)


@dataclass(frozen=True)
class LinearHead:
    """w·x + b, then Platt calibration a·z + c; `threshold` applies to the calibrated value."""

    w: np.ndarray
    b: float
    a: float = 1.0
    c: float = 0.0
    threshold: float = 0.5

    def decision(self, x: np.ndarray | sparse.spmatrix) -> np.ndarray:
        return np.asarray(x @ self.w).ravel() + self.b

    def proba(self, x: np.ndarray | sparse.spmatrix) -> np.ndarray:
        return sigmoid(self.a * self.decision(x) + self.c)


@dataclass(frozen=True)
class HostilityHead:
    hasher: TextHasher
    text: LinearHead  # over [hashed n-grams | embedding * emb_weight | lexicon counts]
    emb_weight: float

    def proba(self, texts: Sequence[str] | NgramCounts, emb: np.ndarray) -> np.ndarray:
        counts = texts if isinstance(texts, NgramCounts) else NgramCounts(texts)
        return self.text.proba(hostility_matrix(self.hasher, counts, emb, self.emb_weight))


def hostility_matrix(
    hasher: TextHasher,
    texts: Sequence[str] | NgramCounts,
    emb: np.ndarray,
    emb_weight: float,
) -> sparse.csr_matrix:
    counts = texts if isinstance(texts, NgramCounts) else NgramCounts(texts)
    return sparse.hstack(
        [
            hasher.weigh(counts),
            sparse.csr_matrix(emb * emb_weight),
            sparse.csr_matrix(counts.lexicon),
        ],
        format="csr",
    )


def policy_input(
    dense: np.ndarray,
    word: sparse.csr_matrix,
    char: sparse.csr_matrix,
    ngrams: TextHasher | None,
) -> np.ndarray | sparse.csr_matrix:
    """What the policy heads multiply: the dense features, then (when the heads have an n-gram
    idf) the text's n-gram TF-IDF blocks, scaled by POLICY_NGRAM_WEIGHT."""
    if ngrams is None:
        return dense
    tfidf = sparse.hstack(
        [_tfidf(word, ngrams.idf_word), _tfidf(char, ngrams.idf_char)], format="csr"
    )
    return sparse.hstack([sparse.csr_matrix(dense), tfidf * POLICY_NGRAM_WEIGHT], format="csr")


POLICY_EXTRA = ("hostile_offensive", "hostile_hate", "media", "media_cues")
# The embedding block is scaled up against the engineered features: with one C for all, this
# regularises it less. Chosen on out-of-fold F1 of the bundled training data (1, 2, 3 tried).
POLICY_EMB_WEIGHT = 3.0
# The n-gram blocks (each l2-normed) against the dense features. Grouped macro-F1 (eval
# --grouped), old heads -> with n-grams at weight 1: dev 0.792 -> 0.805, dev2 0.674 -> 0.709.
POLICY_NGRAM_WEIGHT = 1.0


def policy_features(
    emb: np.ndarray,
    texts: Sequence[str],
    has_media: Sequence[bool],
    hostility: np.ndarray,
    signals: Sequence[LeakSignals],
    prototypes: np.ndarray,
    proto_owner: np.ndarray,
) -> np.ndarray:
    """The matrix the policy heads read: one row per text."""
    sims = emb @ prototypes.T  # cosine: both sides unit-normalised
    proto = np.stack(
        [sims[:, proto_owner == i].max(axis=1) for i in range(len(CATEGORIES))], axis=1
    )
    rows = []
    for i, text in enumerate(texts):
        cues = cue_counts(text)
        media = 1.0 if has_media[i] else 0.0
        rows.append(
            [
                *hostility[i],
                media,
                media * cues[CATEGORIES.index("pupil_image")],
                *signals[i].as_vector(),
                *cues,
            ]
        )
    extra = np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
    return np.hstack([emb * POLICY_EMB_WEIGHT, proto * 2.0, extra]).astype(np.float32)


# Neighbours: the labels of the labelled mentions nearest to a text (cosine on the embedding),
# weighted by similarity, as features of the policy heads. A linear head on a frozen embedding
# draws one plane per category; the neighbours' votes let the heads follow the many small
# regions that individually written mentions fill. Fixed before measuring, not tuned on the dev
# sets: K 20, weight similarity**4 (the closest count most), block weight 3 like the embedding.
KNN_K = 20
KNN_POWER = 4
KNN_WEIGHT = 3.0
_KNN_CHUNK = 1024  # rows per similarity block: bounds memory at 1024 x the bank's size
# The bank lookup runs its matrix product on one BLAS thread. Left to itself OpenBLAS wakes a
# thread per core for it, and those threads keep spinning into the model's next call: one mention
# at a time took 115 ms at p50 instead of 49 (bench/score.py), against 2.5 ms for the lookup
# itself on one thread. Built once: inspecting the loaded libraries costs milliseconds.
_THREADS = ThreadpoolController()


@dataclass(frozen=True)
class Neighbours:
    """The bank of labelled mentions the kNN features look up."""

    vectors: np.ndarray  # m x dim, unit rows
    # m x (categories + urgent), 0/1. Only bundled mentions enter the bank, and each of those
    # says whether it is urgent; a correction that leaves urgent unsaid never gets here.
    labels: np.ndarray

    @property
    def width(self) -> int:
        return self.labels.shape[1] + 1

    def features(
        self,
        emb: np.ndarray,
        own_groups: np.ndarray | None = None,
        bank_groups: np.ndarray | None = None,
    ) -> np.ndarray:
        """n x (categories + urgent + 1): per label, the similarity-weighted share of the K
        nearest bank rows that carry it; then the nearest similarity. With groups (training
        only), a bank row of the text's own group is never its neighbour: a writer's other posts
        would vote for it, which a new author's post never gets."""
        out = np.zeros((len(emb), self.width), dtype=np.float32)
        m = len(self.vectors)
        if m == 0 or len(emb) == 0:
            return out
        k = min(KNN_K, m)
        for s in range(0, len(emb), _KNN_CHUNK):
            with _THREADS.limit(limits=1, user_api="blas"):
                sims = emb[s : s + _KNN_CHUNK] @ self.vectors.T
            if own_groups is not None and bank_groups is not None:
                sims[own_groups[s : s + _KNN_CHUNK, None] == bank_groups[None, :]] = -1.0
            idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            top = np.take_along_axis(sims, idx, axis=1)
            w = np.maximum(top, 0.0) ** KNN_POWER + 1e-6
            lab = self.labels[idx]  # rows x k x labels
            shares = np.einsum("nk,nkc->nc", w, lab) / w.sum(axis=1, keepdims=True)
            out[s : s + _KNN_CHUNK, :-1] = shares
            out[s : s + _KNN_CHUNK, -1] = top.max(axis=1)
        return out * KNN_WEIGHT


def with_neighbours(
    dense: np.ndarray, emb: np.ndarray, neighbours: Neighbours | None
) -> np.ndarray:
    """The dense policy features, with the kNN block appended when the heads have a bank."""
    if neighbours is None:
        return dense
    return np.hstack([dense, neighbours.features(emb)]).astype(np.float32)


def prototype_texts() -> tuple[list[str], np.ndarray]:
    texts, owner = [], []
    for i, key in enumerate(CATEGORIES):
        for p in TAXONOMY[key].prototypes:
            texts.append(p)
            owner.append(i)
    return texts, np.asarray(owner)


@dataclass(frozen=True)
class Heads:
    """Everything `train` produces; saved as one .npz."""

    model_name: str
    dim: int
    policy: dict[str, LinearHead]
    urgent: LinearHead
    hostility: dict[str, HostilityHead]
    prototypes: np.ndarray
    proto_owner: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    # idf of the policy heads' n-gram block; None for heads trained without it.
    ngrams: TextHasher | None = None
    # the labelled mentions the kNN block looks up; None for heads trained without it.
    neighbours: Neighbours | None = None

    def policy_x(
        self, dense: np.ndarray, emb: np.ndarray, counts: NgramCounts
    ) -> np.ndarray | sparse.csr_matrix:
        dense = with_neighbours(dense, emb, self.neighbours)
        return policy_input(dense, counts.word, counts.char, self.ngrams)

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "untrained"))

    def save(self, path: Path) -> str:
        arrays: dict[str, np.ndarray] = {
            "prototypes": self.prototypes.astype(np.float32),
            "proto_owner": self.proto_owner.astype(np.int16),
        }
        heads_meta: dict[str, Any] = {}

        def put(name: str, h: LinearHead) -> None:
            arrays[f"{name}.w"] = h.w.astype(np.float16 if h.w.size > 10_000 else np.float32)
            heads_meta[name] = {"b": h.b, "a": h.a, "c": h.c, "threshold": h.threshold}

        for k, h in self.policy.items():
            put(f"policy.{k}", h)
        put("urgent", self.urgent)
        for k, hh in self.hostility.items():
            put(f"hostility.{k}", hh.text)
            heads_meta[f"hostility.{k}"]["emb_weight"] = hh.emb_weight
            arrays[f"hostility.{k}.idf_word"] = hh.hasher.idf_word.astype(np.float16)
            arrays[f"hostility.{k}.idf_char"] = hh.hasher.idf_char.astype(np.float16)
        if self.ngrams is not None:
            arrays["policy.idf_word"] = self.ngrams.idf_word.astype(np.float16)
            arrays["policy.idf_char"] = self.ngrams.idf_char.astype(np.float16)
        if self.neighbours is not None:
            # float16 halves the file; cosine changes by ~1e-3, far below the gaps between
            # neighbours that matter.
            arrays["knn.vectors"] = self.neighbours.vectors.astype(np.float16)
            arrays["knn.labels"] = self.neighbours.labels.astype(np.uint8)
        body = {
            "format": ARTEFACT_FORMAT,
            "model_name": self.model_name,
            "dim": self.dim,
            "heads": heads_meta,
            "meta": self.meta,
        }
        digest = hashlib.sha256()
        for k in sorted(arrays):
            digest.update(k.encode())
            digest.update(np.ascontiguousarray(arrays[k]).tobytes())
        digest.update(json.dumps(body, sort_keys=True, default=str).encode())
        version = f"{self.meta.get('trained', 'heads')}-{digest.hexdigest()[:10]}"
        body["meta"] = {**self.meta, "version": version}
        arrays["__meta__"] = np.array(json.dumps(body, default=str))
        path.parent.mkdir(parents=True, exist_ok=True)
        # Atomically: a running service may reload this file at any moment (hot reload), so it
        # must only ever see the old file or the whole new one.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("wb") as fh:
                np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return version


def load_heads(path: Path | None = None) -> Heads:
    path = path or DEFAULT_HEADS
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        body = json.loads(str(arrays.pop("__meta__")))
    except FileNotFoundError:
        raise HeadsError(
            f"no trained heads at {path}; set {HEADS_SETTING} to a file made by "
            "`mention-monitor train`, or leave it empty for the shipped one"
        ) from None
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise HeadsError(
            f"the heads file {path} ({HEADS_SETTING}) is damaged: {exc}; "
            "re-create it with `mention-monitor train`"
        ) from None
    if body.get("format") != ARTEFACT_FORMAT:
        raise HeadsError(f"{path} has format {body.get('format')}; retrain with this version")
    hm = body["heads"]

    def get(name: str) -> LinearHead:
        m = hm[name]
        return LinearHead(
            arrays[f"{name}.w"].astype(np.float32),
            float(m["b"]),
            float(m["a"]),
            float(m["c"]),
            float(m["threshold"]),
        )

    hostility = {}
    for name in hm:
        if name.startswith("hostility."):
            k = name.split(".", 1)[1]
            hasher = TextHasher(arrays[f"{name}.idf_word"], arrays[f"{name}.idf_char"])
            hostility[k] = HostilityHead(hasher, get(name), float(hm[name]["emb_weight"]))
    ngrams = None
    if "policy.idf_word" in arrays:
        ngrams = TextHasher(arrays["policy.idf_word"], arrays["policy.idf_char"])
    neighbours = None
    if "knn.vectors" in arrays:
        neighbours = Neighbours(
            arrays["knn.vectors"].astype(np.float32),
            arrays["knn.labels"].astype(np.float32),
        )
    return Heads(
        model_name=str(body["model_name"]),
        dim=int(body["dim"]),
        policy={k: get(f"policy.{k}") for k in CATEGORIES},
        urgent=get("urgent"),
        hostility=hostility,
        prototypes=arrays["prototypes"].astype(np.float32),
        proto_owner=arrays["proto_owner"].astype(np.int64),
        meta=dict(body.get("meta", {})),
        ngrams=ngrams,
        neighbours=neighbours,
    )
