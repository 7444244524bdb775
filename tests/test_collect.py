"""Collection end to end: fixture feeds on a real local server -> stored, matched, de-duplicated."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from monitor.app import App
from monitor.cli import cli
from monitor.config import Settings
from monitor.service import build_runner
from tests.conftest import write_config
from tests.servers import FixtureServer, Reply


def _runner(settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    app = App(tmp_path / "monitor.toml")
    app._settings = settings
    return build_runner(app, score=False)


def test_collect_stores_the_right_mentions(
    feed_settings: Settings, tmp_path: Path, server: FixtureServer
) -> None:
    runner, close = _runner(feed_settings, tmp_path)
    try:
        stats = {s.source_key: s for s in runner.run_due()}
        mentions = runner.store.mentions()
    finally:
        close()
    titles = {m.title for m, _ in mentions}
    # Real mentions, through three name spellings and a misspelling:
    assert "Pupils plant 200 trees along the River Anker" in titles
    assert (
        "Parents protest over teaching assistant cuts at primary school" in titles
    )  # "Anker Moor Primary"
    assert "Letter doing the rounds" in titles  # "ankermore primary"
    assert "Re: Is #AnkermoorPrimary really that bad?" in titles
    assert "Nativity week at Ankermoor Primary" in titles
    # Hard negatives are not stored:
    for neg in (
        "Ankermoor Road to close",
        "Ankermoor Rovers edge",
        "Council confirms bin",
        "Anker Moor Dental",
        "Derbyshire",
    ):
        assert not any(t.startswith(neg) for t in titles), neg
    # The forum repost of the Gazette story is a syndicated copy: same cluster, not a second story.
    trees = [m for m, _ in mentions if m.title.startswith("Pupils plant 200 trees")]
    assert len({m.cluster_id for m in trees}) == 1
    # The tracking parameters are gone from the canonical URL.
    gazette_trees = next(m for m in trees if m.source_key.endswith("gazette"))
    assert gazette_trees.canonical_url is not None and "utm_" not in gazette_trees.canonical_url
    assert stats["ankermoor/gazette"].fetched == 5
    assert stats["ankermoor/gazette"].error is None


def test_second_run_stores_nothing_and_304_is_not_parsed(
    feed_settings: Settings, tmp_path: Path, server: FixtureServer
) -> None:
    runner, close = _runner(feed_settings, tmp_path)
    try:
        runner.run_due()
        count = runner.store.count_mentions()
        again = [runner.run_source(s) for s in runner.sources]
        assert runner.store.count_mentions() == count
        assert all(s.not_modified and s.new == 0 for s in again), again
        # The client sent the validators it stored: the server answered 304 with no body.
        conditional = [
            h for p, h in server.requests if "If-None-Match" in h or "if-none-match" in h
        ]
        assert len(conditional) == 3
    finally:
        close()
    # A restart (new runner, same database) with changed feed bodies still stores no duplicate.
    server.routes["/gazette.rss"] = Reply(
        200, (Path(__file__).parent / "fixtures/feeds/gazette.rss").read_bytes() + b"\n"
    )
    runner2, close2 = _runner(feed_settings, tmp_path)
    try:
        s = runner2.run_source(next(x for x in runner2.sources if x.key.endswith("gazette")))
        assert s.fetched == 5 and s.new == 0 and s.duplicates >= 1
        assert runner2.store.count_mentions() == count
    finally:
        close2()


def test_errors_are_recorded_per_source_and_others_carry_on(
    tmp_path: Path, server: FixtureServer, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    server.serve_file("/good.rss", "feeds/gazette.rss")
    server.routes["/html"] = Reply(
        200, b"<!doctype html><html><body>Cookie wall</body></html>", {"content-type": "text/html"}
    )
    server.routes["/broken"] = Reply(
        200, b"<?xml version='1.0'?><rss version='2.0'><channel><item><title>unterminated", {}
    )
    server.routes["/gone"] = Reply(404, b"nope", {})
    server.routes["/boom"] = Reply(500, b"oops", {})
    sources = "".join(
        f'\n[[academies.sources]]\nkind = "feed"\nname = "{n}"\nurl = "{{base}}/{p}"\n'
        for n, p in [
            ("good", "good.rss"),
            ("html", "html"),
            ("broken", "broken"),
            ("gone", "gone"),
            ("boom", "boom"),
        ]
    )
    cfg = write_config(tmp_path, server, sources)
    result = CliRunner().invoke(cli, ["--config", str(cfg), "collect", "--once", "--no-score"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "HTML page" in out and "HTTP 404" in out and "HTTP 500" in out
    assert "5 sources" in out and "4 failed" in out
    listed = CliRunner().invoke(cli, ["--config", str(cfg), "mentions", "--json"])
    docs = [json.loads(line) for line in listed.output.splitlines()]
    assert docs and all(d["organisation"] == "ankermoor" for d in docs)
    assert {
        "id",
        "organisation",
        "source",
        "url",
        "title",
        "text",
        "published_at",
        "matched_name",
        "cluster_id",
    } <= set(docs[0])
    # Errors are kept on the source with a human reason, and the source backs off.
    health = CliRunner().invoke(cli, ["--config", str(cfg), "sources"])
    assert "ankermoor/gone" in health.output and "failing" in health.output


def test_mentions_neutralises_bidi_and_control_characters(
    tmp_path: Path, server: FixtureServer
) -> None:
    title = "Ankermoor Primary \u202egpj.exe\u202c \u2067x\u2069 \u200bend"
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>G</title><item>'
        f"<title>{title}</title><link>https://example.org/bidi</link>"
        "<description>Pupils at Ankermoor Primary \u202eevol\u202c</description>"
        "</item></channel></rss>"
    ).encode()
    server.routes["/bidi.rss"] = Reply(200, body, {})
    cfg = write_config(
        tmp_path,
        server,
        '\n[[academies.sources]]\nkind = "feed"\nname = "bidi"\nurl = "{base}/bidi.rss"\n',
    )
    assert (
        CliRunner().invoke(cli, ["--config", str(cfg), "collect", "--once", "--no-score"]).exit_code
        == 0
    )
    unsafe = ("\u202e", "\u202c", "\u2067", "\u2069", "\u200b")
    listed = CliRunner().invoke(cli, ["--config", str(cfg), "mentions"])
    assert listed.exit_code == 0 and "Ankermoor Primary" in listed.output
    assert not any(c in listed.output for c in unsafe)
    assert "\\u202egpj.exe" in listed.output  # shown, visibly, not obeyed
    as_json = CliRunner().invoke(cli, ["--config", str(cfg), "mentions", "--json"])
    assert not any(c in as_json.output for c in unsafe)
    (doc,) = [json.loads(line) for line in as_json.output.splitlines()]
    assert doc["title"] == title  # the same data for a JSON reader
