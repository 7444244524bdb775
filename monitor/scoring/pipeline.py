"""The Scorer: mentions in, Assessments out (batch).

Order of work per batch: build the scoring text (truncated to scoring.max_chars), look up or
compute embeddings by fingerprint (each distinct fingerprint embedded once), run the pure
personal-data detectors, the hostility heads and the calibrated policy heads, then the pure
severity rules. Model loading happens once, in `load_scorer`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from monitor.config import ScoringSettings
from monitor.models import CATEGORIES, Assessment, Evidence, ScoringInput, Severity, scoring_text
from monitor.scoring import leaks, severity, threats
from monitor.scoring.embeddings import (
    DEFAULT_MODEL_NAME,
    Embedder,
    EmbeddingCache,
    MemoryEmbeddingCache,
    text_fingerprint,
)
from monitor.scoring.gloss import ENCODING, gloss
from monitor.scoring.heads import Heads, HeadsError, NgramCounts, policy_features
from monitor.scoring.pii import STRONG_KINDS, LeakSignals, find_personal_data, leak_signals
from monitor.scoring.taxonomy import cue_evidence

# Personal data that is a leak by itself in a mention about a school. A postcode alone is not (a
# school's own address has one). On the written training data (December 2026) these kinds sit in
# a mention labelled data_leak 85-100 % of the time, except names in a list (44 of 65: a play's
# cast, sports-day winners) and confidentiality markings (11 of 16). Leaving those two to the
# heads changed no grouped figure, so the floor keeps them: missing a class list costs more.
FLOOR_KINDS = STRONG_KINDS - {"postcode"}
LEAK_FLOOR = 0.9
# The structured detectors (leaks.py, threats.py) put their category at least here.
DETECTOR_FLOOR = 0.9
# ScoringSettings' default for threshold and urgent_threshold: "use what training chose".
DEFAULT_THRESHOLD = 0.5
# A running scorer looks at the heads file's stamp at most this often (seconds).
RELOAD_SECONDS = 60.0
log = logging.getLogger(__name__)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")


def prepare_text(inp: ScoringInput, max_chars: int) -> tuple[str, bool]:
    """The scoring text, cut at max_chars (at a word boundary when one is near)."""
    text = scoring_text(inp.title or "", inp.text or "")
    if len(text) <= max_chars:
        return text, False
    cut = text[:max_chars]
    space = cut.rfind(" ", max_chars - 200)
    return (cut[:space] if space > 0 else cut), True


def model_text(text: str) -> str:
    # Same length as the input, so evidence spans still index into the scoring text.
    return _CONTROL.sub(" ", text)


def cache_key(settings: ScoringSettings) -> str:
    """The embedding cache's key for this model reading texts prepared as this release prepares
    them: a mention's vector is cached by its text's fingerprint alone, so a new glossary
    (gloss.ENCODING) must not find the vectors of the texts the old one made."""
    return f"{settings.model or DEFAULT_MODEL_NAME}+{ENCODING}"


def encoder_text(text: str) -> str:
    """What the sentence encoder reads: model_text, glossed word by word into English when the
    text is in a language with a glossary (`gloss`)."""
    return gloss(model_text(text))


def leak_floor(p: float, found: Sequence[Evidence], signals: LeakSignals) -> float:
    """data_leak probability after the rule: at least LEAK_FLOOR when the mention itself carries
    personal data of a strong kind or a mobile number."""
    if signals.mobiles > 0 or any(e.kind in FLOOR_KINDS for e in found):
        return max(p, LEAK_FLOOR)
    return p


def apply_floors(
    p: dict[str, float], text: str, found: Sequence[Evidence], signals: LeakSignals
) -> dict[str, float]:
    """Category probabilities after the rules that set a floor under them."""
    out = dict(p)
    out["data_leak"] = leak_floor(out["data_leak"], found, signals)
    if leaks.sensitive_person(text):
        out["data_leak"] = max(out["data_leak"], DETECTOR_FLOOR)
    if threats.threat(text) or threats.hate(text):
        out["harassment"] = max(out["harassment"], DETECTOR_FLOOR)
    if threats.allegation(text):
        out["reputation"] = max(out["reputation"], DETECTOR_FLOOR)
    return out


class Scorer:
    """Holds the loaded model and heads; `assess` scores a batch."""

    def __init__(
        self,
        embedder: Embedder,
        heads: Heads,
        settings: ScoringSettings,
        cache: EmbeddingCache | None = None,
        heads_path: Path | None = None,
    ) -> None:
        if heads.dim != embedder.dim:
            raise HeadsError(
                f"the heads were trained for a {heads.dim}-dimension model ({heads.model_name}) "
                f"but scoring.model gives {embedder.dim}; run `mention-monitor train`"
            )
        self.embedder = embedder
        self.heads = heads
        self.settings = settings
        self.cache: EmbeddingCache = cache if cache is not None else MemoryEmbeddingCache()
        self.model_version = f"{embedder.name}+heads-{heads.version}"
        # Hot reload: `train --with-corrections` replaces the heads file atomically; a running
        # service notices at its next batch (at most one stat() per RELOAD_SECONDS) and swaps.
        self.heads_path = heads_path
        self.reload_seconds = RELOAD_SECONDS
        self._heads_stamp = _stamp(heads_path)
        self._checked_at = time.monotonic()

    def maybe_reload(self) -> bool:
        """Load the heads file again if it changed since it was loaded; True when it did. A file
        that cannot be loaded (half-copied by hand, wrong model) is logged and the heads in use
        are kept."""
        if self.heads_path is None or time.monotonic() - self._checked_at < self.reload_seconds:
            return False
        self._checked_at = time.monotonic()
        stamp = _stamp(self.heads_path)
        if stamp == self._heads_stamp or stamp is None:
            return False
        from monitor.scoring.heads import load_heads

        try:
            heads = load_heads(self.heads_path)
            if heads.dim != self.embedder.dim:
                raise HeadsError(f"made for a {heads.dim}-dimension model")
        except HeadsError as exc:
            log.warning("new heads file not used", extra={"reason": str(exc)})
            self._heads_stamp = stamp  # don't retry the same broken file every minute
            return False
        self._heads_stamp = stamp
        self.heads = heads  # one assignment: a batch in flight keeps the heads it started with
        self.model_version = f"{self.embedder.name}+heads-{heads.version}"
        log.info("heads reloaded", extra={"model_version": self.model_version})
        return True

    def threshold(self, category: str) -> float:
        """scoring.threshold if changed from its default 0.5, else the cut chosen in training."""
        t = self.settings.threshold
        return t if t != DEFAULT_THRESHOLD else self.heads.policy[category].threshold

    def urgent_threshold(self) -> float:
        t = self.settings.urgent_threshold
        return t if t != DEFAULT_THRESHOLD else self.heads.urgent.threshold

    def embed(self, inputs: Sequence[ScoringInput]) -> tuple[list[str], list[bool], np.ndarray]:
        prepared = [prepare_text(i, self.settings.max_chars) for i in inputs]
        texts = [t for t, _ in prepared]
        fps = [i.fingerprint or text_fingerprint(t) for i, t in zip(inputs, texts, strict=True)]
        vecs = self.embedder.embed(fps, [encoder_text(t) for t in texts], self.cache)
        return texts, [tr for _, tr in prepared], vecs

    def probabilities(
        self, texts: Sequence[str], has_media: Sequence[bool], emb: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, list[list[Evidence]]]:
        """Per text: category probabilities (n x 5), urgent probability (n), personal data."""
        heads = self.heads  # one set of heads for the whole batch, even if a reload swaps them
        clean = [model_text(t) for t in texts]
        found = [find_personal_data(t) for t in texts]
        signals = [leak_signals(ev, t) for ev, t in zip(found, texts, strict=True)]
        counts = NgramCounts(clean)  # hashed once, shared by both hostility heads
        host = np.stack(
            [heads.hostility[k].proba(counts, emb) for k in ("offensive", "hate")], axis=1
        )
        dense = policy_features(
            emb, clean, has_media, host, signals, heads.prototypes, heads.proto_owner
        )
        x = heads.policy_x(dense, emb, counts)
        probs = np.stack([heads.policy[c].proba(x) for c in CATEGORIES], axis=1)
        for n, ev in enumerate(found):
            row = dict(zip(CATEGORIES, (float(v) for v in probs[n]), strict=True))
            floored = apply_floors(row, texts[n], ev, signals[n])
            probs[n] = [floored[c] for c in CATEGORIES]
        return probs, heads.urgent.proba(x), found

    def hostility(self, texts: Sequence[str], task: str) -> np.ndarray:
        """The general hostility signal (TweetEval 'offensive' or 'hate') for raw texts."""
        plain = [model_text(t) for t in texts]
        enc = [gloss(t) for t in plain]  # encoder_text, without cleaning each text twice
        emb = self.embedder.embed([text_fingerprint(t) for t in enc], enc, self.cache)
        return self.heads.hostility[task].proba(plain, emb)

    def assess(self, inputs: Sequence[ScoringInput]) -> list[Assessment]:
        """One Assessment per input, in order."""
        if not inputs:
            return []
        self.maybe_reload()
        texts, truncated, emb = self.embed(inputs)
        media = [bool(i.has_media) for i in inputs]
        probs, urgent_p, found = self.probabilities(texts, media, emb)
        out = []
        for n, text in enumerate(texts):
            out.append(self._one(text, truncated[n], probs[n], float(urgent_p[n]), found[n]))
        return out

    def _one(
        self, text: str, truncated: bool, probs: np.ndarray, urgent_p: float, found: list[Evidence]
    ) -> Assessment:
        if not text.strip():
            return Assessment(
                probabilities=dict.fromkeys(CATEGORIES, 0.0),
                categories=(),
                severity=Severity.DIGEST,
                reason="empty text: nothing to score",
                model_version=self.model_version,
                truncated=truncated,
            )
        p = {c: round(float(probs[i]), 4) for i, c in enumerate(CATEGORIES)}
        cats = tuple(c for c in CATEGORIES if p[c] >= self.threshold(c))
        sev, reason = severity.decide(p, cats, text, found, urgent_p, self.urgent_threshold())
        evidence: list[Evidence] = list(found)
        for c in cats:
            if c != "data_leak":
                evidence += cue_evidence(text, c)
        evidence.sort(key=lambda e: (e.start, e.end))
        return Assessment(
            probabilities=p,
            categories=cats,
            severity=sev,
            reason=reason,
            evidence=tuple(evidence),
            model_version=self.model_version,
            truncated=truncated,
        )


def load_scorer(
    settings: ScoringSettings, cache: EmbeddingCache | None = None, concurrency: int = 1
) -> Scorer:
    """Load the model (once) and the heads named by the settings. `concurrency`: how many
    batches this process may score at once (its worker threads; see embeddings.share_cores)."""
    from monitor.scoring.embeddings import cores_each, load_model, share_cores
    from monitor.scoring.heads import load_heads, profanity

    path = heads_file(settings)
    heads = load_heads(path)
    embedder = load_model(settings.model, settings.batch_size)
    threads = share_cores(concurrency)
    embedder.limit_concurrency(cores_each(threads))  # the encodes that fit at once
    profanity(["warm-up"])  # loads profanity-check's bundled model now, not in the first batch
    return Scorer(embedder, heads, settings, cache, heads_path=path)


def heads_file(settings: ScoringSettings) -> Path:
    """The heads file in use: scoring.heads, else the one the package ships."""
    from monitor.scoring.heads import DEFAULT_HEADS

    return Path(settings.heads).expanduser() if settings.heads else DEFAULT_HEADS


def _stamp(path: Path | None) -> tuple[int, int, int] | None:
    """What changes when the file is replaced (os.replace gives a new inode) or rewritten."""
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ino, st.st_size)
