"""Configuration: the bundled example loads, every problem is reported with its key, env overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import BUNDLED_EXAMPLE, ConfigError, find_config_path, load_settings


def test_bundled_example_loads() -> None:
    s = load_settings(BUNDLED_EXAMPLE)
    assert s.academies[0].id == "ankermoor"
    assert "Anker Moor Primary" in s.academies[0].names
    assert s.schedule.digest_time == "07:00"
    assert s.network.allow_private == ()  # off by default


def test_config_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_config_path(None, {}) == BUNDLED_EXAMPLE
    (tmp_path / "monitor.toml").write_text("")
    assert find_config_path(None, {}) == Path("monitor.toml")
    assert find_config_path(None, {"MONITOR_CONFIG": "/x.toml"}) == Path("/x.toml")
    assert find_config_path("/y.toml", {"MONITOR_CONFIG": "/x.toml"}) == Path("/y.toml")


BAD = """
database_url = "sqlite:///x.db"
colour = "blue"

[schedule]
digest_time = "7am"
timezone = "Mars/Olympus"

[[academies]]
id = "Bad Id"
display_name = "X"
names = []
recipients = ["not-an-email"]

[[academies.sources]]
kind = "carrier-pigeon"
name = "p"

[[academies.sources]]
kind = "feed"
name = "f"
"""


def test_every_problem_is_reported_with_its_key(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(BAD)
    with pytest.raises(ConfigError) as err:
        load_settings(p)
    keys = {prob.key for prob in err.value.problems}
    assert {
        "colour",
        "schedule.digest_time",
        "schedule.timezone",
        "academies[0].id",
        "academies[0].names",
        "academies[0].recipients",
    } <= keys
    text = err.value.render()
    assert "unknown setting" in text and "HH:MM" in text and "not an email address" in text


def test_source_kinds_and_options_are_checked(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(
        BAD.replace('colour = "blue"', "")
        .replace('"7am"', '"07:00"')
        .replace("Mars/Olympus", "Europe/London")
        .replace('"Bad Id"', '"ok"')
        .replace("names = []", 'names = ["X School"]')
        .replace('"not-an-email"', '"a@b.org"')
    )
    with pytest.raises(ConfigError) as err:
        load_settings(p)
    by_key = {prob.key: prob.message for prob in err.value.problems}
    assert "unknown kind 'carrier-pigeon'" in by_key["academies.ok.sources.p.kind"]
    assert "feed" in by_key["academies.ok.sources.p.kind"]  # lists what is allowed
    assert "academies.ok.sources.f.url" in by_key


def test_toml_syntax_error_is_one_clear_problem(tmp_path: Path) -> None:
    p = tmp_path / "broken.toml"
    p.write_text("[network\n")
    with pytest.raises(ConfigError) as err:
        load_settings(p)
    assert "not valid TOML" in err.value.render()


def test_environment_overrides_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_DATABASE_URL", "sqlite:////tmp/other.db")
    monkeypatch.setenv("MONITOR_MAIL__SMTP_HOST", "smtp.example.org")
    monkeypatch.setenv("MONITOR_NETWORK__TIMEOUT_SECONDS", "7.5")
    s = load_settings(BUNDLED_EXAMPLE)
    assert s.database_url == "sqlite:////tmp/other.db"
    assert s.mail.smtp_host == "smtp.example.org"
    assert s.network.timeout_seconds == 7.5


def test_check_config_command(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["--config", str(BUNDLED_EXAMPLE), "check-config"])
    assert ok.exit_code == 0, ok.output
    assert "Configuration OK" in ok.output and "ankermoor" in ok.output
    p = tmp_path / "bad.toml"
    p.write_text(BAD)
    bad = runner.invoke(cli, ["--config", str(p), "check-config"])
    assert bad.exit_code == 2
    assert "schedule.digest_time" in bad.output and "Traceback" not in bad.output


def test_credentials_from_environment_reach_sources_of_their_kind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from monitor.config import SourceConfig, source_options

    monkeypatch.setenv("MONITOR_CREDENTIALS__BLUESKY__APP_PASSWORD", "abcd-efgh-ijkl-mnop")
    s = load_settings(BUNDLED_EXAMPLE)
    sky = SourceConfig(kind="bluesky", name="sky", handle="me.bsky.social")  # type: ignore[call-arg]
    opts = source_options(s, sky)
    assert opts == {"handle": "me.bsky.social", "app_password": "abcd-efgh-ijkl-mnop"}
    assert "abcd" not in repr(s)  # secrets never show in reprs or logs
    feed = SourceConfig(kind="feed", name="f", url="https://example.org/rss")  # type: ignore[call-arg]
    assert "app_password" not in source_options(s, feed)
