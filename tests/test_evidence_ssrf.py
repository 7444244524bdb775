"""The evidence proxy alone (no browser): whatever reaches it, it asks only what the guard
allows. Every URL of the guarded client's hostile set, sent as a proxy request or a CONNECT,
is refused and the canary on 127.0.0.1 counts 0 connections; the allow-listed site (127.0.0.2)
is relayed byte for byte. The browser-level proof (a hostile page in Chromium) is in
tests/test_evidence.py::test_the_canary_is_never_reached."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from monitor.evidence.proxy import GuardProxy, Recorder
from sources.http import ClientConfig, GuardedClient
from tests.evidence_site import CSS_GZ
from tests.guard_servers import RouteServer, reply, route_server
from tests.test_http_guard import fake_resolver, hostile_urls


@pytest.fixture
def canary() -> Iterator[RouteServer]:
    with route_server("127.0.0.1") as srv:
        srv.routes["*"] = reply(200, b"canary")
        yield srv


def _ask(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(raw)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
            if raw.startswith(b"CONNECT") and b"\r\n\r\n" in out:
                break
    return out


def test_the_proxy_refuses_the_hostile_set_and_relays_the_allowed_site(
    canary: RouteServer,
) -> None:
    config = ClientConfig(allow_private=("127.0.0.2",), per_host_interval_seconds=0)
    recorder = Recorder()
    with (
        route_server("127.0.0.2") as site,
        GuardedClient(config, resolver=fake_resolver) as client,
        GuardProxy(client, recorder, 30) as proxy,
    ):
        site.routes["/style.css"] = reply(
            200, CSS_GZ, {"Content-Type": "text/css", "Content-Encoding": "gzip"}
        )
        cases = [u for u, _ in hostile_urls(canary.port) if u.startswith("http://")]
        assert len(cases) >= 25
        for url in cases:
            got = _ask(proxy.port, f"GET {url} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert got.startswith(b"HTTP/1.1 403"), (url, got[:80])
        for target in (f"127.0.0.1:{canary.port}", f"[::1]:{canary.port}", "169.254.169.254:443"):
            got = _ask(proxy.port, f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
            assert got.startswith(b"HTTP/1.1 403"), (target, got[:80])
        got = _ask(
            proxy.port, f"POST {site.url('/x')} HTTP/1.1\r\nContent-Length: 0\r\n\r\n".encode()
        )
        assert got.startswith(b"HTTP/1.1 405")
        # The control: the allowed site is reached through the same proxy, bytes as served.
        got = _ask(proxy.port, f"GET {site.url('/style.css')} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert got.startswith(b"HTTP/1.1 200") and got.endswith(CSS_GZ)
        tunnel = _ask(proxy.port, f"CONNECT 127.0.0.2:{site.port} HTTP/1.1\r\n\r\n".encode())
        assert tunnel.startswith(b"HTTP/1.1 200")
    print(f"canary hits: {canary.connections}")
    assert canary.connections == 0 and canary.total_hits == 0
    assert len(recorder.refusals) >= len(cases) + 3
    assert [r.url for r in recorder.exchanges] == [site.url("/style.css")]
