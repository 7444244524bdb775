"""sources/addresses.py: URL parsing and address classification, with property-based checks
against independent oracles (glibc's inet_aton, Python's ipaddress, httpx's URL parser)."""

from __future__ import annotations

import ipaddress
import socket

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sources.addresses import (
    UnsafeURL,
    address_problem,
    classify,
    embedded_ipv4,
    loose_ipv4,
    parse_allow_list,
    parse_target,
)

ip = ipaddress.ip_address


# --- classification ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("addr", "category"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("10.1.2.3", "private"),
        ("172.31.255.255", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "shared"),
        ("100.127.255.255", "shared"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.1", "reserved"),
        ("198.18.0.1", "reserved"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::127.0.0.1", "loopback"),
        ("64:ff9b::a00:1", "private"),
        ("64:ff9b:1::1", "private"),
        ("2002:7f00:1::", "loopback"),
        ("2002:a9fe:a9fe::1", "link-local"),
        # Teredo: server 65.54.227.120, client 127.0.0.1 (stored inverted: 80ff:fffe)
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),
        ("4000::1", "reserved"),  # outside global unicast 2000::/3
    ],
)
def test_refused_categories(addr: str, category: str) -> None:
    problem = classify(ip(addr))
    assert problem is not None
    assert problem.category == category
    assert str(problem)  # a sentence for people


@pytest.mark.parametrize(
    "addr",
    [
        "8.8.8.8",
        "93.184.216.34",
        "1.1.1.1",
        "2606:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
    ],
)
def test_public_addresses_pass(addr: str) -> None:
    assert classify(ip(addr)) is None


def test_allow_list_admits_addresses_ranges_and_their_wrappers() -> None:
    allow = parse_allow_list(["127.0.0.1", "10.20.0.0/16"])
    assert address_problem(ip("127.0.0.1"), allow) is None
    assert address_problem(ip("::ffff:127.0.0.1"), allow) is None
    assert address_problem(ip("10.20.3.4"), allow) is None
    assert address_problem(ip("10.21.0.1"), allow) is not None
    assert address_problem(ip("127.0.0.2"), allow) is not None
    assert address_problem(ip("169.254.169.254"), allow) is not None
    assert address_problem(ip("127.0.0.1"), ()) is not None


def test_allow_list_rejects_typos() -> None:
    with pytest.raises(ValueError, match="127.0.0.l"):
        parse_allow_list(["127.0.0.l"])


# --- the same rules as an independent oracle ----------------------------------------------------

ipv4s = st.integers(min_value=0, max_value=2**32 - 1).map(ipaddress.IPv4Address)


@given(ipv4s)
def test_everything_python_calls_non_global_is_refused(addr: ipaddress.IPv4Address) -> None:
    if not addr.is_global:
        assert classify(addr) is not None


@given(ipv4s)
def test_ipv6_wrappers_are_judged_by_the_address_they_carry(addr: ipaddress.IPv4Address) -> None:
    inner = classify(addr)
    n = int(addr)
    wrappers = [
        ipaddress.IPv6Address((0xFFFF << 32) | n),  # IPv4-mapped
        ipaddress.IPv6Address((0x0064FF9B << 96) | n),  # NAT64
        ipaddress.IPv6Address((0x2002 << 112) | (n << 80) | 1),  # 6to4
        # Teredo with a public server (65.54.227.120) and this client, stored inverted
        ipaddress.IPv6Address((0x20010000 << 96) | (0x4136E378 << 64) | (n ^ 0xFFFFFFFF)),
    ]
    for wrapped in wrappers:
        carried = embedded_ipv4(wrapped)
        assert carried is not None and addr in carried[0]
        outer = classify(wrapped)
        if inner is None:
            assert outer is None, wrapped
        else:
            assert outer is not None and outer.category == inner.category, wrapped


# --- unusual IPv4 spellings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "means"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
    ],
)
def test_loose_spellings_are_understood_and_refused(spelling: str, means: str) -> None:
    assert loose_ipv4(spelling) == ip(means)
    with pytest.raises(UnsafeURL) as err:
        parse_target(f"http://{spelling}/")
    assert err.value.category == "ip-spelling"
    assert means in err.value.reason


def _spell(addr: int, parts: int, style: list[str]) -> str:
    """`addr` written with `parts` numbers (inet_aton's a, a.b, a.b.c, a.b.c.d forms)."""
    sizes = {1: [32], 2: [8, 24], 3: [8, 8, 16], 4: [8, 8, 8, 8]}[parts]
    values, shift = [], 32
    for bits in sizes:
        shift -= bits
        values.append((addr >> shift) & ((1 << bits) - 1))
    out = []
    for v, s in zip(values, style, strict=False):
        out.append(hex(v) if s == "hex" else ("0" + oct(v)[2:] if s == "oct" else str(v)))
    return ".".join(out)


