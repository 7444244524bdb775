"""The guarded client's SSRF defences against a real canary server on 127.0.0.1.

Refusal tests use the default (empty) allow-list; a canary counts every TCP connection it
accepts, and must end every test with 0.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Iterator, Sequence

import pytest

from sources.http import (
    ClientConfig,
    ConnectFailed,
    FetchRefused,
    GuardedClient,
    Response,
    TooManyRedirects,
    system_resolver,
)
from tests.guard_servers import RouteServer, redirect, reply, route_server


@pytest.fixture
def canary() -> Iterator[RouteServer]:
    with route_server("127.0.0.1") as srv:
        srv.routes["*"] = reply(200, b"canary: you should never see this")
        yield srv


@pytest.fixture
def outside() -> Iterator[RouteServer]:
    """An 'allowed' server, on 127.0.0.2: tests allow-list only that address."""
    with route_server("127.0.0.2") as srv:
        yield srv


# Names that look public but resolve (via the client's resolver seam) to private space.
FAKE_DNS: dict[str, list[str]] = {
    "school-news.example": ["127.0.0.1"],
    "mixed.example": ["93.184.216.34", "127.0.0.1"],
    "metadata.example": ["169.254.169.254"],
    "v6-loopback.example": ["::1"],
    "mapped.example": ["::ffff:127.0.0.1"],
    "cgnat.example": ["100.100.100.200"],
    "feeds.school.example": ["127.0.0.2"],
}


def fake_resolver(host: str, port: int) -> Sequence[str]:
    if host in FAKE_DNS:
        return FAKE_DNS[host]
    if host == "localhost" or host.endswith(".localhost"):
        return system_resolver(host, port)  # the real /etc/hosts answer
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def hostile_urls(p: int) -> list[tuple[str, str]]:
    """(url, expected rule). `p` is the canary's port, so a connection would be counted."""
    return [
        (f"http://127.0.0.1:{p}/", "loopback"),
        (f"http://2130706433:{p}/", "ip-spelling"),
        (f"http://0x7f.1:{p}/", "ip-spelling"),
        (f"http://0177.0.0.1:{p}/", "ip-spelling"),
        (f"http://127.1:{p}/", "ip-spelling"),
        (f"http://0x7f000001:{p}/", "ip-spelling"),
        (f"http://127.0.0.1.:{p}/", "ip-spelling"),
        (f"http://0:{p}/", "ip-spelling"),
        (f"http://localhost:{p}/", "loopback"),
        (f"http://LocalHost.:{p}/", "loopback"),
        (f"http://anything.localhost:{p}/", "loopback"),
        (f"http://[::1]:{p}/", "loopback"),
        (f"http://[::ffff:127.0.0.1]:{p}/", "loopback"),
        (f"http://[::ffff:7f00:1]:{p}/", "loopback"),
        (f"http://[::127.0.0.1]:{p}/", "loopback"),
        (f"http://[64:ff9b::7f00:1]:{p}/", "loopback"),
        (f"http://[2002:7f00:1::1]:{p}/", "loopback"),
        (f"http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{p}/", "loopback"),
        (f"http://0.0.0.0:{p}/", "unspecified"),
        (f"http://[::]:{p}/", "unspecified"),
        (f"http://[::ffff:0.0.0.0]:{p}/", "unspecified"),
        ("http://10.0.0.1/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://[fc00::1]/", "private"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::ffff:169.254.169.254]/latest/meta-data/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://100.64.0.1/", "shared"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
        ("http://255.255.255.255/", "reserved"),
        (f"http://school-news.example:{p}/feed", "loopback"),
        (f"http://mixed.example:{p}/", "loopback"),
        ("http://metadata.example/latest/meta-data/", "link-local"),
        (f"http://v6-loopback.example:{p}/", "loopback"),
        (f"http://mapped.example:{p}/", "loopback"),
        ("http://cgnat.example/", "shared"),
        ("file:///etc/passwd", "scheme"),
        ("ftp://example.com/", "scheme"),
        (f"gopher://127.0.0.1:{p}/_GET", "scheme"),
        (f"dict://127.0.0.1:{p}/", "scheme"),
        ("javascript:alert(1)", "scheme"),
        (f"http://user:pw@127.0.0.1:{p}/", "userinfo"),
        (f"http://example.com\\@127.0.0.1:{p}/", "syntax"),
        (f"http://%31%32%37.0.0.1:{p}/", "syntax"),
        (f"http://[fe80::1%25lo]:{p}/", "syntax"),
        ("http://example.com:25/", "port"),
        (f"http://ＬＯＣＡＬＨＯＳＴ:{p}/", "syntax"),
    ]


def test_hostile_urls_are_refused_and_the_canary_is_never_reached(canary: RouteServer) -> None:
    cases = hostile_urls(canary.port)
    assert len(cases) >= 25
    with GuardedClient(ClientConfig(), resolver=fake_resolver) as client:
        for url, rule in cases:
            with pytest.raises(FetchRefused) as err:
                client.get(url)
            assert err.value.rule == rule, (url, err.value.reason)
            assert err.value.kind == "refused"
            assert "\n" not in err.value.reason and err.value.reason.startswith("refused:")
            with pytest.raises(FetchRefused):
                client.check_url(url)
    assert canary.connections == 0
    assert canary.total_hits == 0


def test_the_canary_is_reachable_when_allow_listed(canary: RouteServer) -> None:
    """The control: the same client code does reach the canary when the config allows it, so
    the zero above is the guard's doing."""
    config = ClientConfig(allow_private=("127.0.0.1",))
    with GuardedClient(config, resolver=fake_resolver) as client:
        got = client.get(f"http://school-news.example:{canary.port}/feed")
    assert isinstance(got, Response) and got.status == 200
    assert canary.connections == 1
    assert canary.headers[0]["host"] == f"school-news.example:{canary.port}"


