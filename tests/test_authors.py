"""Erasing by author takes any usual form of the handle; `mentions --json` shows the author."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.authors import author_key
from monitor.cli import cli
from monitor.config import load_settings
from monitor.store import Store
from tests.alerts_support import store_mention

NOW = datetime(2026, 11, 28, 14, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("stored", "written"),
    [
        ("@parent.bsky.social", "parent.bsky.social"),
        ("@parent.bsky.social", "@Parent.bsky.social"),
        ("@parent.bsky.social", "https://bsky.app/profile/parent.bsky.social"),
        ("@mum@mastodon.social", "mum@mastodon.social"),
        ("@mum@mastodon.social", "https://mastodon.social/@mum"),
        ("@mum@mastodon.social", "https://fosstodon.org/@mum@mastodon.social"),
        ("@dad@lemmy.world", "https://lemmy.world/u/dad"),
        ("/u/throwaway123", "u/throwaway123"),
        ("/u/throwaway123", "https://www.reddit.com/user/throwaway123/"),
        ("pg", "https://news.ycombinator.com/user?id=pg"),
        ("Jane Reporter", "jane reporter"),
    ],
)
def test_the_forms_of_one_author_have_one_key(stored: str, written: str) -> None:
    assert author_key(stored) == author_key(written)


@pytest.mark.parametrize(
    ("stored", "written"),
    [
        ("@mum@mastodon.social", "mum"),  # another server's "mum" is another person
        ("@mum@mastodon.social", "https://other.example/@mum"),
        ("@parent.bsky.social", "parent"),
    ],
)
def test_different_authors_keep_different_keys(stored: str, written: str) -> None:
    assert author_key(stored) != author_key(written)


CONFIG = """
database_url = "sqlite:///{db}"
[mail]
from_address = "monitor@ankermoor.example.org"
outbox_dir = "{out}"
[[academies]]
id = "ankermoor"
display_name = "Ankermoor Primary Academy"
names = ["Ankermoor Primary Academy"]
"""


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(CONFIG.format(db=tmp_path / "mm.db", out=tmp_path / "outbox"))
    settings = load_settings(path)
    store = Store.open(settings.database_url)
    for author in ("@parent.bsky.social", "@parent.bsky.social", "@other.bsky.social", None):
        store_mention(store, settings, title="Ankermoor", text="x", now=NOW, author=author)
    store.close()
    return path


@pytest.mark.parametrize(
    "written",
    ["parent.bsky.social", "@parent.bsky.social", "https://bsky.app/profile/parent.bsky.social"],
)
def test_erase_by_author_accepts_handle_with_or_without_at_and_profile_url(
    cfg: Path, written: str
) -> None:
    run = CliRunner().invoke(cli, ["--config", str(cfg), "erase", "--author", written, "--yes"])
    assert run.exit_code == 0, run.output
    assert "Erased 2 mention(s)" in run.output
    left = CliRunner().invoke(cli, ["--config", str(cfg), "mentions", "--json"])
    authors = sorted(str(json.loads(line)["author"]) for line in left.output.splitlines())
    assert authors == ["@other.bsky.social", "None"]
