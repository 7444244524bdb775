"""`mention-monitor eval --grouped`: each set scored by heads that never saw it (real model).

Small slices of the bundled data stand in for the dev sets and the written files, so that the
three fits take seconds; what is checked is who trains on what, not how well."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.app import App
from monitor.commands import scoring as scoring_cmd
from monitor.commands.scoring import eval_
from monitor.config import load_settings
from monitor.scoring import train

DATA = Path(train.__file__).parent / "data"


def _slice(src: Path, dst: Path, start: int, n: int) -> int:
    lines = src.read_text(encoding="utf-8").splitlines()[start : start + n]
    dst.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sum(json.loads(line)["labels"]["relevant"] for line in lines)


@pytest.fixture()
def small_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Slices of the real files: relevant counts per set, the rest wired in by monkeypatch."""
    written = tmp_path / "written"
    written.mkdir()
    rel = {
        "train": _slice(DATA / "train.jsonl", tmp_path / "train.jsonl", 0, 160),
        "dev": _slice(DATA / "mentions-dev.jsonl", tmp_path / "dev.jsonl", 0, 40),
        "dev2": _slice(DATA / "mentions-dev2.jsonl", tmp_path / "dev2.jsonl", 0, 40),
        "threats": _slice(DATA / "written" / "threats.jsonl", written / "threats.jsonl", 0, 60),
        "leaks": _slice(DATA / "written" / "leaks.jsonl", written / "leaks.jsonl", 0, 60),
    }
    monkeypatch.setattr(train, "BUNDLED_TRAIN", tmp_path / "train.jsonl")
    monkeypatch.setattr(train, "BUNDLED_DEV", tmp_path / "dev.jsonl")
    monkeypatch.setattr(train, "BUNDLED_DEV2", tmp_path / "dev2.jsonl")
    monkeypatch.setattr(train, "WRITTEN_DIR", written)
    # The embedding cache would otherwise land in the home folder.
    monkeypatch.setattr(scoring_cmd, "CACHE_FILE", tmp_path / "cache-{model}.npz")
    return rel


def _run(args: list[str]) -> tuple[int, str]:
    app = App()
    app._settings = load_settings(None, environ={})
    res = CliRunner().invoke(eval_, args, obj=app)
    return res.exit_code, res.output


def test_a_left_out_writer_is_scored_by_heads_that_never_saw_it(
    small_data: dict[str, int],
) -> None:
    code, out = _run(["--grouped", "--no-pooled", "--leave-out", "threats", "--json"])
    assert code == 0, out
    result = json.loads(out.splitlines()[-1])
    assert [k for k in result if k.startswith("-> ")] == ["-> dev", "-> dev2", "-> threats"]
    # Only the writer not left out counts as written data in training.
    assert result["written_items"] == 60
    r = small_data
    everything = r["train"] + r["dev"] + r["dev2"] + r["threats"] + r["leaks"]
    for name in ("dev", "dev2", "threats"):
        col = result[f"-> {name}"]
        # Everything but the scored set trains (relevant items, minus near-copies of it).
        assert col["trained_on"] == everything - r[name] - col["near_copies_removed"]
    assert result["-> threats"]["mentions"] == 60
    for name in ("dev", "dev2", "threats"):
        # Every urgent alert is put down to the one severity rule that raised it.
        col, rules = result[f"-> {name}"], result[f"-> {name}"]["urgent_by_rule"]
        assert sum(r["alerts"] for r in rules.values()) == col["urgent"]["tp"] + col["urgent"]["fp"]
        assert sum(r["correct"] for r in rules.values()) == col["urgent"]["tp"]
    assert set(result["-> threats"]["urgent_by_rule"]) <= {
        "data leak",
        "harassment with a threat against a named person",
        "racist, sexist, disability or faith-based abuse",
        "harassment aimed at a child",
        "identifiable pupils in a public photo or video",
        "serious allegation",
        "member of staff contacting pupils",
        "urgent head",
    }
    assert result["-> threats"]["urgent_by_rule"]  # a file of threats raises some alerts
    # Scoring one more writer must not move the dev columns: same rows, same order, same heads.
    code, out = _run(["--grouped", "--no-pooled", "--json"])
    assert code == 0, out
    plain = json.loads(out.splitlines()[-1])
    for name in ("dev", "dev2"):
        assert plain[f"-> {name}"]["categories"] == result[f"-> {name}"]["categories"]
        assert plain[f"-> {name}"]["urgent"] == result[f"-> {name}"]["urgent"]


def test_leave_out_names_an_unknown_writer_and_the_ones_there_are(
    small_data: dict[str, int],
) -> None:
    code, out = _run(["--grouped", "--leave-out", "nobody"])
    assert code != 0
    assert "no written file 'nobody'; the writers are: leaks, threats" in out
    code, out = _run(["--leave-out", "threats"])
    assert code != 0 and "--leave-out works with --grouped" in out


def test_another_model_reads_and_writes_its_own_cached_vectors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`eval` with `scoring.model` set once read the default model's file of cached vectors: a
    768-dimension model was handed 384-dimension vectors. Each model has its own file."""
    from monitor.scoring.embeddings import default_model_path

    monkeypatch.setattr(scoring_cmd, "CACHE_FILE", tmp_path / "cache-{model}.npz")
    other = tmp_path / "another-model"
    other.symlink_to(default_model_path(), target_is_directory=True)
    labelled = tmp_path / "some.jsonl"
    _slice(DATA / "mentions-dev.jsonl", labelled, 0, 12)
    monkeypatch.setenv("MONITOR_SCORING__MODEL", str(other))
    code, out = _run([str(labelled), "--json"])
    assert code == 0, out
    assert json.loads(out.splitlines()[-1])["model_version"].startswith("another-model+")
    assert (tmp_path / "cache-another-model.npz").exists()
    assert not (tmp_path / "cache-all-MiniLM-L6-v2.npz").exists()
