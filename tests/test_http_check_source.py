"""`check-source URL`: one fetch through the guard, against a real local server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.commands.check_source import (
    EXIT_FETCH_FAILED,
    EXIT_NOT_A_FEED,
    EXIT_REFUSED,
    check_source,
)
from monitor.config import BUNDLED_EXAMPLE, load_settings
from monitor.matching import Matcher, Watch
from sources.feeds import parse_feed
from tests.guard_servers import RouteServer, reply, route_server

GAZETTE = Path(__file__).parent / "fixtures" / "feeds" / "gazette.rss"


@pytest.fixture
def server() -> Iterator[RouteServer]:
    with route_server("127.0.0.1") as srv:
        srv.routes["/gazette.rss"] = reply(
            200, GAZETTE.read_bytes(), {"Content-Type": "application/rss+xml"}
        )
        srv.routes["/gone"] = reply(404, b"")
        srv.routes["/page"] = reply(200, b"<!DOCTYPE html><html><body>Login</body></html>")
        yield srv


def config(tmp_path: Path, allow_private: str) -> Path:
    text = BUNDLED_EXAMPLE.read_text(encoding="utf-8").replace(
        "allow_private = []", f"allow_private = {allow_private}"
    )
    path = tmp_path / "monitor.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(check_source, list(args), obj=None)
    return result.exit_code, result.output


def test_fetches_parses_and_matches(server: RouteServer, tmp_path: Path) -> None:
    cfg = config(tmp_path, '["127.0.0.1"]')
    code, out = run(server.url("/gazette.rss"), "--config", str(cfg))
    assert code == 0, out
    items = parse_feed(GAZETTE.read_bytes(), "x/y")
    settings = load_settings(cfg)
    matcher = Matcher([Watch.from_config(a) for a in settings.academies])
    matched = [i for i in items if matcher.match(i.title, i.text)]
    assert f"items:    {len(items)}" in out
    assert f"{len(matched)} of {len(items)} items" in out
    assert "status:   200 application/rss+xml" in out
    assert f"bytes:    {GAZETTE.stat().st_size}" in out
    for item in matched:
        assert item.title[:60] in out
    assert "mention-monitor/" in server.headers[0]["user-agent"]


def test_refusal_is_printed_with_its_reason(server: RouteServer, tmp_path: Path) -> None:
    code, out = run(server.url("/gazette.rss"), "--config", str(config(tmp_path, "[]")))
    assert code == EXIT_REFUSED
    assert "refused: 127.0.0.1 is a loopback address" in out
    assert "Traceback" not in out
    assert server.connections == 0


def test_http_error_and_non_feed(server: RouteServer, tmp_path: Path) -> None:
    cfg = str(config(tmp_path, '["127.0.0.1"]'))
    code, out = run(server.url("/gone"), "--config", cfg)
    assert code == EXIT_FETCH_FAILED and "HTTP 404" in out
    code, out = run(server.url("/page"), "--config", cfg)
    assert code == EXIT_NOT_A_FEED and "not a readable feed" in out


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 4_500_000 + b"]" * 4_500_000, "nests JSON"),  # 9 MB of [[[...]]]
        (b"<html><body>" + b"<b>" * 1_000_000, "HTML tags"),  # a million nested elements
        (b"<div>" * 1_000_000, "HTML tags"),
    ],
)
def test_hostile_bodies_are_one_line(
    server: RouteServer, tmp_path: Path, body: bytes, reason: str
) -> None:
    server.routes["/hostile"] = reply(200, body, {"Content-Type": "application/json"})
    code, out = run(server.url("/hostile"), "--config", str(config(tmp_path, '["127.0.0.1"]')))
    assert code == EXIT_NOT_A_FEED, out
    assert "Traceback" not in out
    error = [line for line in out.splitlines() if "not a readable feed" in line]
    assert len(error) == 1 and reason in error[0]
