"""Shared fixtures: a real local fixture server and a settings file pointing at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import BUNDLED_EXAMPLE, Settings, load_settings
from tests.postgres import postgres_server
from tests.servers import FixtureServer, fixture_server


@pytest.fixture(autouse=True)
def _no_monitor_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the settings they write: MONITOR_* variables of the shell are removed."""
    for k in list(os.environ):
        if k.startswith("MONITOR_"):
            monkeypatch.delenv(k)


@pytest.fixture(autouse=True, scope="session")
def _model_loaded_once() -> Iterator[None]:
    """The real embedding model, read from disk once per test process rather than by every test
    that starts a service or a scoring command (seconds each). Each caller still gets its own
    `Embedder` (its own counters); a folder that fails to load raises as before, and is not kept."""
    from monitor.scoring import embeddings

    original = embeddings.load_model
    loaded: dict[str, embeddings.Embedder] = {}

    def load_model(setting: str, batch_size: int = 32) -> embeddings.Embedder:
        if setting not in loaded:
            loaded[setting] = original(setting, batch_size)
        first = loaded[setting]
        return embeddings.Embedder(first.model, name=first.name, batch_size=batch_size)

    embeddings.load_model = load_model  # type: ignore[assignment]
    yield
    embeddings.load_model = original  # type: ignore[assignment]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """One throwaway PostgreSQL server per test process, started on first use: under pytest-xdist
    each worker starts its own (own temp folder, own free port), and each test or module makes
    its own database on it (tests/postgres.py `new_database`)."""
    with postgres_server() as url:
        yield url


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    with fixture_server() as srv:
        yield srv


def write_config(tmp_path: Path, server: FixtureServer, sources_toml: str, extra: str = "") -> Path:
    """The example academy, with its sources replaced by `sources_toml`, storing under tmp_path."""
    example = BUNDLED_EXAMPLE.read_text(encoding="utf-8")
    head = example.split("[[academies.sources]]", 1)[0]
    head = head.replace(
        'database_url = "sqlite:///mention-monitor.db"',
        f'database_url = "sqlite:///{tmp_path}/mm.db"',
    )
    head = head.replace('outbox_dir = "outbox"', f'outbox_dir = "{tmp_path}/outbox"')
    head = head.replace(
        "allow_private = []", 'allow_private = ["127.0.0.1"]\nper_host_interval_seconds = 0'
    )
    path = tmp_path / "monitor.toml"
    path.write_text(
        head + extra + "\n" + sources_toml.replace("{base}", server.url("")), encoding="utf-8"
    )
    return path


FEED_SOURCES = """
[[academies.sources]]
kind = "feed"
name = "gazette"
url = "{base}/gazette.rss"

[[academies.sources]]
kind = "feed"
name = "parents-forum"
url = "{base}/forum.atom"

[[academies.sources]]
kind = "feed"
name = "trust"
url = "{base}/trust.json"
"""


@pytest.fixture
def feed_settings(tmp_path: Path, server: FixtureServer) -> Settings:
    server.serve_file("/gazette.rss", "feeds/gazette.rss")
    server.serve_file("/forum.atom", "feeds/parents-forum.atom", "application/atom+xml")
    server.serve_file("/trust.json", "feeds/trust.json", "application/feed+json")
    return load_settings(write_config(tmp_path, server, FEED_SOURCES))


def pytest_report_header() -> str | None:
    """Say so when the suite runs on a moved clock (`make test-future`)."""
    days = os.environ.get("MM_TEST_CLOCK_SHIFT_DAYS")
    if not days:
        return None
    from datetime import UTC, datetime

    return f"clock moved {days} days ahead: now reads {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
