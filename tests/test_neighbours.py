"""The kNN block of the policy heads (heads.Neighbours): pure numpy, no model."""

from __future__ import annotations

import numpy as np

from monitor.scoring.heads import KNN_K, KNN_WEIGHT, Neighbours
from monitor.scoring.train import PolicyData, fit_policy, writer_of


def _unit(rows: list[list[float]]) -> np.ndarray:
    a = np.asarray(rows, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def _bank(vectors: np.ndarray, labels: list[list[int]]) -> Neighbours:
    return Neighbours(vectors, np.asarray(labels, dtype=np.float32))


def test_the_nearest_labelled_mentions_vote_by_similarity() -> None:
    # Three bank rows: two near the query carry label 0, one far away carries label 1.
    vectors = _unit([[1, 0.05], [1, -0.05], [0, 1]])
    bank = _bank(vectors, [[1, 0, 1], [1, 0, 0], [0, 1, 1]])
    f = bank.features(_unit([[1, 0]])) / KNN_WEIGHT
    label0, label1, urgent, nearest = f[0]
    assert label0 > 0.99 and label1 < 0.01  # the far row weighs ~0 (similarity**4)
    assert 0.45 < urgent < 0.55  # one of the two near rows is urgent
    assert nearest > 0.99
    assert f.shape == (1, 4)


def test_a_training_row_never_finds_its_own_writer() -> None:
    # Row 0's only close neighbour is row 1, by the same writer: it must look past it.
    vectors = _unit([[1, 0], [1, 0.01], [0.2, 1]])
    bank = _bank(vectors, [[1, 1], [1, 1], [0, 0]])
    groups = np.asarray(["wa", "wa", "wb"])
    with_siblings = bank.features(vectors) / KNN_WEIGHT
    without = bank.features(vectors, groups, groups) / KNN_WEIGHT
    assert with_siblings[0, 0] > 0.9
    assert without[0, 0] < 0.01  # only wb's row is left for it, and that says no
    assert without[0, -1] < 0.5  # the nearest similarity is wb's, not its sibling's


def test_a_row_that_leaves_urgent_unsaid_never_enters_the_bank() -> None:
    # Its 0 in the urgent column would read as "not urgent" to every text near it.
    rng = np.random.default_rng(1)
    n = 40
    emb = _unit(rng.normal(size=(n, 6)).tolist())
    known = np.ones(n, bool)
    known[:5] = False
    data = PolicyData(
        x=emb.copy(),
        y=rng.integers(0, 2, size=(n, 5)),
        urgent=np.tile([0, 1], n // 2),
        emb=emb,
        groups=np.asarray([f"w{i % 4}" for i in range(n)]),
        urgent_known=known,
    )
    fitted = fit_policy(data)
    assert fitted.neighbours is not None
    assert len(fitted.neighbours.vectors) == n - 5


def test_a_bank_smaller_than_k_and_an_empty_batch() -> None:
    vectors = _unit([[1, 0], [0, 1]])
    bank = _bank(vectors, [[1, 0], [0, 1]])
    assert KNN_K > 2
    assert bank.features(_unit([[1, 0]])).shape == (1, 3)
    assert bank.features(np.zeros((0, 2), dtype=np.float32)).shape == (0, 3)


def test_writer_of_names_the_group_of_an_id() -> None:
    assert writer_of("wi-0001") == "wi"
    assert writer_of("wn2-0001") == "wn2"
    assert writer_of("a001") == "a"
    assert writer_of("train-231") == "train"
    assert writer_of("correction-7") == "correction"
    assert writer_of("custom") == "custom"


def test_private_rows_train_the_heads_but_never_enter_the_bank() -> None:
    rng = np.random.default_rng(0)
    n = 80
    emb = _unit(rng.normal(size=(n, 8)).tolist())
    y = rng.integers(0, 2, size=(n, 5))
    urgent = rng.integers(0, 2, size=n)
    private = np.zeros(n, bool)
    private[::4] = True  # e.g. the workspace's corrections: real mentions
    data = PolicyData(
        x=emb.copy(),
        y=y,
        urgent=urgent,
        emb=emb,
        groups=np.asarray([f"w{i % 5}" for i in range(n)]),
        private=private,
    )
    fitted = fit_policy(data)
    assert fitted.neighbours is not None
    assert len(fitted.neighbours.vectors) == n - int(private.sum())
    stored = {v.round(5).tobytes() for v in fitted.neighbours.vectors}
    assert not any(v.round(5).tobytes() in stored for v in emb[private])
    assert all(v.round(5).tobytes() in stored for v in emb[~private])
    # The heads read the kNN block: 8 dense columns, then 5 categories + urgent + nearest.
    assert fitted.policy["reputation"].w.shape[0] == 8 + 7
