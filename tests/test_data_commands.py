"""Erasure, retention and rescoring over a real SQLite file filled by a real collection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select, update

from monitor.cli import cli
from monitor.config import Settings
from monitor.store import Store
from monitor.store.schema import AssessmentRecord, MentionRecord
from tests.servers import FixtureServer


def _collect(tmp_path: Path, server: FixtureServer, feed_settings: Settings) -> Path:
    cfg = tmp_path / "monitor.toml"
    result = CliRunner().invoke(cli, ["--config", str(cfg), "collect", "--once", "--no-score"])
    assert result.exit_code == 0, result.output
    return cfg


def test_erase_by_text_removes_mention_and_derived_data(
    tmp_path: Path, server: FixtureServer, feed_settings: Settings
) -> None:
    cfg = _collect(tmp_path, server, feed_settings)
    store = Store.open(feed_settings.database_url)
    before = store.count_mentions()
    store.close()
    r = CliRunner().invoke(
        cli, ["--config", str(cfg), "erase", "--containing", "class list", "--yes"]
    )
    assert r.exit_code == 0 and "Erased 1 mention" in r.output, r.output
    store = Store.open(feed_settings.database_url)
    assert store.count_mentions() == before - 1
    assert not any("class list" in m.text for m, _ in store.mentions())
    store.close()
    nothing = CliRunner().invoke(
        cli, ["--config", str(cfg), "erase", "--containing", "no such words", "--yes"]
    )
    assert "Nothing matches" in nothing.output
    usage = CliRunner().invoke(cli, ["--config", str(cfg), "erase"])
    assert usage.exit_code == 2


def test_purge_keeps_recent_and_kept_mentions(
    tmp_path: Path, server: FixtureServer, feed_settings: Settings
) -> None:
    cfg = _collect(tmp_path, server, feed_settings)
    store = Store.open(feed_settings.database_url)
    ids = [m.id for m, _ in store.mentions()]
    old = datetime.now(UTC) - timedelta(days=120)
    with store.session() as s:
        s.execute(
            update(MentionRecord).where(MentionRecord.id.in_(ids[:3])).values(first_seen_at=old)
        )
        s.execute(update(MentionRecord).where(MentionRecord.id == ids[0]).values(kept=True))
    store.close()
    r = CliRunner().invoke(cli, ["--config", str(cfg), "purge"])
    assert "Deleted 2 mention(s)" in r.output, r.output
    store = Store.open(feed_settings.database_url)
    remaining = {m.id for m, _ in store.mentions()}
    store.close()
    assert ids[0] in remaining and ids[1] not in remaining and ids[2] not in remaining
    assert set(ids[3:]) <= remaining


def test_rescore_assesses_every_stored_mention(
    tmp_path: Path, server: FixtureServer, feed_settings: Settings
) -> None:
    cfg = _collect(tmp_path, server, feed_settings)
    r = CliRunner().invoke(cli, ["--config", str(cfg), "rescore"])
    assert r.exit_code == 0, r.output
    store = Store.open(feed_settings.database_url)
    with store.session() as s:
        n_assess = s.scalar(select(func.count()).select_from(AssessmentRecord))
    rows = store.mentions()
    store.close()
    assert n_assess == len(rows) > 0
    leak = next(a for m, a in rows if m.title == "Letter doing the rounds")
    assert leak is not None and "data_leak" in leak.categories and leak.urgent
