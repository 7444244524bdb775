"""What `collect --once` and `sources` print: each source's failure once, advice never cut."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.commands import core
from monitor.config import load_settings
from monitor.runner import configured_sources, register_sources
from monitor.store import Store
from tests.conftest import write_config
from tests.servers import FixtureServer, Reply

SOURCES = """
[[academies.sources]]
kind = "feed"
name = "good"
url = "{base}/good.rss"

[[academies.sources]]
kind = "feed"
name = "gone"
url = "{base}/gone"
"""


def _config(tmp_path: Path, server: FixtureServer) -> Path:
    server.serve_file("/good.rss", "feeds/gazette.rss")
    server.routes["/gone"] = Reply(404, b"nope", {})
    return write_config(tmp_path, server, SOURCES)


def test_on_a_terminal_a_failure_is_shown_once_in_the_table(
    tmp_path: Path, server: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core, "_on_terminal", lambda: True)
    cfg = _config(tmp_path, server)
    result = CliRunner().invoke(cli, ["--config", str(cfg), "collect", "--once", "--no-score"])
    assert result.exit_code == 0, result.output
    assert "source failed" not in result.output
    assert "source collected" not in result.output
    [row] = [line for line in result.stdout.splitlines() if line.startswith("ankermoor/gone")]
    assert "HTTP 404" in row
    assert result.output.count("HTTP 404") == 1


def test_off_a_terminal_failures_are_json_lines_naming_the_source(
    tmp_path: Path, server: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core, "_on_terminal", lambda: False)
    cfg = _config(tmp_path, server)
    result = CliRunner().invoke(cli, ["--config", str(cfg), "collect", "--once", "--no-score"])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    failed = [e for e in events if e["event"] == "source failed"]
    assert [e["source"] for e in failed] == ["ankermoor/gone"] and "404" in failed[0]["reason"]
    assert "source failed" not in result.stdout


ADVICE = (
    "Bluesky needs an app password: create one at "
    "https://bsky.app/settings/app-passwords/create-a-new-app-password-for-mention-monitor-please "
    "and set credentials.bluesky.app_password (or MONITOR_CREDENTIALS__BLUESKY__APP_PASSWORD), "
    "then run `mention-monitor collect --once --all` to check it works."
)


def test_sources_shows_advice_in_full_wrapped_between_words(
    tmp_path: Path, server: FixtureServer
) -> None:
    cfg = _config(tmp_path, server)
    settings = load_settings(cfg)
    store = Store.open(settings.database_url)
    now = datetime.now(UTC)
    register_sources(store, configured_sources(settings), now)
    with store.transaction() as tx:
        tx.source_failed(
            "ankermoor/gone",
            "not signed in",
            now,
            now + timedelta(hours=24),
            status="needs_credentials",
            advice=ADVICE,
        )
    store.close()
    result = CliRunner().invoke(cli, ["--config", str(cfg), "sources"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert (
        "https://bsky.app/settings/app-passwords/create-a-new-app-password-for-mention-monitor-please"
        in out
    )
    # Every word of the advice is there, in order, however it was wrapped.
    assert " ".join(ADVICE.split()) in " ".join(out.split())
    assert "ankermoor/gone (needs credentials):" in out
    for line in out.splitlines():
        assert len(line) <= core.DETAIL_WIDTH or " " not in line.strip(), line
