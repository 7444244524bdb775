"""`check-config` catches, with plain words and named keys, what would otherwise fail later."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli

GOOD = """
database_url = "sqlite:///x.db"

[network]
allow_private = []

[mail]
from_address = "mention-monitor@school.example.org"

[[academies]]
id = "ankermoor"
display_name = "Ankermoor Primary Academy"
names = ["Ankermoor Primary Academy"]
recipients = ["head@ankermoor.example.org"]

[[academies]]
id = "staldhelms"
display_name = "Staldhelms Academy"
names = ["Staldhelms Academy"]
recipients = ["head@staldhelms.example.org"]

[[academies.sources]]
kind = "feed"
name = "news"
url = "https://example.org/news.xml"

[[academies.sources]]
kind = "feed"
name = "deep"
url = "https://example.org/deep.xml"
"""


def check(tmp_path: Path, text: str) -> tuple[int, str]:
    p = tmp_path / "monitor.toml"
    p.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(p), "check-config"])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_the_good_settings_pass(tmp_path: Path) -> None:
    code, out = check(tmp_path, GOOD)
    assert code == 0, out


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://127.0.0.1:8080/feed.xml", "loopback"),
        ("http://10.1.2.3/feed.xml", "private"),
        ("http://[::1]/feed.xml", "loopback"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://localhost:8080/feed.xml", "always means this machine"),
        ("http://intranet.localhost/feed.xml", "always means this machine"),
    ],
)
def test_private_and_metadata_source_urls_are_refused_by_name(
    tmp_path: Path, url: str, words: str
) -> None:
    code, out = check(tmp_path, GOOD.replace("https://example.org/deep.xml", url))
    assert code == 2
    assert f"academies.staldhelms.sources.deep.url: {url} will be refused" in out
    assert words in out


def test_a_private_address_listed_in_allow_private_passes(tmp_path: Path) -> None:
    text = GOOD.replace("https://example.org/deep.xml", "http://127.0.0.1:8080/feed.xml")
    code, out = check(tmp_path, text.replace("allow_private = []", 'allow_private = ["127.0.0.1"]'))
    assert code == 0, out


def test_a_sender_without_a_domain_is_an_error(tmp_path: Path) -> None:
    code, out = check(
        tmp_path,
        GOOD.replace('"mention-monitor@school.example.org"', '"mention-monitor"'),
    )
    assert code == 2
    assert "mail.from_address: 'mention-monitor' is not an email address with a domain" in out


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('display_name = "Staldhelms Academy"', 'display_name = "  "', "display_name"),
        ('names = ["Staldhelms Academy"]', 'names = ["Staldhelms Academy", "  "]', "names"),
    ],
)
def test_a_blank_name_is_an_error(tmp_path: Path, old: str, new: str, key: str) -> None:
    code, out = check(tmp_path, GOOD.replace(old, new))
    assert code == 2
    assert f"academies.staldhelms.{key}:" in out and "blank" in out


def test_sources_and_academies_are_named_by_id_not_position(tmp_path: Path) -> None:
    code, out = check(tmp_path, GOOD.replace('name = "deep"\n', 'name = "deep"\nkind2 = 1\n'))
    assert code == 2
    assert "academies.staldhelms.sources.deep.kind2: unknown setting" in out
    assert "academies[1]" not in out and "sources[1]" not in out


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'database_url = "',
            'databse_url = "',
            "databse_url: unknown setting; did you mean 'database_url'?",
        ),
        (
            "[mail]\n",
            "[mail]\nsmtp_hots = 'x'\n",
            "mail.smtp_hots: unknown setting; did you mean 'smtp_host'?",
        ),
        (
            'name = "deep"\n',
            'name = "deep"\nintervl_minutes = 5\n',
            "academies.staldhelms.sources.deep.intervl_minutes: unknown setting; "
            "did you mean 'interval_minutes'?",
        ),
        (
            'recipients = ["head@staldhelms.example.org"]',
            'recipients = ["head@staldhelms.example.org"]\nexclusion = ["x"]',
            "academies.staldhelms.exclusion: unknown setting; did you mean 'exclusions'?",
        ),
    ],
)
def test_an_unknown_key_gets_a_suggestion(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    code, out = check(tmp_path, GOOD.replace(old, new, 1))
    assert code == 2
    assert expected in out


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'recipients = ["head@staldhelms.example.org"]',
            'recipients = "head@staldhelms.example.org"',
            "academies.staldhelms.recipients: a list of email addresses is expected",
        ),
        (
            "allow_private = []",
            'allow_private = "127.0.0.1"',
            "network.allow_private: a list of IP addresses or ranges is expected",
        ),
        (
            "[network]\n",
            '[network]\nmax_redirects = "five"\n',
            "network.max_redirects: a whole number is expected",
        ),
        (
            "[network]\n",
            "[network]\nmax_redirects = 2.5\n",
            "network.max_redirects: a whole number is expected",
        ),
        (
            "[network]\n",
            "[network]\ntimeout_seconds = 'x'\n",
            "network.timeout_seconds: a number is expected",
        ),
        (
            "[network]\n",
            "[network]\nmax_redirects = 99\n",
            "network.max_redirects: must be at most 20",
        ),
        (
            'recipients = ["head@staldhelms.example.org"]',
            'recipients = ["head@staldhelms.example.org"]\ndigest = "hourly"',
            "academies.staldhelms.digest: must be one of 'off', 'daily' or 'weekdays'",
        ),
        (
            'names = ["Staldhelms Academy"]',
            "names = []",
            "academies.staldhelms.names: at least one entry is needed",
        ),
        ('name = "deep"\n', 'name = "deep"\nenabled = "maybe"\n', "true or false is expected"),
        ("[mail]\n", "[mail]\nsmtp_host = 25\n", "mail.smtp_host: text in quotes is expected"),
        (
            'database_url = "sqlite:///x.db"',
            'database_url = "sqlite:///x.db"\nweb = 5',
            "web: a table of settings is expected",
        ),
    ],
)
def test_errors_are_plain_english(tmp_path: Path, old: str, new: str, expected: str) -> None:
    code, out = check(tmp_path, GOOD.replace(old, new, 1))
    assert code == 2
    assert expected in out
    for jargon in ("Input should", "valid tuple", "valid integer", "type=", "pydantic"):
        assert jargon not in out
