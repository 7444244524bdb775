"""Corrections with the real model: `train --with-corrections` accepts a good set and refuses a
poisoned one (heads untouched), and a running JobContext scores with replaced heads."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import Settings
from monitor.corrections import WRONG_CATEGORIES, record_correction
from monitor.jobs import JobContext, poll_source
from monitor.models import ScoringInput
from monitor.scoring.heads import DEFAULT_HEADS, load_heads
from monitor.scoring.pipeline import Scorer
from monitor.scoring.retrain import HOLDOUT_RULE
from monitor.scoring.train import load_examples, written_files
from monitor.store import Store
from tests.small_corpus import small_training_data
from tests.test_corrections import EXAMPLE, T0, add_mention

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "corrections"


def _with_heads(settings: Settings, heads: Path) -> Settings:
    return settings.model_copy(
        update={"scoring": settings.scoring.model_copy(update={"heads": str(heads)})}
    )


def test_running_jobcontext_picks_up_replaced_heads(
    feed_settings: Settings, tmp_path: Path
) -> None:
    heads_path = tmp_path / "heads.npz"
    shutil.copy(DEFAULT_HEADS, heads_path)
    settings = _with_heads(feed_settings, heads_path)
    ctx = JobContext(settings, Store.open(settings.database_url))
    try:
        scorer = ctx.runner().scorer
        assert isinstance(scorer, Scorer)
        inp = ScoringInput(
            "", "Ankermoor Primary has gone downhill, the new head is useless", False
        )
        before = scorer.assess([inp])[0]
        old = load_heads(heads_path)
        rep = old.policy["reputation"]
        changed = replace(
            old,
            policy={**old.policy, "reputation": replace(rep, b=rep.b - 30.0)},
            meta={**old.meta, "trained": "replaced"},
        )
        changed.save(heads_path)  # atomically, as train --with-corrections does
        scorer.reload_seconds = 0.0  # the service checks at most once a minute
        after = scorer.assess([inp])[0]
        assert after.model_version != before.model_version
        assert "replaced" in after.model_version
        assert after.probabilities["reputation"] < before.probabilities["reputation"]
        # The runner (the same process, no restart) stores what it scores with the new heads.
        poll_source(ctx, "ankermoor/gazette", force=True)
        versions = {a.model_version for _, a in ctx.store.mentions() if a is not None}
        assert versions == {after.model_version}
    finally:
        ctx.close()


def _setup(tmp_path: Path) -> tuple[list[str], Store, Path]:
    heads = tmp_path / "heads.npz"
    shutil.copy(DEFAULT_HEADS, heads)
    text = (
        EXAMPLE.read_text(encoding="utf-8")
        .replace(
            'database_url = "sqlite:///mention-monitor.db"',
            f'database_url = "sqlite:///{tmp_path}/m.db"',
        )
        .replace("[network]", f'[scoring]\nheads = "{heads}"\n\n[network]', 1)
    )
    (tmp_path / "monitor.toml").write_text(text, encoding="utf-8")
    return (
        ["--config", str(tmp_path / "monitor.toml")],
        Store.open(f"sqlite:///{tmp_path}/m.db"),
        heads,
    )


@pytest.mark.timeout(900)  # four policy fits on the slice of the bundled data
def test_train_with_corrections_accepts_good_refuses_poisoned(tmp_path: Path) -> None:
    with small_training_data(tmp_path / "data"):
        _accepts_good_refuses_poisoned(tmp_path)


def _accepts_good_refuses_poisoned(tmp_path: Path) -> None:
    cfg, store, heads = _setup(tmp_path)
    good = [json.loads(x) for x in (FIXTURES / "health-gossip.jsonl").read_text().splitlines()]
    for g in good:
        m = add_mention(store, "", g["text"], "Ankermoor Primary")
        with store.transaction() as tx:
            record_correction(
                tx, m.id, WRONG_CATEGORIES, ["data_leak"], "h@a.example", T0, urgent=True
            )
    res = CliRunner().invoke(cli, [*cfg, "train", "--with-corrections"], obj=lambda: T0)
    assert res.exit_code == 0, res.output
    accepted = load_heads(heads)
    assert accepted.meta["holdout"] == HOLDOUT_RULE and accepted.meta["trained"] == "20261128"
    assert accepted.version != load_heads(DEFAULT_HEADS).version
    # The corrections (real mentions) trained the heads but are not in the neighbour bank that
    # the heads file stores row by row: only the bundled relevant mentions are.
    used = len(accepted.meta["corrections"])
    assert used > 0 and accepted.neighbours is not None
    assert len(accepted.neighbours.vectors) == accepted.meta["examples"] - used

    # Poison: every written mention with a category, "corrected" to nothing, not urgent.
    poison = [e for f in written_files() for e in load_examples(f) if e.categories]
    for e in poison:
        m = add_mention(store, e.title, e.text, "Ankermoor Primary")
        with store.transaction() as tx:
            record_correction(tx, m.id, WRONG_CATEGORIES, [], "x@a.example", T0, urgent=False)
    before = heads.read_bytes()
    res = CliRunner().invoke(cli, [*cfg, "train", "--with-corrections"], obj=lambda: T0)
    assert res.exit_code == 1, res.output
    assert "refused: the new heads are worse on the held-out part" in res.output
    assert heads.read_bytes() == before
    store.close()