def test_redirects_into_private_space_are_refused(
    canary: RouteServer, outside: RouteServer
) -> None:
    p = canary.port
    targets = {
        "/to-loopback": f"http://127.0.0.1:{p}/",
        "/to-name": f"http://school-news.example:{p}/",
        "/to-localhost": f"http://localhost:{p}/",
        "/to-mapped": f"http://[::ffff:127.0.0.1]:{p}/",
        "/to-metadata": "http://169.254.169.254/latest/meta-data/",
        "/to-file": "file:///etc/passwd",
        "/to-spelling": f"http://2130706433:{p}/",
        "/to-gopher": f"gopher://127.0.0.1:{p}/_x",
    }
    for path, location in targets.items():
        outside.routes[path] = redirect(location)
    outside.routes["/to-outside"] = redirect("/to-loopback", 307)  # two hops, second bad
    config = ClientConfig(allow_private=("127.0.0.2",), per_host_interval_seconds=0)
    with GuardedClient(config, resolver=fake_resolver) as client:
        for path in [*targets, "/to-outside"]:
            with pytest.raises(FetchRefused) as err:
                client.get(outside.url(path))
            assert err.value.url == outside.url(path)
    assert outside.total_hits == len(targets) + 1 + 1  # each start, plus the extra hop
    assert canary.connections == 0


def test_the_address_checked_is_the_address_connected_to(
    canary: RouteServer, outside: RouteServer
) -> None:
    """DNS rebinding: a name that answers 'public' when checked and 'loopback' when used.
    The connection layer checks what it connects to, so the second answer is refused."""
    answers = itertools.cycle([["8.8.8.8"], ["127.0.0.1"]])
    calls: list[str] = []

    def rebinding(host: str, port: int) -> Sequence[str]:
        calls.append(host)
        return next(answers)

    with GuardedClient(ClientConfig(), resolver=rebinding) as client:
        client.check_url(f"http://rebind.example:{canary.port}/")  # first answer: public
        with pytest.raises(FetchRefused) as err:
            client.get(f"http://rebind.example:{canary.port}/")  # second answer: loopback
    assert err.value.rule == "loopback"
    assert calls == ["rebind.example", "rebind.example"]
    assert canary.connections == 0


def test_host_header_and_name_are_kept_when_connecting_to_the_checked_address(
    outside: RouteServer,
) -> None:
    outside.routes["/feed"] = reply(200, b"ok")
    config = ClientConfig(allow_private=("127.0.0.2",))
    with GuardedClient(config, resolver=fake_resolver) as client:
        got = client.get(f"http://feeds.school.example:{outside.port}/feed")
    assert isinstance(got, Response) and got.content == b"ok"
    assert got.url == f"http://feeds.school.example:{outside.port}/feed"
    assert outside.headers[0]["host"] == f"feeds.school.example:{outside.port}"


def test_environment_proxies_do_not_bypass_the_guard(
    canary: RouteServer, outside: RouteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = f"http://127.0.0.1:{canary.port}"
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(var, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    outside.routes["/feed"] = reply(200, b"direct")
    config = ClientConfig(allow_private=("127.0.0.2",))
    with GuardedClient(config, resolver=fake_resolver) as client:
        got = client.get(outside.url("/feed"))
        assert isinstance(got, Response) and got.content == b"direct"
        with pytest.raises(FetchRefused):
            client.get("http://169.254.169.254/latest/meta-data/")
    assert canary.connections == 0


def test_five_redirects_are_followed_and_six_are_not(outside: RouteServer) -> None:
    for n in range(1, 7):
        outside.routes[f"/hop/{n}"] = redirect(f"/hop/{n - 1}", 301 if n % 2 else 302)
    outside.routes["/hop/0"] = reply(200, b"arrived")
    config = ClientConfig(allow_private=("127.0.0.2",), per_host_interval_seconds=0)
    with GuardedClient(config) as client:
        got = client.get(outside.url("/hop/5"))
        assert isinstance(got, Response) and got.content == b"arrived"
        assert got.url == outside.url("/hop/0")
        with pytest.raises(TooManyRedirects) as err:
            client.get(outside.url("/hop/6"))
    assert err.value.kind == "redirects"
    assert "5" in err.value.reason
    assert outside.hits["/hop/0"] == 1  # the sixth redirect was never followed


def test_a_redirect_loop_ends(outside: RouteServer) -> None:
    outside.routes["/a"] = redirect("/b")
    outside.routes["/b"] = redirect("/a")
    config = ClientConfig(allow_private=("127.0.0.2",), per_host_interval_seconds=0)
    with GuardedClient(config) as client, pytest.raises(TooManyRedirects) as err:
        client.get(outside.url("/a"))
    assert "loop" in err.value.reason
    assert (outside.hits["/a"], outside.hits["/b"]) == (1, 1)


def test_unresolvable_and_closed_hosts_are_connect_failures(outside: RouteServer) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        closed_port = s.getsockname()[1]  # bound, never listening: connection refused
    config = ClientConfig(allow_private=("127.0.0.2",))
    with GuardedClient(config, resolver=fake_resolver) as client:
        with pytest.raises(ConnectFailed) as err:
            client.get("http://no-such-host.example/")
        assert "no-such-host.example" in err.value.reason
        with pytest.raises(ConnectFailed) as err:
            client.get(f"http://127.0.0.2:{closed_port}/")
    assert err.value.kind == "connect"
    assert "\n" not in err.value.reason
