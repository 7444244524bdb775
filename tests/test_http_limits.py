"""The guarded client's limits: body cap after decompression, bounded memory, one total deadline.

Memory bounds (< 100 MB growth) and the deadline window (+-1 s) are asserted here because they
are the safety limits the client promises, with wide margins, not speed goals.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from sources.http import (
    ClientConfig,
    FetchError,
    FetchTimeout,
    GuardedClient,
    Response,
    ResponseTooLarge,
)
from tests.guard_servers import (
    MiB,
    RouteServer,
    drip_body,
    drip_headers,
    gzip_bomb,
    reply,
    route_server,
    stream_body,
)

MB = 1_000_000
CAP = 10 * MiB  # the default network.max_body_bytes


@pytest.fixture
def server() -> Iterator[RouteServer]:
    with route_server("127.0.0.1") as srv:
        yield srv


def local(resolver_names: Sequence[str] = ()) -> Callable[[str, int], Sequence[str]]:
    """A resolver sending the given names to 127.0.0.1 (each name is its own 'host')."""

    def resolve(host: str, port: int) -> Sequence[str]:
        if host in resolver_names:
            return ["127.0.0.1"]
        raise socket.gaierror(socket.EAI_NONAME, "unknown")

    return resolve


def client(**overrides: Any) -> GuardedClient:
    config = ClientConfig(allow_private=("127.0.0.1",), per_host_interval_seconds=0)
    return GuardedClient(
        replace(config, **overrides), resolver=local(["slow.test", "a.test", "b.test", "c.test"])
    )


def peak_growth(fn: Callable[[], object]) -> tuple[int, object]:
    """Peak traced memory growth (bytes) while fn runs, and what it returned or raised."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    try:
        outcome: object = fn()
    except Exception as exc:  # noqa: BLE001 - the outcome is inspected by the caller
        outcome = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak - before, outcome


@pytest.mark.parametrize("declare", [True, False], ids=["content-length", "until-close"])
def test_a_50_mib_body_stops_at_the_cap(server: RouteServer, declare: bool) -> None:
    server.routes["/big"] = stream_body(50 * MiB, declare=declare)
    with client() as c:
        growth, outcome = peak_growth(lambda: c.get(server.url("/big")))
    assert isinstance(outcome, ResponseTooLarge), outcome
    assert outcome.kind == "too_large" and str(CAP) in outcome.reason
    assert growth < 100 * MB


def test_a_1_gib_gzip_bomb_stops_at_the_cap_with_bounded_memory(server: RouteServer) -> None:
    bomb = gzip_bomb(1024)
    assert len(bomb) < 2 * MiB
    server.routes["/bomb"] = reply(200, bomb, {"Content-Encoding": "gzip"})
    with client() as c:
        growth, outcome = peak_growth(lambda: c.get(server.url("/bomb")))
    assert isinstance(outcome, ResponseTooLarge), outcome
    assert growth < 100 * MB


def test_the_cap_counts_decompressed_bytes(server: RouteServer) -> None:
    small = zlib.compress(b"a" * 300_000)  # ~1 KB on the wire, 300 KB decoded
    server.routes["/deflate"] = reply(200, small, {"Content-Encoding": "deflate"})
    server.routes["/gzip"] = reply(200, gzip.compress(b"b" * 1000), {"Content-Encoding": "gzip"})
    with client(max_body_bytes=100_000) as c:
        with pytest.raises(ResponseTooLarge):
            c.get(server.url("/deflate"))
        got = c.get(server.url("/gzip"))
        assert isinstance(got, Response) and got.content == b"b" * 1000
    with client() as c:
        got = c.get(server.url("/deflate"))
        assert isinstance(got, Response) and got.content == b"a" * 300_000


