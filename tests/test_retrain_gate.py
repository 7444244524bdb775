"""The `train --with-corrections` gate (monitor/scoring/retrain.py): a macro-F1 fall on the small
held-out part is refused only when it is larger than the tolerance and than the part's noise."""

from __future__ import annotations

import numpy as np

from monitor.scoring.retrain import (
    MACRO_F1_TOLERANCE,
    Scores,
    fall_confidence,
    judge,
    macro_f1,
    worse,
)


def _part() -> tuple[np.ndarray, np.ndarray]:
    """Truth and a reference's predictions shaped like the real held-out part: 71 mentions,
    27 / 11 / 9 / 12 / 15 per category, and the reference's kind of errors."""
    truth = np.zeros((71, 5), dtype=bool)
    start = 0
    for c, n in enumerate((27, 11, 9, 12, 15)):
        truth[start : start + n, c] = True
        start += n
    ref = truth.copy()
    ref[0:7, 0] = False  # reputation missed
    ref[60:66, 0] = True  # reputation false alarms
    ref[27:31, 2] = True  # harassment read as data_leak
    ref[47:49, 3] = False  # pupil_image missed
    ref[59:65, 4] = False  # staff_conduct missed
    return truth, ref


def _scores(
    truth: np.ndarray, predicted: np.ndarray, urgent_missed: tuple[int, ...] = ()
) -> Scores:
    # Every fourth mention is urgent; the reference finds all of them.
    urgent = np.arange(len(truth)) % 4 == 0
    found = urgent.copy()
    found[list(urgent_missed)] = False
    return Scores(truth, predicted, urgent, found, None)


def test_macro_f1_counts_only_categories_seen() -> None:
    t = np.array([[1, 0, 0, 0, 0], [1, 0, 0, 0, 0]], dtype=bool)
    p = np.array([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0]], dtype=bool)
    # reputation: tp 1, fn 1 -> 2/3; harassment: fp 1 -> 0; the other three never occur.
    assert macro_f1(t, p) == (2 / 3 + 0) / 2
    assert macro_f1(t[:0], p[:0]) == 0.0


def test_a_threshold_step_is_noise_and_accepted_with_a_note() -> None:
    truth, ref = _part()
    reference = _scores(truth, ref)
    # What 15 good corrections once did: a pupil_image threshold step lost three mentions; one
    # staff_conduct mention gained, one staff_conduct false alarm.
    cand = ref.copy()
    cand[[49, 50, 51], 3] = False
    cand[59, 4] = True
    cand[27, 4] = True
    candidate = _scores(truth, cand)
    assert candidate.macro_f1 < reference.macro_f1 - MACRO_F1_TOLERANCE  # beyond the tolerance
    assert 0.5 < fall_confidence(candidate, reference) < 0.95
    assert worse(candidate, reference) is None
    note = judge(candidate, reference)[1]
    assert note is not None and "within the held-out part's noise" in note
    # No note for a fall within the tolerance, nor for a gain.
    assert judge(reference, reference)[1] is None
    assert judge(reference, candidate)[1] is None


def test_a_broad_fall_is_refused() -> None:
    truth, ref = _part()
    reference = _scores(truth, ref)
    cand = ref.copy()
    cand[np.arange(0, 71, 4)] = False  # a quarter of the mentions lose every category
    bad = _scores(truth, cand)
    assert fall_confidence(bad, reference) > 0.99
    reason = worse(bad, reference)
    assert reason is not None and "bootstrap resamples" in reason
    assert judge(bad, reference)[1] is None


def test_urgent_recall_one_miss_is_noise_many_are_refused() -> None:
    truth, ref = _part()
    reference = _scores(truth, ref)
    one = _scores(truth, ref.copy(), urgent_missed=(8,))
    assert one.urgent_recall < reference.urgent_recall
    assert worse(one, reference) is None
    assert "urgent recall on the held-out part fell" in (judge(one, reference)[1] or "")
    many = _scores(truth, ref.copy(), urgent_missed=(0, 8, 16, 24, 32))
    reason = worse(many, reference) or ""
    assert reason.startswith("urgent recall on the held-out part fell from 1.000 to 0.722")
