"""The feedparser torture corpus, served from a real local server through the feed collector:
no unhandled exception, no hang, only `str` text out."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sources.base import SourceState, make_spec
from sources.feeds import FeedCollector, FeedParseError
from sources.http import ClientConfig, FetchError, GuardedClient
from tests.servers import FixtureServer, Reply

# The feedparser project's own test fixtures (BSD-2-Clause, see LICENSE in that folder).
CORPUS = Path(__file__).resolve().parent / "fixtures" / "feed-corpus"


def test_whole_corpus_through_the_collector(server: FixtureServer) -> None:
    corpus = CORPUS
    files = sorted(p for p in corpus.rglob("*") if p.is_file() and p.name != "LICENSE")
    assert len(files) > 2000
    for i, f in enumerate(files):
        server.routes[f"/c/{i}"] = Reply(
            200, f.read_bytes(), {"content-type": "application/xml"}, conditional=False
        )
    client = GuardedClient(
        ClientConfig(allow_private=("127.0.0.1",), per_host_interval_seconds=0, timeout_seconds=10)
    )
    collector = FeedCollector()
    items = parsed_ok = parse_errors = 0
    slowest = (0.0, "")
    try:
        for i, f in enumerate(files):
            spec = make_spec("t/corpus", "feed", {"url": server.url(f"/c/{i}")}, ())
            t0 = time.perf_counter()
            try:
                got = collector.collect(spec, SourceState(), client)
            except (FeedParseError, FetchError):
                parse_errors += 1
            else:
                parsed_ok += 1
                items += len(got.items)
                for it in got.items:
                    assert (
                        isinstance(it.title, str)
                        and isinstance(it.text, str)
                        and isinstance(it.external_id, str)
                    )
                    assert it.url is None or isinstance(it.url, str)
                    assert it.author is None or isinstance(it.author, str)
            took = time.perf_counter() - t0
            if took > slowest[0]:
                slowest = (took, str(f.relative_to(corpus)))
    finally:
        client.close()
    print(
        f"\nfeed corpus: {len(files)} files, {parsed_ok} parsed, {parse_errors} clear parse/fetch errors, "
        f"{items} items, 0 unhandled exceptions; slowest {slowest[1]} {slowest[0] * 1000:.0f} ms"
    )
    assert parsed_ok > 1500


@pytest.mark.parametrize("name", ["illformed", "encoding"])
def test_corpus_folders_exist(name: str) -> None:
    assert (CORPUS / name).is_dir()