def test_multi_member_and_raw_deflate_bodies_decode(server: RouteServer) -> None:
    members = gzip.compress(b"first ") + gzip.compress(b"second")
    raw = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw_deflate = raw.compress(b"raw deflate body") + raw.flush()
    server.routes["/members"] = reply(200, members, {"Content-Encoding": "gzip"})
    server.routes["/raw"] = reply(200, raw_deflate, {"Content-Encoding": "deflate"})
    with client() as c:
        got = c.get(server.url("/members"))
        assert isinstance(got, Response) and got.content == b"first second"
        got = c.get(server.url("/raw"))
        assert isinstance(got, Response) and got.content == b"raw deflate body"


@pytest.mark.parametrize(
    ("encoding", "body", "reason"),
    [
        ("gzip, gzip", gzip.compress(gzip.compress(b"x", mtime=0), mtime=0), "twice"),
        ("br", b"\x00" * 10, "did not ask for"),
        ("gzip", b"this is not gzip at all", "decompressed"),
        ("gzip", gzip.compress(b"x" * 10_000, mtime=0)[:-40], "ended early"),
    ],
)
def test_bad_compression_is_a_clear_error(
    server: RouteServer, encoding: str, body: bytes, reason: str
) -> None:
    server.routes["/x"] = reply(200, body, {"Content-Encoding": encoding})
    with client() as c, pytest.raises(FetchError) as err:
        c.get(server.url("/x"))
    assert reason in err.value.reason


DEADLINE = 5.0  # longer than the drip interval, so a per-phase timeout would never fire
DRIP = 4.0


def test_a_server_dripping_headers_is_cut_off_at_the_deadline(server: RouteServer) -> None:
    server.routes["/drip"] = drip_headers(DRIP)
    with client(timeout_seconds=DEADLINE) as c:
        start = time.monotonic()
        with pytest.raises(FetchTimeout) as err:
            c.get(server.url("/drip"))
        took = time.monotonic() - start
    assert DEADLINE - 1 <= took <= DEADLINE + 1
    assert err.value.kind == "timeout" and "5 s" in err.value.reason


def test_a_dripping_body_is_cut_off_and_other_hosts_are_not_held_up(server: RouteServer) -> None:
    """One source drips; four others, fetched from threads in the same cycle, all finish while
    the dripping one is still waiting, and it ends at the deadline."""
    server.routes["/drip"] = drip_body(DRIP)
    server.routes["/fast"] = reply(200, b"fast")
    finished: list[str] = []
    lock = threading.Lock()

    with client(timeout_seconds=DEADLINE) as c, ThreadPoolExecutor(max_workers=5) as pool:

        def fetch(host: str, path: str) -> object:
            try:
                outcome: object = c.get(server.url(path, host=host))
            except FetchError as exc:
                outcome = exc
            with lock:
                finished.append(host)
            return outcome

        start = time.monotonic()
        slow = pool.submit(fetch, "slow.test", "/drip")
        fast = [pool.submit(fetch, h, "/fast") for h in ("a.test", "b.test", "c.test", "a.test")]
        fast_results = [f.result() for f in fast]
        assert not slow.done()  # every other source finished while the drip was still running
        slow_result = slow.result()
        took = time.monotonic() - start
    assert all(isinstance(r, Response) and r.content == b"fast" for r in fast_results)
    assert finished[-1] == "slow.test"
    assert isinstance(slow_result, FetchTimeout)
    assert DEADLINE - 1 <= took <= DEADLINE + 1


def test_the_deadline_covers_the_whole_redirect_chain(server: RouteServer) -> None:
    """Each hop is quick to start but the chain as a whole shares one deadline."""

    def slow_redirect(n: int) -> Callable[..., None]:
        def route(h: BaseHTTPRequestHandler) -> None:
            time.sleep(0.9)
            reply(302, b"", {"Location": f"/chain/{n + 1}"})(h)

        return route

    for n in range(6):
        server.routes[f"/chain/{n}"] = slow_redirect(n)
    with client(timeout_seconds=2.0, max_redirects=5) as c, pytest.raises(FetchTimeout):
        c.get(server.url("/chain/0"))
    assert server.hits["/chain/3"] == 0
