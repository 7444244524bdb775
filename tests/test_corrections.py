"""Corrections: stored as labelled examples, erased with their mention, and "not about us"
exclusion proposals that an admin applies and the matcher then uses."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import Settings, load_settings
from monitor.corrections import (
    NOT_ABOUT_US,
    WRONG_CATEGORIES,
    CorrectionError,
    decide_exclusion,
    exclusion_phrase,
    record_correction,
)
from monitor.models import Match, Mention, RawItem
from monitor.runner import matcher_for
from monitor.store import Store
from monitor.store.repository import Candidate

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ankermoor.toml"
_seq = itertools.count(1)


def add_mention(store: Store, title: str, text: str, name: str, now: datetime = T0) -> Mention:
    n = next(_seq)
    item = RawItem("ankermoor/news", f"ext-{n}", f"https://n.example/{n}", title, text)
    cand = Candidate(item, Match("ankermoor", name, "text", 0, 5), None, f"fp{n}", n, (n,) * 4)
    with store.transaction() as tx:
        m = tx.add_mention(cand, None, now)
    assert m is not None
    return m


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        'database_url = "sqlite:///mention-monitor.db"',
        f'database_url = "sqlite:///{tmp_path}/m.db"',
    )
    (tmp_path / "monitor.toml").write_text(text, encoding="utf-8")
    return load_settings(tmp_path / "monitor.toml")


@pytest.fixture
def store(settings: Settings) -> Store:
    return Store.open(settings.database_url)


def test_correction_round_trip_keeps_the_scoring_text(store: Store) -> None:
    m = add_mention(
        store,
        "Ankermoor Primary news",
        "The Year 3 teacher is off having IVF.",
        "Ankermoor Primary",
    )
    with store.transaction() as tx:
        done = record_correction(
            tx,
            m.id,
            WRONG_CATEGORIES,
            ["data_leak", "reputation"],
            "head@a.example",
            T0,
            urgent=True,
        )
    assert done.proposal is None
    [c] = store.corrections()
    assert (c.mention_id, c.academy_id, c.kind) == (m.id, "ankermoor", WRONG_CATEGORIES)
    assert c.text == "Ankermoor Primary news\nThe Year 3 teacher is off having IVF."
    assert c.categories == ("data_leak", "reputation") and c.urgent is True
    assert (c.made_by, c.made_at) == ("head@a.example", T0)


def test_bad_corrections_are_refused_and_store_nothing(store: Store) -> None:
    m = add_mention(store, "", "Ankermoor Primary fun run", "Ankermoor Primary")
    cases = [
        (m.id, WRONG_CATEGORIES, ["gossip"], "unknown categories gossip"),
        (m.id + 999, WRONG_CATEGORIES, [], "no mention"),
        (m.id, NOT_ABOUT_US, ["harassment"], "takes no categories"),
        (m.id, WRONG_CATEGORIES, [], "who made"),
    ]
    for mid, kind, cats, msg in cases:
        with pytest.raises(CorrectionError, match=msg), store.transaction() as tx:
            record_correction(tx, mid, kind, cats, "" if msg == "who made" else "h@a.example", T0)
    assert store.corrections() == []


def test_erasure_and_retention_remove_corrections(store: Store) -> None:
    a = add_mention(
        store, "", "Ankermoor Primary teacher off sick with cancer", "Ankermoor Primary"
    )
    b = add_mention(
        store, "", "Ankermoor Rovers lost 3-0", "Ankermoor", now=T0 - timedelta(days=200)
    )
    with store.transaction() as tx:
        record_correction(tx, a.id, WRONG_CATEGORIES, ["data_leak"], "h@a.example", T0)
        record_correction(tx, b.id, NOT_ABOUT_US, [], "h@a.example", T0)
    assert len(store.corrections()) == 2
    store.erase([a.id])
    assert [c.mention_id for c in store.corrections()] == [b.id]
    assert store.purge_before(T0 - timedelta(days=90)) == 1
    assert store.corrections() == []
    # The proposal keeps its short phrase (so an applied exclusion keeps working), not the post.
    [p] = store.exclusion_proposals()
    assert (p.phrase, p.mention_id) == ("Ankermoor Rovers", None)


def test_exclusion_phrase_takes_the_word_after_or_before_the_name() -> None:
    def m(text: str, name: str) -> Mention:
        return Mention(
            1, "ankermoor", "k", "e", None, None, "", text, None, None, T0, False, "f", "c", name
        )

    assert (
        exclusion_phrase(m("Great win for Ankermoor Rovers today", "Ankermoor"))
        == "Ankermoor Rovers"
    )
    assert exclusion_phrase(m("Ankermoor Primary Care Network opens", "Ankermoor Primary")) == (
        "Ankermoor Primary Care"
    )
    assert exclusion_phrase(m("Lunch at Lower Ankermoor.", "Ankermoor")) == "Lower Ankermoor"
    assert exclusion_phrase(m("Ankermoor", "Ankermoor")) is None  # never the bare name


def test_not_about_us_proposal_applied_stops_the_match(settings: Settings, store: Store) -> None:
    title, text = "", "Ankermoor Academy Players stage Macbeth at the town hall"
    before = matcher_for(settings, store.applied_exclusions()).match(title, text)
    assert [x.organisation for x in before] == ["ankermoor"]
    m = add_mention(store, title, text, before[0].matched_name)
    with store.transaction() as tx:
        done = record_correction(tx, m.id, NOT_ABOUT_US, [], "head@a.example", T0)
    assert done.proposal is not None and done.proposal.status == "proposed"
    # Proposed only: the matcher still matches.
    assert matcher_for(settings, store.applied_exclusions()).match(title, text)
    applied = decide_exclusion(store, done.proposal.id, True, "it@a.example", T0)
    assert applied.status == "applied"
    assert store.applied_exclusions() == {"ankermoor": (done.proposal.phrase,)}
    assert matcher_for(settings, store.applied_exclusions()).match(title, text) == []
    # The school itself still matches.
    assert matcher_for(settings, store.applied_exclusions()).match(
        "", "Anker Moor Primary sports day"
    )
    with pytest.raises(CorrectionError, match="already applied"):
        decide_exclusion(store, done.proposal.id, False, "it@a.example", T0)


def test_cli_add_list_and_exclusions(settings: Settings, store: Store, tmp_path: Path) -> None:
    m = add_mention(store, "", "Ankermoor Rovers fans cause chaos at the away game", "Ankermoor")
    cfg = ["--config", str(tmp_path / "monitor.toml")]
    run = CliRunner().invoke
    res = run(
        cli,
        [*cfg, "corrections", "add", str(m.id), "--not-about-us", "--by", "h@a.example"],
        obj=lambda: T0,
    )
    assert res.exit_code == 0, res.output
    assert "Exclusion 1 proposed" in res.output and "'Ankermoor Rovers'" in res.output
    res = run(
        cli,
        [*cfg, "corrections", "add", str(m.id), "--categories", "nonsense", "--by", "h@a.example"],
        obj=lambda: T0,
    )
    assert res.exit_code == 2 and "unknown categories nonsense" in res.output
    res = run(cli, [*cfg, "corrections", "list"], obj=lambda: T0)
    assert "not_about_us" in res.output and "chaos" not in res.output  # no texts printed
    res = run(
        cli, [*cfg, "exclusions", "apply", "1", "--by", "it@a.example"], input="n\n", obj=lambda: T0
    )
    assert res.exit_code == 1 and store.applied_exclusions() == {}
    res = run(
        cli, [*cfg, "exclusions", "apply", "1", "--by", "it@a.example"], input="y\n", obj=lambda: T0
    )
    assert res.exit_code == 0 and "applied" in res.output
    assert store.applied_exclusions() == {"ankermoor": ("Ankermoor Rovers",)}
    res = run(cli, [*cfg, "exclusions", "list"], obj=lambda: T0)
    assert "Ankermoor Rovers" in res.output and "applied" in res.output
    # Both acts are on the audit log, with the CLI's actor "cli:<os user>".
    audit = [
        (a.entry.actor.startswith("cli:"), a.entry.action, a.entry.target, a.entry.detail)
        for a in store.audit_entries()
    ]
    assert audit == [
        (True, "correction", f"mention:{m.id}", "not_about_us"),
        (True, "exclusion.apply", "exclusion:1", "Ankermoor Rovers"),
    ]
