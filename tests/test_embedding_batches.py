"""Encoding in batches of similar length (embeddings.length_batches): the grouping rule, and the
real model giving each text the vector it gets alone, in the caller's order."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.scoring.embeddings import Embedder, length_batches


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    from monitor.config import ScoringSettings
    from monitor.scoring import load_scorer

    return load_scorer(ScoringSettings()).embedder


def test_similar_lengths_share_a_batch_and_long_ones_go_alone() -> None:
    lengths = [10, 200, 12, 11, 190, 9]
    batches = length_batches(lengths, cap=32)
    assert sorted(i for b in batches for i in b) == list(range(6))  # every text exactly once
    assert batches[0] == [1, 4]  # the two long ones, longest first (padding 200 x 2 <= 1.25 x 390)
    assert batches[1] == [2, 3, 0, 5]  # the short ones together
    for b in batches:
        longest = max(lengths[i] for i in b)
        assert longest * len(b) <= 1.25 * sum(lengths[i] for i in b)


def test_the_cap_and_the_slack_limit_a_batch() -> None:
    assert [len(b) for b in length_batches([5] * 70, cap=32)] == [32, 32, 6]
    # A short text after a long one would double the padded size: it starts a new batch.
    assert length_batches([100, 10], cap=32) == [[0], [1]]
    assert length_batches([], cap=32) == []


@pytest.mark.slow
def test_encode_keeps_order_and_each_text_gets_its_own_vector(embedder: Embedder) -> None:
    texts = [
        "Ankermoor Primary nativity tonight",
        "A much longer post about the Year 6 trip to the coast, the coach was late and the "
        "children waited in the rain for an hour while staff tried to reach the company " * 3,
        "ok",
        "Parents' evening is on Thursday from 4pm in the main hall.",
    ]
    together = embedder.encode(texts)
    alone = np.stack([embedder.encode([t])[0] for t in texts])
    assert together.shape == (4, embedder.dim)
    # Row i is text i's own vector (the batches were formed out of order and put back).
    np.testing.assert_allclose(together, alone, atol=1e-5)


@pytest.mark.slow
def test_counting_tokens_leaves_the_models_tokenizer_as_it_was(embedder: Embedder) -> None:
    """The service's workers encode concurrently. Counting tokens with the model's own tokenizer
    re-configured it (padding off) under another thread's encode, which then failed with "Unable
    to create tensor" (seen with 8 threads in an experiment). The counter is a private copy."""
    shared = embedder.model.tokenizer.backend_tokenizer
    before = (shared.padding, shared.truncation)
    assert before[0] is not None  # the library pads its batches
    assert embedder._token_lengths(["a short post", "a longer post " * 400]) == [5, 256]
    assert (shared.padding, shared.truncation) == before


@pytest.mark.slow
def test_worker_threads_encoding_at_once_get_their_own_vectors(embedder: Embedder) -> None:
    from concurrent.futures import ThreadPoolExecutor

    groups = [
        [f"Post {g} about Ankermoor" + " and the school run" * (g % 9), f"Reply {g}"]
        for g in range(60)
    ]
    expected = [embedder.encode(g) for g in groups]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(embedder.encode, groups))
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, atol=1e-5)


@pytest.mark.slow
def test_no_more_encodes_run_at_once_than_the_slots_allow(embedder: Embedder) -> None:
    """The service's eight workers share two cores: limit_concurrency(2) lets two model calls
    run at once and queues the rest, and each caller still gets its own vectors."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    class Spy:
        """The real model, counting how many of its encode calls overlap."""

        def __init__(self, model: object) -> None:
            self.model, self.now, self.most = model, 0, 0
            self.lock = threading.Lock()

        def encode(self, *a: object, **kw: object) -> np.ndarray:
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
            try:
                time.sleep(0.02)  # long enough that free threads are sure to overlap
                return self.model.encode(*a, **kw)  # type: ignore[attr-defined, no-any-return]
            finally:
                with self.lock:
                    self.now -= 1

    spy = Spy(embedder.model)
    gated = Embedder(spy, "spy", batch_size=4)
    groups = [[f"Post {g} about the Ankermoor school run" * (1 + g % 5)] * 3 for g in range(24)]
    expected = [embedder.encode(g) for g in groups]

    def run_all() -> list[np.ndarray]:
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(gated.encode, groups))

    assert run_all() and spy.most > 2  # without a limit, the eight threads overlap
    spy.most = 0
    gated.limit_concurrency(2)
    got = run_all()
    assert spy.most == 2
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, atol=1e-5)


@pytest.mark.slow
def test_a_long_embedding_reports_each_chunk_and_keeps_what_it_finished(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`train` on a cold cache encodes tens of thousands of texts: it says how far it is after
    each chunk, and an interrupt keeps the chunks already encoded (the command saves the cache
    on the way out), so the next run encodes only the rest."""
    from monitor.scoring import embeddings
    from monitor.scoring.embeddings import MemoryEmbeddingCache, text_fingerprint
    from monitor.scoring.train import embed_texts

    monkeypatch.setattr(embeddings, "EMBED_CHUNK", 3)
    texts = [f"Ankermoor Primary post number {i}: the fair is on Saturday" for i in range(8)]
    fps = [text_fingerprint(t) for t in texts]
    seen: list[tuple[int, int]] = []
    cache = MemoryEmbeddingCache()
    vectors = embedder.embed(fps, texts, cache, lambda done, total: seen.append((done, total)))
    assert seen == [(3, 8), (6, 8), (8, 8)]
    assert len(cache) == 8
    np.testing.assert_allclose(vectors, embedder.encode(texts), atol=1e-5)

    interrupted = MemoryEmbeddingCache()
    encode = embedder.encode
    calls: list[int] = []

    def encode_until_interrupted(batch: list[str]) -> np.ndarray:
        calls.append(len(batch))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return encode(batch)

    with monkeypatch.context() as mp:
        mp.setattr(embedder, "encode", encode_until_interrupted)
        with pytest.raises(KeyboardInterrupt):
            embedder.embed(fps, texts, interrupted)
    assert len(interrupted) == 6
    before = embedder.encoded_count
    embedder.embed(fps, texts, interrupted)
    assert embedder.encoded_count - before == 2

    # What `train` prints: a line per chunk, only when more than one chunk is missing.
    lines: list[str] = []
    embed_texts(embedder, MemoryEmbeddingCache(), [f"{t}!" for t in texts], lines.append)
    assert lines[-1] == "    encoded 8 of the 8 not in the embedding cache"
    assert len(lines) == 3
    lines.clear()
    embed_texts(embedder, MemoryEmbeddingCache(), texts[:3], lines.append)
    assert lines == []