@settings(max_examples=300)
@given(
    st.integers(min_value=0, max_value=2**32 - 1),
    st.integers(min_value=1, max_value=4),
    st.lists(st.sampled_from(["dec", "hex", "oct"]), min_size=4, max_size=4),
)
def test_loose_ipv4_agrees_with_inet_aton(addr: int, parts: int, style: list[str]) -> None:
    spelling = _spell(addr, parts, style)
    expected = ipaddress.IPv4Address(socket.inet_aton(spelling))  # glibc is the oracle
    assert expected == ipaddress.IPv4Address(addr)
    assert loose_ipv4(spelling) == expected
    if spelling != str(expected):
        with pytest.raises(UnsafeURL):
            parse_target(f"http://{spelling}/")


# --- URL parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "category"),
    [
        ("file:///etc/passwd", "scheme"),
        ("ftp://example.com/", "scheme"),
        ("gopher://example.com/", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("//example.com/", "scheme"),
        ("http://user:pw@example.com/", "userinfo"),
        ("http://127.0.0.1:80@example.com/", "userinfo"),
        ("http://example.com\\@127.0.0.1/", "syntax"),
        ("http://exa mple.com/", "syntax"),
        ("http://example.com/\r\nX: y", "syntax"),
        ("http:///path", "syntax"),
        ("http://%31%32%37.0.0.1/", "syntax"),
        ("http://[fe80::1%25eth0]/", "syntax"),
        ("http://[not-v6]/", "syntax"),
        ("http://256.1.1.1/", "syntax"),
        ("http://exa_mple..com/", "syntax"),
        ("http://example.com:25/", "port"),
        ("http://example.com:0/", "port"),
        ("http://example.com:99999/", "syntax"),
        ("http://ＬＯＣＡＬＨＯＳＴ/", "syntax"),
    ],
)
def test_refused_urls(url: str, category: str) -> None:
    with pytest.raises(UnsafeURL) as err:
        parse_target(url)
    assert err.value.category == category


def test_accepted_urls() -> None:
    t = parse_target("HTTPS://News.Example.CO.UK/feed?x=1")
    assert (t.scheme, t.host, t.port, t.literal) == ("https", "news.example.co.uk", 443, None)
    t = parse_target("http://[2606:4700:0::1111]:8080/")
    assert (t.host, t.port, t.literal) == ("2606:4700::1111", 8080, ip("2606:4700::1111"))
    t = parse_target("http://93.184.216.34/")
    assert t.literal == ip("93.184.216.34")
    assert parse_target("http://bücher.example/").host == "xn--bcher-kva.example"


labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
hosts = st.one_of(
    st.lists(labels, min_size=1, max_size=4).map(".".join).filter(lambda h: not h[-1].isdigit()),
    ipv4s.map(str),
    st.integers(min_value=0, max_value=2**128 - 1).map(lambda n: f"[{ipaddress.IPv6Address(n)}]"),
    st.integers(min_value=0, max_value=2**32 - 1).map(str),  # decimal IPv4 spelling
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    scheme=st.sampled_from(["http", "https", "HTTP", "ftp", "file", "gopher"]),
    userinfo=st.sampled_from(["", "user@", "u:p@", "127.0.0.1@"]),
    host=hosts,
    port=st.one_of(st.none(), st.integers(min_value=0, max_value=70000)),
    path=st.text(alphabet=st.characters(codec="ascii"), max_size=20),
)
def test_accepted_urls_mean_what_httpx_will_connect_to(
    scheme: str, userinfo: str, host: str, port: int | None, path: str
) -> None:
    url = f"{scheme}://{userinfo}{host}{'' if port is None else f':{port}'}/{path}"
    try:
        target = parse_target(url)
    except UnsafeURL:
        return
    # Whatever we accept, httpx parses to the same host and port: no parser differential.
    parsed = httpx.URL(url)
    assert parsed.host == target.host
    assert (parsed.port or (443 if parsed.scheme == "https" else 80)) == target.port
    # No credentials accepted. (An "@" in the path, as in "http://0.0.0.0/@", is not userinfo.)
    assert target.scheme in ("http", "https") and userinfo == "" and not parsed.userinfo
    if target.literal is not None:
        assert str(target.literal) == target.host


@given(hosts)
def test_every_ip_literal_is_either_checked_or_refused(host: str) -> None:
    """No spelling of an address slips past as a 'name': it is parsed as a literal (and so
    classified) or refused outright."""
    try:
        target = parse_target(f"http://{host}/")
    except UnsafeURL:
        return
    bare = host.strip("[]")
    try:
        as_ip = ipaddress.ip_address(bare)
    except ValueError:
        as_ip = None
    assume(as_ip is not None or bare.isdigit())
    assert target.literal is not None
    assert classify(target.literal) == classify(as_ip if as_ip is not None else target.literal)
